"""Every reason code the other services emit has words in both languages."""

from __future__ import annotations

import pytest

from services.notification.reasons import (
    REJECTION,
    UNPLACED,
    rejection_text,
    school_rejection_text,
    unplaced_text,
)
from services.registration.verification.rules import MESSAGES
from shared.contracts.allocation import ApplicationUnplacedV1


def test_every_rejection_code_registration_emits_has_words_here() -> None:
    assert set(MESSAGES) <= set(REJECTION)


def test_every_unplaced_reason_in_the_contract_has_words_here() -> None:
    allowed = ApplicationUnplacedV1().fields["reason"].validate.choices  # type: ignore[union-attr]
    assert set(allowed) <= set(UNPLACED)


@pytest.mark.parametrize("language", ["vi", "en"])
def test_a_preference_reason_names_the_preference(language: str) -> None:
    assert "3" in rejection_text("unknown_school", "preferences.3", language)


def test_an_unknown_code_still_tells_the_parent_something() -> None:
    assert "new_rule" in rejection_text("new_rule", "child", "en")
    assert unplaced_text("catchment_full", "vi").startswith("Các trường")


def test_a_school_writes_its_own_reason_or_uses_a_known_code() -> None:
    assert school_rejection_text("documents_missing", "en").startswith("The papers")
    assert school_rejection_text("Thiếu giấy khai sinh bản gốc", "en") == (
        "Thiếu giấy khai sinh bản gốc"
    )
    assert school_rejection_text(None, "vi") == "Nhà trường không nêu lý do."
