"""The browser half of tests/e2e/test_outcomes_portal.py: screenshots of past rounds'
outcomes per school, at 360 px and 1280 px into docs/screenshots/.

How the browser scripts run, and what `photograph` checks: tests/support/browser.py.
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
