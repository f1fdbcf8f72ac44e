"""The browser half of tests/e2e/test_chances.py: screenshots of live demand, a family's
chances and the school finder, at 360 px and 1280 px into docs/screenshots/.

How the browser scripts run, and what `photograph` checks: tests/support/browser.py.
"""

from __future__ import annotations

import sys

from tests.support.browser import chromium, photograph, read_config, signed_in


def main(argv: list[str]) -> int:
    """Photograph the three views; 0 when each showed what it should."""
    config = read_config(argv)
    url, ward, level = config["url"], config["ward"], "grade_1"
    with chromium() as browser:
        page = signed_in(browser, url, config["login"])
        lookup = f"{url}/lookup?ward={ward}&level={level}"
        page.goto(lookup)
        assert page.locator(".demand").count() >= 1, page.inner_text("main")
        photograph(page, "chances-demand", lookup)
        finder = f"{url}/finder?ward={ward}&level={level}"
        page.goto(finder)
        assert page.locator("#school-map circle").count() >= 2, page.inner_text("main")
        photograph(page, "chances-finder", finder)
        mine = f"{url}/parent/applications/{config['reference']}"
        page.goto(mine)
        assert page.locator("#risk-warning #suggestions li").count() >= 1
        photograph(page, "chances-estimate", mine)
        page.goto(f"{url}/lang/en?next=/parent/applications/{config['reference']}")
        assert "With this list: 1st choice" in page.inner_text("#estimate")
        photograph(page, "chances-estimate-en", mine)
    sys.stdout.write("[chances] screenshots taken\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
