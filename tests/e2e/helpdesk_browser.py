"""The browser half of tests/e2e/test_help_points.py: screenshots of the help desk's pages and
of the family's application after the takeover, at 360 px and 1280 px into docs/screenshots/.

How the browser scripts run, and what `photograph` checks: tests/support/browser.py.
"""

from __future__ import annotations

import sys

from tests.support.browser import chromium, photograph, read_config, signed_in


def main(argv: list[str]) -> int:
    """Photograph the help desk's three pages, the family's view and the department's list
    of help desks (opening one through its form); 0 when each held."""
    config = read_config(argv)
    url, reference = config["url"], config["reference"]
    with chromium() as browser:
        desk = signed_in(browser, url, config["desk"])
        form = f"{url}/helpdesk/register?round_id={config['round_id']}&ward={config['ward']}"
        desk.goto(form)
        assert desk.locator("#identity-document_kind").count() == 1, desk.inner_text("main")
        photograph(desk, "helpdesk-register", form)
        listed = f"{url}/helpdesk/applications"
        desk.goto(listed)
        assert reference in desk.inner_text("main")
        photograph(desk, "helpdesk-applications", listed)
        one = f"{url}/helpdesk/applications/{reference}"
        desk.goto(one)
        assert "…4321" in desk.inner_text("main")
        photograph(desk, "helpdesk-application", one)
        family = signed_in(browser, url, config["family"])
        mine = f"{url}/parent/applications/{reference}"
        family.goto(mine)
        assert "Đăng ký tại điểm hỗ trợ" in family.inner_text("main")
        photograph(family, "helpdesk-takeover", mine)
        department = signed_in(browser, url, config["department"])
        desks = f"{url}/department/helpdesks"
        department.goto(desks)
        department.fill("#username", "hotro.cong")
        department.fill("#password", "a long passphrase")
        department.check("input[name=where][value=school]")
        department.fill("#help_point_code", "TH-0001")
        department.click("#new-desk-h ~ form button[type=submit]")
        listed_desks = department.inner_text("#help-desks")
        assert "hotro.cong" in listed_desks and "hotro.a" in listed_desks, listed_desks
        photograph(department, "helpdesk-accounts", desks)
    sys.stdout.write("[helpdesk] screenshots taken\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
