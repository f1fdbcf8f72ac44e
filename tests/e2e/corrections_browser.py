"""The browser half of tests/e2e/test_corrections.py: on a phone (360 px), a parent asks for a
register correction from the rejected application's page, attaching a photo, and sees the
request under review; the department opens its queue and the request with the evidence, and
approves it from the page. Each page photographed at 360 px and 1280 px.

How the browser scripts run, and what `photograph` checks: tests/support/browser.py.
"""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

from tests.support.browser import WIDTHS, chromium, photograph, read_config, signed_in


def main(argv: list[str]) -> int:
    """Ask, follow, review; 0 when every step held."""
    config = read_config(argv)
    url, pending, refused = config["url"], config["pending"], config["refused"]
    photo = Path(config["workdir"]) / "vneid.png"
    photo.write_bytes(png(320, 200))
    with chromium() as browser:
        parent = signed_in(browser, url, config["parent"])
        parent.set_viewport_size({"width": WIDTHS["phone"][0], "height": WIDTHS["phone"][1]})
        page = f"{url}/parent/applications/{pending}"
        parent.goto(page)
        photograph(parent, "parent-correction-form", None)
        parent.fill("#correction-text", "Sổ dân cư ghi sai tên cháu; VNeID ghi đúng.")
        parent.set_input_files("#correction-evidence", str(photo))
        parent.click("#correction-form button[type=submit]")
        assert parent.locator("#correction li.c-pending").count() == 1, parent.inner_text("main")
        assert parent.locator("#correction-form").count() == 0
        photograph(parent, "parent-correction-pending", page)
        photograph(parent, "parent-correction-refused", f"{url}/parent/applications/{refused}")
        say("the parent asked and follows the request")

        officer = signed_in(browser, url, config["department"])
        officer.goto(f"{url}/department/corrections")
        assert officer.locator(f"#corrections a:text('{pending}')").count() == 1
        photograph(officer, "department-corrections", None)
        officer.click(f"#corrections a:text('{pending}')")
        image = officer.locator("img.evidence")
        assert image.evaluate("img => img.complete && img.naturalWidth") == 320
        photograph(officer, "department-correction-review", officer.url)
        officer.click("#approve-form button[type=submit]")  # the family's name, as typed
        assert "Đã chấp thuận." in officer.inner_text("main"), officer.inner_text("main")
        assert officer.locator(f"#corrections a:text('{pending}')").count() == 0
        say("the department reviews the request with its evidence and approves it")
    say("done")
    return 0


def png(width: int, height: int) -> bytes:
    """A real PNG (a blue and white screen, standing in for a VNeID screenshot)."""
    rows = b"".join(
        b"\x00"
        + b"".join(
            bytes((11, 79, 138))
            if y < height // 4 or (x // 16 + y // 16) % 7 == 0
            else bytes((245, 247, 250))
            for x in range(width)
        )
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    image = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + image


def say(what: str) -> None:
    """One line of the test's output."""
    sys.stdout.write(f"[corrections] {what}\n")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
