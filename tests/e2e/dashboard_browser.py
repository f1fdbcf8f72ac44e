"""The browser half of tests/e2e/test_dashboard_city.py: the department reads a city-scale
round's dashboard, searches a school, drills down into a ward, pages through the schools and
opens the wards; each page photographed at 360 px and 1280 px. The round page's render time
is printed: the server's (request sent to first byte) and the browser's (to the load event).

How the browser scripts run, and what `photograph` checks: tests/support/browser.py.
"""

from __future__ import annotations

import statistics
import sys

from playwright.sync_api import Page

from gateway.portal.wards import folded
from tests.support.browser import chromium, photograph, read_config, signed_in

TIMING_JS = """() => {
  const [n] = performance.getEntriesByType('navigation');
  return {server: n.responseStart - n.requestStart, load: n.loadEventEnd - n.startTime};
}"""
LOADS = 5  # the round page's render time: the median of this many loads


def main(argv: list[str]) -> int:
    """Read the dashboard; 0 when every step held."""
    config = read_config(argv)
    with chromium() as browser:
        login = {"who": config["login"]["username"], "password": config["login"]["password"]}
        page = signed_in(browser, config["url"], login)
        dashboard(page, config["url"], config["round_id"])
    say("done")
    return 0


def say(what: str) -> None:
    """One line of the test's output."""
    sys.stdout.write(f"[dashboard] {what}\n")
    sys.stdout.flush()


def dashboard(page: Page, url: str, round_id: str) -> None:
    """The round page, a search, a ward, the next page, the wards."""
    round_page = f"{url}/department/rounds/{round_id}"
    timings = [render(page, round_page) for _ in range(LOADS)]
    server = statistics.median(t["server"] for t in timings)
    load = statistics.median(t["load"] for t in timings)
    each = ", ".join(f"{t['load']:.0f}" for t in timings)
    say(
        f"round page render, median of {LOADS}: server {server:.0f} ms, browser load"
        f" {load:.0f} ms (each load: {each} ms)"
    )
    assert "2620" in page.inner_text("#demand-h").replace(".", "").replace(",", "")
    assert page.locator("#demand svg rect.fill").count() >= 6  # the spread of demand
    for extreme in ("#most-demand", "#least-demand"):
        assert page.locator(f"{extreme} tbody tr").count() == 10, extreme
    assert page.locator("#fill svg rect.fill").count() == 11  # a histogram, not 2,620 bars
    photograph(page, "department-city-dashboard", round_page)

    # Search a school the way people type it: no accents.
    wanted = page.locator("#most-demand tbody tr").first.locator("td").first
    name = wanted.locator("span").inner_text()
    page.fill("#school-q", folded(name))
    page.click("form.search button[type=submit]")
    page.wait_for_url("**/schools?q=*")
    assert name in page.inner_text("#schools"), page.inner_text("main")[:800]
    say(f"search “{folded(name)}”: {page.inner_text('#found')}")

    # Drill down: the most wanted school's ward, every school of it standing there.
    page.goto(round_page)
    ward_link = page.locator("#most-demand tbody tr").first.locator("td").nth(1).locator("a")
    ward = ward_link.inner_text()
    ward_link.click()
    page.wait_for_url("**/schools?ward=*")
    assert ward in page.inner_text("h1") and page.locator("#ward-figures li").count() == 4
    cells = page.locator("#schools tbody tr td:nth-child(2)").all_inner_texts()
    assert cells and all(ward in cell for cell in cells), cells
    photograph(page, "department-city-ward", page.url)
    say(f"ward {ward}: {page.inner_text('#found')}")

    # Every school, paged: the next page is another 25.
    page.goto(f"{url}/department/rounds/{round_id}/schools")
    first_page = page.locator("#schools tbody tr td:first-child").all_inner_texts()
    assert len(first_page) == 25, len(first_page)
    page.click("a[rel=next]")
    page.wait_for_url("**page=2*")
    second_page = page.locator("#schools tbody tr td:first-child").all_inner_texts()
    assert len(second_page) == 25 and not set(first_page) & set(second_page)
    say(f"all schools: {page.inner_text('#found')}")

    # The wards, the most unplaced first: each a way into its schools.
    page.goto(f"{url}/department/rounds/{round_id}/wards?sort=-unplaced")
    assert page.locator("#wards tbody tr").count() >= 126
    photograph(page, "department-city-wards", page.url)


def render(page: Page, target: str) -> dict[str, float]:
    """Load `target` afresh; the server's and the browser's milliseconds."""
    page.goto(target, wait_until="load")
    timing: dict[str, float] = page.evaluate(TIMING_JS)
    return timing


if __name__ == "__main__":
    sys.exit(main(sys.argv))
