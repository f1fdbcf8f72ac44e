"""The browser half of tests/e2e/test_live_window.py: the department watches a round's live
window while the test's load runs.

It signs in through the login form, waits until the page shows submissions arriving, takes
the screenshots at 360 px and 1280 px (docs/screenshots/department-live-*.png), and checks
that the page refreshes by itself. When the test says the load is over (the file `done`
appears), it reads the figures off the English page into `figures.json` for the test to
compare with the databases and the sinks.

How the browser scripts run, and what `photograph` checks: tests/support/browser.py.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

from tests.support.browser import WIDTHS, chromium, photograph, read_config, signed_in, step

ENOUGH = 50  # submissions on the page before the screenshots


def main(argv: list[str]) -> int:
    """Watch, photograph, then read the figures; 0 when every step held."""
    config = read_config(argv)
    workdir = Path(config["workdir"])
    live = f"{config['url']}/department/rounds/{config['round']}/live"
    with chromium() as browser:
        page = signed_in(browser, config["url"], config["login"])
        watch(page, live, workdir)
    step("the live window was watched through the load")
    return 0


def watch(page: Page, live: str, workdir: Path) -> None:
    """During the load: the page fills in and refreshes itself; then the screenshots."""
    page.goto(live)
    assert page.locator("meta[http-equiv=refresh]").count() == 1
    first = until(lambda: number(page.goto(live) and page, "#submitted"), 120)
    step(f"the page shows {first} submissions; waiting for it to refresh by itself")
    # No navigation of ours: the page reloads itself (every 5 s) and shows more, until the
    # load has been going for a while (and some applications were rejected).
    deadline = time.monotonic() + 180
    while number(page, "#submitted") < max(first + 1, ENOUGH) or not number(page, "#rejected"):
        assert time.monotonic() < deadline, "the page did not refresh with new submissions"
        page.wait_for_timeout(1000)
    for chart in ("#submissions svg", "#verification", "#checked svg", "#notices", "#wards"):
        assert page.locator(chart).count() == 1, chart
    photograph(page, "department-live", live)
    assert not (workdir / "done").exists(), "the load ended before the screenshots"
    step("photographed during the load")
    (workdir / "shot").write_text("photographed", encoding="utf-8")
    until(lambda: (workdir / "done").exists(), 600)
    page.goto(f"{live}?lang=en")
    (workdir / "figures.json").write_text(json.dumps(read_figures(page)), encoding="utf-8")


def read_figures(page: Page) -> dict[str, Any]:
    """What the page says, from its tiles, tables and the charts' screen-reader tables."""
    return {
        "submitted": number(page, "#submitted"),
        "verified": number(page, "#verified"),
        "rejected": number(page, "#rejected"),
        "backlog": number(page, "#backlog"),
        "per_minute": table(page, "#submissions"),
        "checked_per_minute": table(page, "#checked"),
        "reasons": table(page, "#reasons"),
        "wards": table(page, "#wards"),
        "notices": {
            channel: {
                status: int(page.inner_text(f"#notices-{channel} .{status}"))
                for status in ("sent", "failed", "uncertain")
            }
            for channel in ("email", "sms")
        },
    }


def number(page: Page, selector: str) -> int:
    """The integer shown in an element (0 while the element is absent)."""
    found = page.locator(selector)
    return int(found.inner_text().strip()) if found.count() else 0


def table(page: Page, chart: str) -> dict[str, int]:
    """A chart's screen-reader table: label → value (the same figures the bars draw)."""
    rows = page.locator(f"{chart} .sr-only tr")
    return {
        rows.nth(i).locator("th").inner_text().strip(): int(rows.nth(i).locator("td").inner_text())
        for i in range(rows.count())
    }


def until(probe: Any, timeout: float) -> Any:
    """Call `probe` until it answers something truthy; fail at the deadline."""
    deadline = time.monotonic() + timeout
    while not (found := probe()):
        assert time.monotonic() < deadline, f"timed out after {timeout}s"
        time.sleep(0.5)
    return found


if __name__ == "__main__":
    assert WIDTHS["phone"][0] == 360
    sys.exit(main(sys.argv))
