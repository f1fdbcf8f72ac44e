"""Screenshots of past rounds' outcomes per school, in Chromium at 360 px and 1280 px (run by
tests/e2e/test_outcomes_portal.py in its own process: Playwright's sync API does not run
under the tests' eventlet): python -m tests.e2e.outcomes_browser CONFIG.

The page passes the season's checks on the way (nothing wider than 360 px on a phone, the
accessibility checks on the desktop) before it is saved to docs/screenshots/.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, photograph


def main(argv: list[str]) -> int:
    """Photograph the page; 0 when it showed what it should."""
    config = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    target = f"{config['url']}/outcomes?round={config['round']}&q={config['q']}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(target)
            assert page.locator(".outcome-list li").count() >= 1, page.inner_text("main")
            assert page.locator(".outcome-list .cutoff").count() >= 1
            photograph(page, "outcomes", target)
        finally:
            browser.close()
    sys.stdout.write("[outcomes] screenshots taken\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
