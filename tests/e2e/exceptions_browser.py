"""The browser half of tests/e2e/test_round_exceptions.py: the department sets reserved seats
and accepts a late application through the portal's forms, and a family reads a late
result with its seat's pool; each page photographed at 360 px and 1280 px.

How the browser scripts run, and what `photograph` checks: tests/support/browser.py.
"""

from __future__ import annotations

import sys
import time

from playwright.sync_api import Page

from tests.support.browser import chromium, photograph, read_config, signed_in


def main(argv: list[str]) -> int:
    """Play the department's and the family's steps; 0 when every step held."""
    config = read_config(argv)
    url = config["url"]
    with chromium() as browser:
        department = signed_in(browser, url, config["department"])
        reserved_seats(department, url, config["round_id"])
        late_application(department, url, config["round_id"], config["late_form"])
        family = signed_in(browser, url, config["family"])
        late_result(family, url, config["late_reference"])
    say("done")
    return 0


def say(what: str) -> None:
    """One line of the test's output."""
    sys.stdout.write(f"[exceptions] {what}\n")
    sys.stdout.flush()


def reserved_seats(page: Page, url: str, round_id: str) -> None:
    """From the round's page to its reserved seats; a bad line, then the right ones."""
    page.goto(f"{url}/department/rounds/{round_id}")
    page.click("#round-inputs a >> nth=0")
    page.fill("#lines", "TH-RES-A;khuyet_tat")
    page.click("#reserved-form button[type=submit]")
    assert "Dòng 1" in page.inner_text("main"), page.inner_text("main")
    page.fill("#lines", "TH-RES-A,khuyet_tat,1\nTH-RES-C,khuyet_tat,2")
    page.click("#reserved-form button[type=submit]")
    rows = page.locator("#reserved-table tbody tr")
    assert rows.count() == 2, page.inner_text("main")
    assert "TH-RES-C" in rows.nth(1).inner_text() and "2" in rows.nth(1).inner_text()
    say("reserved seats saved through the form")
    photograph(page, "reserved-seats", page.url)


def late_application(page: Page, url: str, round_id: str, form: dict[str, str]) -> None:
    """The late form: refused without a reason (the field says why), then accepted."""
    page.goto(f"{url}/department/rounds/{round_id}")
    page.click("#round-inputs a >> nth=1")
    for name, value in form.items():
        page.fill(f"[name='{name}']", value)
    page.click("#late-form button[type=submit]")
    assert page.locator("#reason-error").count() == 1, page.inner_text("main")
    page.fill("#reason", "Gia đình chuyển đến phường sau hạn nộp hồ sơ (có xác nhận cư trú)")
    page.click("#late-form button[type=submit]")
    rows = page.locator("#late-table tbody tr")
    deadline = time.monotonic() + 60  # accepted (202); listed once registration has stored it
    while "chuyển đến phường" not in page.inner_text("main") and time.monotonic() < deadline:
        time.sleep(0.5)
        page.reload()
    assert rows.count() == 1 and "chuyển đến phường" in rows.first.inner_text(), page.inner_text(
        "main"
    )
    say("late application accepted through the form")
    photograph(page, "late-applications", page.url)


def late_result(page: Page, url: str, reference: str) -> None:
    """The family's result: the seat's pool and the late note, in Vietnamese and English."""
    target = f"{url}/parent/applications/{reference}"
    page.goto(target)
    assert "chỉ tiêu chung" in page.inner_text("#seat-pool"), page.inner_text("main")
    assert "nộp muộn" in page.inner_text("#late-note").lower()
    photograph(page, "result-pool-late", target)
    page.goto(f"{target}?lang=en")
    assert "general pool" in page.inner_text("#seat-pool")
    assert "Late application" in page.inner_text("#late-note")
    page.goto(f"{target}?lang=vi")
    say("the family's result shows the pool and the late note")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
