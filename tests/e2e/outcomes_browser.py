"""Screenshots of past rounds' outcomes per school, in Chromium at 360 px and 1280 px (run by
tests/e2e/test_outcomes_portal.py in its own process: Playwright's sync API does not run
under the tests' eventlet): python -m tests.e2e.outcomes_browser CONFIG.

The page passes the season's checks on the way (nothing wider than 360 px on a phone, the
accessibility checks on the desktop) before it is saved to docs/screenshots/.
"""

from __future__ import annotations

import sys

from tests.support.browser import chromium, photograph, read_config


def main(argv: list[str]) -> int:
    """Photograph the page; 0 when it showed what it should."""
    config = read_config(argv)
    target = f"{config['url']}/outcomes?round={config['round']}&q={config['q']}"
    with chromium() as browser:
        page = browser.new_page()
        page.goto(target)
        assert page.locator(".outcome-list li").count() >= 1, page.inner_text("main")
        assert page.locator(".outcome-list .cutoff").count() >= 1
        photograph(page, "outcomes", target)
    sys.stdout.write("[outcomes] screenshots taken\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
