"""The browser half of tests/e2e/test_portal.py: a whole season played in Debian's Chromium
(headless, Playwright), against the system that test started.

It runs in a process of its own (`python -m tests.e2e.test_portal_browser CONFIG.json`):
the pytest process is monkey-patched by eventlet (tests/conftest.py), and Playwright's
synchronous API waits for browser events through asyncio, which then never wakes. Failures
are plain assertions; the exit code and the output go back to the test. Nothing here is a
pytest test, so pytest collects nothing from this module.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import requests
from babel.messages.pofile import read_po
from playwright.sync_api import Browser, Page

from tests.support.accounts import DEPARTMENT, PASSWORD, STAFF, account_row, make_account
from tests.support.browser import (
    chromium,
    fold,
    photograph,
    read_config,
    signed_in,
    step,
    unregistered_child,
)

ROOT = Path(__file__).resolve().parents[2]
ROUND = "2027-grade_1"
PRACTICE = "practice-2027-grade_1"
CATALOGUE = ROOT / "gateway" / "portal" / "translations" / "vi" / "LC_MESSAGES" / "messages.po"
VIETNAMESE = re.compile(
    "[àáạảãâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễìíịỉĩòóọỏõôồốộổỗơờớợởỡùúụủũưừứựửữỳýỵỷỹđ]", re.I
)
ENGLISH_WORDS = re.compile(r"\b(the|and|your|you|of|with|this|not|for|is|are)\b", re.I)
T = TypeVar("T")


class Season:
    """What the test hands over: the system's URL, the SMS sink, the city, the gateway DB."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.url: str = config["url"]
        self.sms_url: str = config["sms_url"]
        self.city = Path(config["city"])
        self.gateway_db: str = config["gateway_db"]
        self.tokens: dict[str, str] = config["bulk_parent"]

    def api(self, path: str) -> str:
        """Absolute URL of an API path."""
        return f"{self.url}{path}"


def main(argv: list[str]) -> int:
    """Play the season; 0 when every step held."""
    season = Season(read_config(argv))
    with chromium() as browser:
        play(season, browser)
    step("the season played through")
    return 0


def play(system: Season, browser: Browser) -> None:
    """The season, step by step."""
    url, city = system.url, system.city
    child = unregistered_child(city)
    step(f"department signs in; the child is {child['citizen_id']} of {child['ward_name']}")
    department = signed_in(browser, url, operator(system, DEPARTMENT))

    # The department creates and opens the round.
    step("The department creates and opens the round.")
    department.goto(f"{url}/department/rounds?year=2027")
    department.select_option("#level", "grade_1")
    department.fill("#offer_days", "3")
    department.click("text=Tạo bản nháp")
    assert "Bản nháp" in department.inner_text("#round-status")
    department.click("button:has-text('Mở đăng ký')")
    assert "Đang mở đăng ký" in department.inner_text("#round-status")
    photograph(department, "department-rounds", f"{url}/department/rounds?year=2027")
    references = the_city_applies(system, city)

    # Anyone: the levels, and which schools serve the child's ward.
    step("Anyone: the levels, and which schools serve the child's ward.")
    public = browser.new_page()
    photograph(public, "home", f"{url}/")
    # The keyboard: the first Tab reaches the skip link, Enter moves to the content.
    public.keyboard.press("Tab")
    assert public.evaluate("document.activeElement.className") == "skip"
    public.keyboard.press("Enter")
    assert public.evaluate("document.activeElement.id") == "main"
    assert "Thời điểm nộp hồ sơ không ảnh hưởng đến mức ưu tiên" in public.inner_text("main")
    public.goto(f"{url}/lookup")
    public.fill("#ward-filter", fold(child["ward_name"]))
    public.select_option("#ward-select", child["ward_code"])
    public.click("button:has-text('Xem các trường')")
    assert child["school_name"] in public.inner_text(".results")
    photograph(public, "lookup", public.url)

    # A parent signs up with the code texted to the phone.
    step("A parent signs up with the code texted to the phone.")
    parent = browser.new_page()
    phone = "09" + str(uuid.uuid4().int)[:8]
    parent.goto(f"{url}/signup")
    parent.fill("#phone", phone)
    parent.fill("#password", "a long passphrase")
    photograph(parent, "signup", None)
    parent.click("button[type=submit]")
    parent.wait_for_url("**/signup/verify")
    parent.fill("#code", texted_code(system, phone))
    photograph(parent, "verify", None)
    parent.click("button:has-text('Xác nhận')")
    parent.wait_for_url("**/parent/applications")

    # ... registers the child: mistakes first, each explained next to its field.
    step("... registers the child: mistakes first, each explained next to its field.")
    parent.goto(f"{url}/parent/register")
    parent.fill("#ward-filter", fold(child["ward_name"]))
    parent.select_option("#ward-select", child["ward_code"])
    parent.click("#step-1 button[type=submit]")
    parent.select_option("#choice_1", child["school"])
    parent.fill("#child-citizen_id", "12345")
    parent.fill("#child-full_name", child["full_name"])
    parent.fill("#child-date_of_birth", child["date_of_birth"])
    parent.fill("#guardian-full_name", "Nguyễn Thị Bình")
    parent.fill("#guardian-phone", phone)
    parent.click("#step-2 button[type=submit]")
    assert "12 chữ số" in parent.inner_text("#child-citizen_id-error")
    assert "Vui lòng điền ô này." in parent.inner_text("#guardian-email-error")
    photograph(parent, "register-errors", None)
    parent.fill("#child-citizen_id", child["citizen_id"])
    parent.fill("#guardian-email", "binh@example.com")
    parent.click("#step-2 button[type=submit]")
    parent.wait_for_url("**/parent/applications/TS*")
    reference = parent.url.rsplit("/", 1)[1]
    until(
        system,
        lambda: reload(parent).locator(".timeline .current:has-text('Đã đối chiếu')").count(),
    )
    photograph(
        parent, "register", f"{url}/parent/register?round_id={ROUND}&ward={child['ward_code']}"
    )
    # ... and chooses English for messages, by text message only (notification keeps it).
    parent.goto(f"{url}/parent/preferences")
    parent.check("input[name=language][value=en]")
    parent.uncheck("#notify_email")
    parent.click("form.card button[type=submit]")
    assert "Đã lưu tuỳ chọn" in parent.inner_text(".notice.success")
    assert not parent.is_checked("#notify_email") and parent.is_checked("#notify_sms")
    photograph(parent, "preferences", f"{url}/parent/preferences")
    both_languages_everywhere(
        parent,
        [
            f"{url}/",
            f"{url}/lookup?ward={child['ward_code']}&level=grade_1",
            f"{url}/parent/register?round_id={ROUND}&ward={child['ward_code']}",
            f"{url}/parent/applications",
            f"{url}/parent/applications/{reference}",
            f"{url}/parent/inbox",
            f"{url}/parent/preferences",
        ],
    )

    # The department closes the round, allocates, reads the charts, verifies and publishes.
    step("The department closes the round, allocates, reads the charts, verifies and publishes.")
    round_page = f"{url}/department/rounds/{ROUND}"
    department.goto(round_page)
    department.click("button:has-text('Đóng đăng ký')")
    until(system, lambda: allocated(department, round_page), timeout=120)
    for chart in ("#per-hour svg", "#shares svg", "#fill svg", "#by-ward"):
        assert department.locator(chart).count() == 1, chart
    assert "nguyện vọng 1" in department.inner_text("#shares")
    assert department.locator("#per-hour svg rect.fill").count() >= 1
    assert f"Tổng cộng {len(references) + 1} hồ sơ" in department.inner_text("#per-hour")
    photograph(department, "department-preview", round_page)
    department.click("text=Chạy công cụ kiểm chứng độc lập")
    assert "KHỚP" in department.inner_text("#verdict")
    assert "KHÔNG KHỚP" not in department.inner_text("#verdict")
    with department.expect_download() as download:
        department.click("text=Xuất kết quả (CSV)")
    assert Path(download.value.path()).read_text(encoding="utf-8").startswith("# tuyensinh")
    department.click("button:has-text('Công bố kết quả')")
    until(system, lambda: "Đã công bố" in reload(department).inner_text("#round-status"))
    photograph(department, "department-results", round_page)

    # The parent sees the offer, with its explanation, and accepts it before the deadline.
    step("The parent sees the offer, with its explanation, and accepts it before the deadline.")
    application_page = f"{url}/parent/applications/{reference}"
    until(system, lambda: reload(parent, application_page).locator(".offer").count() == 1)
    assert parent.locator("[role=timer] .remaining").count() == 1
    explanation = parent.inner_text("table.explanation")
    assert "Nhóm 2" in explanation and child["school_name"] in explanation
    assert parent.locator("table.explanation code").count() >= 1  # the cutoff's lottery number
    photograph(parent, "offer", application_page)
    offered_at = school_of(parent, system)
    parent.focus("button:has-text('Nhận chỗ học')")  # answered with the keyboard alone
    parent.keyboard.press("Enter")
    parent.wait_for_load_state()
    assert "Bạn đã nhận chỗ học" in parent.inner_text(".notice.success")
    until(system, lambda: reload(parent, f"{url}/parent/inbox").locator(".inbox li").count() >= 3)
    # The offer's notice came in English, as the preferences asked.
    assert parent.locator(".inbox .message[lang=en]").count() >= 1
    photograph(parent, "inbox", f"{url}/parent/inbox")
    photograph(parent, "applications", f"{url}/parent/applications")

    # The school confirms the enrollment after checking the papers.
    step("The school confirms the enrollment after checking the papers.")
    school = signed_in(browser, url, operator(system, STAFF, school=offered_at))
    school.goto(f"{url}/school/intake?status=accepted")
    assert reference in school.inner_text(".intake")
    school.click(f"#child-{reference} button:has-text('Xác nhận nhập học')")
    assert reference in school.inner_text(".notice.success")
    with school.expect_download() as download:
        school.click("text=Tải tệp CSV")
    assert reference in Path(download.value.path()).read_text(encoding="utf-8")
    turned_away(system, school, url)
    until(system, lambda: "Đã nhập học" in reload(parent, application_page).inner_text(".timeline"))
    photograph(parent, "enrolled", application_page)
    audit_trail(system, parent, department, reference, offered_at)
    rehearse_and_wipe(department, url)
    photograph(public, "login", f"{url}/login")
    assert references


# --- steps ------------------------------------------------------------------------------------


def audit_trail(
    system: Season, parent: Page, department: Page, reference: str, school: str
) -> None:
    """The family sees which school opened the record; the department searches the trail;
    anyone reads the draw's commitments."""
    step("The family sees who opened the record; the department searches the audit trail.")
    url = system.url
    parent.goto(f"{url}/parent/applications/{reference}")
    parent.click("text=Ai đã mở hồ sơ này")
    seen = parent.inner_text("#record-access")
    assert school in seen and "Đã mở danh sách trẻ được phân về trường" in seen, seen
    assert "Đã xác nhận nhập học" in seen, seen
    photograph(parent, "record-access", f"{url}/parent/applications/{reference}/access")
    department.goto(f"{url}/department/audit")
    department.fill("#reference", reference)
    department.click("form.card button[type=submit]")
    found = department.inner_text("#audit-entries")
    assert "application.submit" in found and "intake.confirm" in found, found
    photograph(department, "audit-trail", department.url)
    department.goto(f"{url}/rounds/{ROUND}/draw")
    commitment = department.inner_text("#seed-commitment")
    seed = department.inner_text("#seed")
    assert hashlib.sha256(bytes.fromhex(seed)).hexdigest() == commitment
    photograph(department, "draw", f"{url}/rounds/{ROUND}/draw")


def turned_away(system: Season, school: Page, url: str) -> None:
    """The school rejects a child it offered a seat, with a reason: the child stays on its
    list under "not enrolled by the school", with the reason, and the family reads it."""
    step("The school turns a child away, with a reason; the child stays on its list.")
    school.goto(f"{url}/school/intake?status=offered")
    offered = school.locator("ul.intake > li").first
    rejected = str(offered.get_attribute("id")).removeprefix("child-")
    reason = "Thiếu giấy khai sinh bản chính"
    offered.locator("input[name=reason]").fill(reason)
    offered.locator("button:has-text('Không tiếp nhận')").click()
    school.goto(f"{url}/school/intake?status=school_rejected")
    assert rejected in school.inner_text(".intake") and reason in school.inner_text(".intake")
    photograph(school, "school-intake", f"{url}/school/intake")
    headers = {"Authorization": f"Bearer {log_in(system, system.tokens)}"}
    answer = requests.get(
        system.api(f"/api/v1/applications/{rejected}"), headers=headers, timeout=30
    )
    assert answer.json()["result"]["offer"]["reason"] == reason, answer.text


def rehearse_and_wipe(department: Page, url: str) -> None:
    """The department creates a practice round (labelled on its pages), opens it, wipes it."""
    step("The department rehearses in a practice round, then wipes it.")
    department.goto(f"{url}/department/practice?year=2027")
    department.select_option("#practice-level", "grade_1")
    department.click("button:has-text('Tạo đợt tập dượt')")
    department.wait_for_url(f"**/department/rounds/{PRACTICE}")
    assert "Sở Giáo dục đang diễn tập" in department.inner_text(".practice-banner")
    department.click("button:has-text('Mở đăng ký')")
    assert "Đang mở đăng ký" in department.inner_text("#round-status")
    photograph(department, "practice-round", department.url)
    photograph(department, "practice", f"{url}/department/practice?year=2027")
    department.goto(f"{url}/department/rounds/{PRACTICE}")
    department.check("input[name=sure]")
    department.click("button:has-text('Xoá sạch đợt tập dượt')")
    department.wait_for_url("**/department/practice")
    assert f"Đã xoá sạch đợt tập dượt {PRACTICE}" in department.inner_text(".notice.success")
    assert PRACTICE not in department.inner_text("ul.rounds")


def the_city_applies(system: Season, city: Path) -> list[str]:
    """The demo city's grade-1 families apply through the API (one account for all of them)."""
    headers = {"Authorization": f"Bearer {log_in(system, system.tokens)}"}
    references = []
    # The season opens its round "now" (no window notice in tests): a gateway worker that
    # reloaded the rounds' windows a moment before looks again after at most 0.25 s
    # (gateway/windows.py); the loop only rides out that moment.
    settled = time.monotonic() + 15
    for line in open(city / "applications.jsonl", encoding="utf-8"):
        form = json.loads(line)
        if form["round_id"] != ROUND:
            continue
        while True:
            answer = requests.post(
                system.api("/api/v1/applications"), json=form, headers=headers, timeout=30
            )
            if answer.status_code != 409 or time.monotonic() > settled:
                break
            time.sleep(0.5)
        assert answer.status_code == 202, answer.text
        references.append(answer.json()["reference"])
    return references


def operator(system: Season, role: str, **account: Any) -> dict[str, str]:
    """A new staff or department account: its username and password."""
    db = system.gateway_db
    row = account_row(db, make_account(db, role, **account))
    return {"who": row.username, "password": PASSWORD}


def log_in(system: Season, body: dict[str, str]) -> str:
    """An access token from the API's login route."""
    answer = requests.post(system.api("/api/v1/auth/token"), json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def texted_code(system: Season, phone: str) -> str:
    """The code in the text message the SMS provider accepted for `phone`."""
    e164 = "+84" + phone[1:]

    def texts() -> list[str]:
        messages = requests.get(f"{system.sms_url}/messages", timeout=5).json()["messages"]
        return [m["text"] for m in messages if m["to"] == e164]

    found_texts = until(system, texts)
    found = re.search(r"\b(\d{6})\b", found_texts[-1])
    assert found, found_texts
    return found.group(1)


def allocated(page: Page, round_page: str) -> bool:
    """Ask to allocate until the intake is complete, then wait for the preview's charts."""
    reload(page, round_page)
    status = page.inner_text("#round-status")
    allocate = page.locator("button:has-text('Phân tuyến (xem trước)')")
    if "Đã đóng" in status and allocate.count():
        allocate.click()
        return False
    return "Đã phân tuyến" in status and page.locator("#shares").count() == 1


def school_of(page: Page, system: Season) -> str:
    """The code of the school whose offer the parent accepted (named in the offer box)."""
    name = page.locator(".offer .big").inner_text().strip()
    answer = requests.get(system.api("/api/v1/schools"), params={"level": "grade_1"}, timeout=30)
    by_name = {school["name"]: school["code"] for school in answer.json()}
    return by_name[name]


def reload(page: Page, target: str | None = None) -> Page:
    """The page loaded afresh."""
    page.goto(target or page.url)
    return page


def until(system: Season, probe: Callable[[], T], timeout: float = 90) -> T:
    """Call `probe` until it answers something truthy; fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s: {probe}, last {found!r}")
        time.sleep(0.5)


# --- screenshots and languages --------------------------------------------------------------


TEXTS_JS = """() => {
  const texts = [document.title];
  const skip = el => !el || el.closest('[translate="no"], script, style');
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!skip(node.parentElement) && node.textContent.trim()) texts.push(node.textContent.trim());
  }
  for (const el of document.querySelectorAll('[aria-label], [placeholder], [title]')) {
    if (skip(el)) continue;
    for (const name of ['aria-label', 'placeholder', 'title']) {
      if (el.getAttribute(name)) texts.push(el.getAttribute(name));
    }
  }
  return texts;
}"""


def both_languages_everywhere(page: Page, urls: list[str]) -> None:
    """Each page read in Vietnamese, then in English after one click on the language link:
    no string of the catalogue stays in the other language, and no Vietnamese letter or
    common English word appears where it should not (names and codes are marked
    translate="no" and left out)."""
    messages = [  # a plural message: its plural form and translation tell (the longer ones)
        (m.id[-1], m.string[-1]) if isinstance(m.id, tuple) else (m.id, m.string)
        for m in read_po(open(CATALOGUE, "rb"))
        if m.id and m.string
    ]
    english = {fragment for msgid, text in messages if msgid != text for fragment in literal(msgid)}
    vietnamese = {
        fragment for msgid, text in messages if msgid != text for fragment in literal(text)
    }
    for target in urls:
        page.goto(target)
        assert page.get_attribute("html", "lang") == "vi", target
        vi_texts = page.evaluate(TEXTS_JS)
        page.click("a.lang")
        assert page.get_attribute("html", "lang") == "en", target
        en_texts = page.evaluate(TEXTS_JS)
        page.click("a.lang")
        vi_text, en_text = "\n".join(vi_texts), "\n".join(en_texts)
        assert VIETNAMESE.search(vi_text), f"{target}: no Vietnamese at all"
        assert not VIETNAMESE.search(en_text), f"{target} in English: {VIETNAMESE.findall(en_text)}"
        assert not ENGLISH_WORDS.search(vi_text), (
            f"{target} in Vietnamese: {ENGLISH_WORDS.findall(vi_text)}"
        )
        assert not [s for s in english if s in vi_text], f"{target}: English left in Vietnamese"
        assert not [s for s in vietnamese if s in en_text], f"{target}: Vietnamese left in English"


def literal(message: str) -> list[str]:
    """The literal parts of a message (between placeholders) long enough to be telling."""
    return [part.strip() for part in re.split(r"%\(\w+\)s", message) if len(part.strip()) >= 12]


if __name__ == "__main__":
    sys.exit(main(sys.argv))
