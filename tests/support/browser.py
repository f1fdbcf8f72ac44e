"""What the end-to-end tests' browser scripts share: Debian's Chromium, headless, under
Playwright; signing in through the login form; photographing a page at phone and desktop
width into docs/screenshots/ (checking nothing is wider than 360 px on the phone, and every
control labelled with WCAG AA contrast on the desktop); the demo city's children who have not
applied yet.

The scripts run in processes of their own (`python -m tests.e2e.<name>_browser CONFIG`, started
by tests/support/browser_process.py `play`, their config in a JSON file): the
pytest process is monkey-patched by eventlet, and Playwright's synchronous API waits through
asyncio, which then never wakes.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, sync_playwright

from gateway.portal.wards import folded

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

SHOTS = ROOT / "docs" / "screenshots"

WIDTHS = {"phone": (360, 740), "desktop": (1280, 900)}


def read_config(argv: list[str]) -> dict[str, Any]:
    """What the test gave the script: the JSON file named by its first argument."""
    config: dict[str, Any] = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    return config


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, under Playwright; closed afterwards. On a failure inside,
    each open page's address and text are printed first (`report_pages`)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        except BaseException:
            report_pages(browser)
            raise
        finally:
            browser.close()


def report_pages(browser: Browser) -> None:
    """On failure: where each page was and what it said."""
    for context in browser.contexts:
        for page in context.pages:
            step(f"page at {page.url}: {page.inner_text('body')[:1500]!r}")


def step(what: str) -> None:
    """Say where the season is, for the test's output."""
    sys.stdout.write(f"[portal] {what}\n")
    sys.stdout.flush()


def unregistered_child(city: Path) -> dict[str, str]:
    """A grade-1 child of the register whose family has not applied, and the biggest school
    serving the child's ward (its first choice)."""
    return unregistered_children(city, 1)[0]


def unregistered_children(
    city: Path, count: int, taken: tuple[str, ...] = ()
) -> list[dict[str, str]]:
    """`count` such children, none of them in `taken`."""
    applied = {
        json.loads(line)["child"]["citizen_id"]
        for line in open(city / "applications.jsonl", encoding="utf-8")
    } | set(taken)
    found = []
    wards = dict(csv.reader(open(city / "wards.csv", encoding="utf-8")))
    schools = [
        row
        for row in csv.DictReader(open(city / "schools.csv", encoding="utf-8"))
        if row["level"] == "grade_1"
    ]
    for person in csv.DictReader(open(city / "register.csv", encoding="utf-8")):
        if not person["date_of_birth"].startswith("2021-") or person["citizen_id"] in applied:
            continue
        serving = [s for s in schools if person["ward_code"] in s["catchment"].split(";")]
        if not serving or person.get("priority_category"):
            continue
        school = max(serving, key=lambda s: int(s["capacity"]))
        found.append(
            {
                **person,
                "ward_name": wards[person["ward_code"]],
                "school": school["code"],
                "school_name": school["name"],
            }
        )
        if len(found) == count:
            return found
    raise AssertionError(f"the demo city has not {count} grade-1 children without an application")


def signed_in(browser: Browser, url: str, login: dict[str, str]) -> Page:
    """A page of a new browser context, signed in through the login form."""
    page = browser.new_context().new_page()
    page.goto(f"{url}/login")
    page.fill("#who", login["who"])
    page.fill("#password", login["password"])
    page.click("form.card button[type=submit] >> nth=0")
    page.wait_for_load_state()  # the signed-in page, not the form it was posted from
    logout = page.locator("text=Đăng xuất")
    try:
        logout.first.wait_for(timeout=15_000)
    except Exception as exc:
        raise AssertionError(f"not signed in: {page.inner_text('main')}") from exc
    assert logout.count() == 1, page.inner_text("main")
    return page


def fold(name: str) -> str:
    """What a parent types without accents: the part of a ward's name after its kind."""
    return folded(name.split(" ", 1)[1])


def photograph(page: Page, name: str, target: str | None) -> None:
    """The page at phone and desktop width into docs/screenshots/; nothing wider than 360 px."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, (x, y) in WIDTHS.items():
        page.set_viewport_size({"width": x, "height": y})
        if target is not None:
            page.goto(target)
        if width == "phone":
            overflow = page.evaluate("document.documentElement.scrollWidth")
            assert overflow <= x, f"{name} is {overflow} px wide: {page.evaluate(WIDEST_JS, x)}"
        else:
            problems = page.evaluate(ACCESSIBILITY_JS)
            assert not problems, f"{name}: {problems[:8]}"
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": WIDTHS["desktop"][0], "height": WIDTHS["desktop"][1]})


WIDEST_JS = """(width) => [...document.querySelectorAll('body *')]
  .filter(el => el.getBoundingClientRect().right > width)
  .slice(0, 5)
  .map(el => el.tagName + '.' + el.className + ' ' + el.getBoundingClientRect().right)"""

# Every form control has a label; all visible text has WCAG AA contrast with the background
# it is drawn on (4.5:1, or 3:1 for large text).
ACCESSIBILITY_JS = """() => {
  const problems = [];
  const rgba = value => (value.match(/[\\d.]+/g) || []).map(Number);
  const channel = c => {
    c /= 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const backdrop = el => {
    for (; el; el = el.parentElement) {
      const c = rgba(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || c[3] > 0.5) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden') continue;
    const labelled = (el.id && document.querySelector(`label[for="${el.id}"]`))
      || el.closest('label') || el.getAttribute('aria-label')
      || el.getAttribute('aria-labelledby');
    if (!labelled) problems.push(`no label: ${el.name || el.id}`);
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (!el || seen.has(el) || !walker.currentNode.textContent.trim()) continue;
    seen.add(el);
    if (el.closest('svg, .sr-only, option, script, style') || !el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden') continue;
    const [hi, lo] = [luminance(rgba(style.color)), luminance(backdrop(el))].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (parseInt(style.fontWeight) >= 700 && size >= 18.66);
    if (ratio < (large ? 3 : 4.5)) {
      const text = walker.currentNode.textContent.trim().slice(0, 30);
      problems.push(`contrast ${ratio.toFixed(2)}: ${el.tagName}.${el.className} "${text}"`);
    }
  }
  return problems;
}"""
