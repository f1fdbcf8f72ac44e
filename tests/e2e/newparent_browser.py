"""The browser half of tests/e2e/test_readme.py's new parent: on a fresh `make run` (the
clean copy that test started), a parent signs up, reads the texted code where the README
says it is (the newest file in `var/sms/`), verifies the phone, registers a child and sees
the application's status with the round's human name. Once at phone width (360 px) and once
at desktop width (1280 px).

How the browser scripts run, and what `photograph` checks: tests/support/browser.py.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

from playwright.sync_api import Page

from tests.support.browser import WIDTHS, chromium, fold, read_config, step, unregistered_children

ROUND_NAME = "Lớp 1 năm học 2027–2028"


def main(argv: list[str]) -> int:
    """Sign up and register one child at each width; 0 when every step held."""
    config = read_config(argv)
    root, url = Path(config["root"]), config["url"]
    children = unregistered_children(root / "var" / "demo" / "small", 2, tuple(config["taken"]))
    with chromium() as browser:
        for (width, (x, y)), child, phone in zip(
            WIDTHS.items(), children, config["phones"], strict=True
        ):
            page = browser.new_page(viewport={"width": x, "height": y})
            try:
                a_new_parent(page, url, root, phone, child, width)
            except BaseException:
                errors = page.locator(".field-error, .notice, [role=alert]").all_inner_texts()
                step(f"page at {page.url}: {errors} {page.inner_text('main')[:1500]!r}")
                raise
            page.close()
    step("the new parents signed up and registered their children")
    return 0


def a_new_parent(
    page: Page, url: str, root: Path, phone: str, child: dict[str, str], width: str
) -> None:
    """Sign up, read the code from var/sms, verify, register the child, read the status."""
    step(f"{width}: sign up as {phone}")
    page.goto(f"{url}/")
    page.click("nav a[href$='/signup']")
    page.fill("#phone", phone)
    page.fill("#password", "a long passphrase")
    page.click("button[type=submit]")
    page.wait_for_url("**/signup/verify")
    page.fill("#code", code_from_var_sms(root, phone))
    page.click("button:has-text('Xác nhận')")
    page.wait_for_url("**/parent/applications")
    fits(page, width)
    level_with_links(page, width)

    step(f"{width}: register {child['citizen_id']}")
    page.goto(f"{url}/parent/register")
    page.fill("#ward-filter", fold(child["ward_name"]))
    page.select_option("#ward-select", child["ward_code"])
    page.click("#step-1 button[type=submit]")
    option = page.locator(f"#choice_1 option[value='{child['school']}']")
    assert option.inner_text().startswith(f"{child['school']} · "), option.inner_text()
    fits(page, width)
    page.select_option("#choice_1", child["school"])
    for other in page.locator("select[id^=choice_]:not(#choice_1)").all():
        other.select_option("")  # the form pre-fills the serving schools: one choice is enough
    page.fill("#child-citizen_id", child["citizen_id"])
    page.fill("#child-full_name", child["full_name"])
    page.fill("#child-date_of_birth", child["date_of_birth"])
    page.fill("#guardian-full_name", "Nguyễn Thị Bình")
    page.fill("#guardian-phone", phone)
    page.fill("#guardian-email", "binh@example.com")
    page.click("#step-2 button[type=submit]")
    page.wait_for_url("**/parent/applications/TS*")

    step(f"{width}: the status, with the round's name")
    deadline = time.monotonic() + 60
    while not page.locator(".timeline .current:has-text('Đã đối chiếu')").count():
        assert time.monotonic() < deadline, "the application was not verified in 60 s"
        time.sleep(1)
        page.reload()
    assert ROUND_NAME in page.inner_text("main"), page.inner_text("main")[:500]
    assert "2027-grade_1" not in page.inner_text("main")
    fits(page, width)
    page.goto(f"{url}/parent/applications")
    assert ROUND_NAME in page.inner_text("main")
    page.goto(f"{url}/parent/inbox")
    assert ROUND_NAME in page.inner_text("main")  # beside each notice and in its text
    page.goto(f"{url}/parent/applications?lang=en")
    assert "Grade 1, school year 2027–2028" in page.inner_text("main")
    page.goto(f"{url}/parent/applications?lang=vi")


def code_from_var_sms(root: Path, phone: str) -> str:
    """The code in the newest text of `var/sms/` sent to `phone`, as the README says."""
    number = "+84" + phone[1:]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        texts = sorted((root / "var" / "sms").glob("*login_otp*"), key=lambda p: p.stat().st_mtime)
        for text in reversed(texts):
            body = text.read_text(encoding="utf-8")
            if f"To: {number}\n" in body:
                found = re.search(r"\b(\d{6})\b", body.split("\n\n", 1)[1])
                assert found, body
                return found.group(1)
        time.sleep(0.5)
    raise AssertionError(f"no code for {number} in var/sms/")


def fits(page: Page, width: str) -> None:
    """At phone width nothing is wider than the screen."""
    if width == "phone":
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= WIDTHS["phone"][0], f"{page.url} is {wide} px wide"


def level_with_links(page: Page, width: str) -> None:
    """The sign-out button's text sits level with the menu links' text on its row. On a
    desktop the menu is one row, so there are links to compare with; a phone's menu wraps,
    and the button may end alone on its last row."""
    offsets = page.evaluate(LEVEL_JS)
    assert offsets or width == "phone", "no menu link beside the sign-out button"
    assert all(abs(offset) <= 1 for offset in offsets), offsets


# The vertical distance between the middle of the sign-out text and the middle of the text
# of each menu link on the same row (a phone's menu wraps onto several rows).
LEVEL_JS = """() => {
  const middle = el => {
    const range = document.createRange();
    range.selectNodeContents(el);
    const box = range.getBoundingClientRect();
    return box.top + box.height / 2;
  };
  const button = document.querySelector('nav button.link');
  const row = button.getBoundingClientRect();
  return [...document.querySelectorAll('nav li a')]
    .filter(a => {
      const box = a.getBoundingClientRect();
      return box.top < row.bottom && box.bottom > row.top;
    })
    .map(a => middle(a) - middle(button));
}"""


if __name__ == "__main__":
    sys.exit(main(sys.argv))
