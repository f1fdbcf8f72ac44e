"""Why an application was rejected, unplaced or turned down by a school, in words per language.

Events carry stable codes, never sentences; the words a parent reads live here, so they can be
improved without touching the services that decide.
"""

from __future__ import annotations

import re

# code -> (Vietnamese, English); `{position}` is the preference's rank where the field has one.
REJECTION: dict[str, tuple[str, str]] = {
    "not_in_register": (
        "Không tìm thấy số định danh cá nhân của trẻ trong Cơ sở dữ liệu quốc gia về dân cư.",
        "The child's personal identification number is not in the population register.",
    ),
    "name_mismatch": (
        "Họ và tên của trẻ không khớp với Cơ sở dữ liệu dân cư.",
        "The child's full name does not match the population register.",
    ),
    "birth_date_mismatch": (
        "Ngày sinh của trẻ không khớp với Cơ sở dữ liệu dân cư.",
        "The child's date of birth does not match the population register.",
    ),
    "wrong_age_for_level": (
        "Năm sinh của trẻ không đúng độ tuổi tuyển sinh của cấp học này.",
        "The child's year of birth is not the one this level admits this year.",
    ),
    "empty": ("Hồ sơ chưa chọn trường nào.", "The application names no school."),
    "too_many": (
        "Hồ sơ chọn nhiều nguyện vọng hơn số được phép.",
        "The application names more schools than the round allows.",
    ),
    "duplicate": (
        "Một trường được chọn nhiều hơn một lần.",
        "A school is named more than once.",
    ),
    "unknown_school": (
        "Nguyện vọng {position}: không có trường nào mang mã này.",
        "Preference {position}: no school has that code.",
    ),
    "wrong_level": (
        "Nguyện vọng {position}: trường này không tuyển sinh cấp học của hồ sơ.",
        "Preference {position}: that school does not admit this level.",
    ),
}
UNKNOWN_REJECTION = (
    "Một thông tin trong hồ sơ chưa hợp lệ (mã {code}).",
    "Some information in the application is not valid (code {code}).",
)

UNPLACED: dict[str, tuple[str, str]] = {
    "catchment_full": (
        "Các trường tuyển sinh theo địa bàn nơi cư trú của trẻ đã đủ chỉ tiêu.",
        "The schools that serve the child's ward are full.",
    ),
    "no_catchment_school": (
        "Chưa có trường cùng cấp học tuyển sinh theo địa bàn nơi cư trú của trẻ.",
        "No school of this level serves the child's ward.",
    ),
    "already_placed": (
        "Học sinh đã có chỗ học từ vòng tuyển sinh trước nên không được xét ở vòng này.",
        "The child already holds a seat from an earlier round, so was not considered in this one.",
    ),
}

SCHOOL_REJECTION: dict[str, tuple[str, str]] = {
    "documents_missing": (
        "Hồ sơ giấy nộp tại trường chưa đầy đủ.",
        "The papers handed in at the school are incomplete.",
    ),
    "documents_mismatch": (
        "Hồ sơ giấy không khớp với hồ sơ trực tuyến.",
        "The papers do not match the online application.",
    ),
    "not_presented": (
        "Gia đình không đến trường làm thủ tục nhập học đúng hạn.",
        "The family did not come to the school to enrol in time.",
    ),
}

# A change the gateway had confirmed and registration refused: what it was, why, what next.
REFUSED_CHANGE: dict[str, tuple[str, str]] = {
    "submission": ("hồ sơ đăng ký", "application"),
    "amendment": ("yêu cầu sửa hồ sơ", "change to the application"),
    "withdrawal": ("yêu cầu rút hồ sơ", "withdrawal"),
    "erasure": ("yêu cầu xoá dữ liệu", "request to erase the data"),
}
REFUSAL: dict[str, tuple[str, str]] = {
    "round_closed": (
        "yêu cầu được gửi sau thời điểm kết thúc đợt tuyển sinh.",
        "it was sent after the admissions round had closed.",
    ),
    "round_not_open": (
        "yêu cầu được gửi trước thời điểm mở đợt tuyển sinh.",
        "it was sent before the admissions round opened.",
    ),
    "holds_a_place": (
        "trẻ đang giữ một chỗ học hoặc một vị trí trong danh sách chờ; hãy từ chối chỗ đó trước.",
        "the child holds a seat or a waitlist place; decline it first, then ask again.",
    ),
}
# What the family's application is now, after the refusal.
REFUSAL_CONSEQUENCE: dict[str, tuple[str, str]] = {
    "submission": (
        "Hồ sơ không tham gia xét tuyển ở đợt này. Vui lòng theo dõi đợt tuyển sinh tiếp theo"
        " hoặc liên hệ phòng giáo dục nơi cư trú.",
        "The application takes no part in this round. Please watch for the next round or"
        " contact your district's education office.",
    ),
    "other": (
        "Hồ sơ được giữ nguyên như trước khi gửi yêu cầu này.",
        "The application stays exactly as it was before this request.",
    ),
}

LANGUAGE_INDEX = {"vi": 0, "en": 1}


def refusal_texts(what: str, reason: str, language: str) -> dict[str, str]:
    """What was refused, why and what it means now, in words (codes unknown here still read)."""
    index = LANGUAGE_INDEX[language]
    return {
        "what": REFUSED_CHANGE.get(what, REFUSED_CHANGE["submission"])[index],
        "reason": REFUSAL.get(reason, UNKNOWN_REJECTION)[index].format(code=reason),
        "consequence": REFUSAL_CONSEQUENCE["submission" if what == "submission" else "other"][
            index
        ],
    }


def rejection_text(code: str, field: str, language: str) -> str:
    """One rejection reason, in words; a code this table does not know still says something."""
    texts = REJECTION.get(code, UNKNOWN_REJECTION)
    position = re.fullmatch(r"preferences\.(\d+)", field)
    return texts[LANGUAGE_INDEX[language]].format(
        code=code, position=position.group(1) if position else "?"
    )


def unplaced_text(code: str, language: str) -> str:
    """Why no seat was found, in words."""
    texts = UNPLACED.get(code, UNKNOWN_REJECTION)
    return texts[LANGUAGE_INDEX[language]].format(code=code)


def school_rejection_text(reason: str | None, language: str) -> str:
    """A school's reason: a known code in words, else the school's own words as written."""
    if reason in SCHOOL_REJECTION:
        return SCHOOL_REJECTION[reason][LANGUAGE_INDEX[language]]
    return reason or ("Nhà trường không nêu lý do." if language == "vi" else "No reason given.")
