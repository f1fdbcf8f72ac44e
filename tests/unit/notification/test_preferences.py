"""A parent's preferences decide the language and channels of a notice; practice is inbox-only."""

from __future__ import annotations

from services.notification.preferences import Preferences, channels_for, with_language

APPLICATION = {
    "reference": "TSABCDEFGHIJKLMNOP",
    "guardian": {"full_name": "Nguyễn Thị Bình", "language": "vi", "email": "b@example.com"},
}


def test_without_preferences_both_channels_and_the_applications_language_are_used() -> None:
    chosen = Preferences()

    assert channels_for(chosen, practice=False) == {"email", "sms"}
    assert with_language(APPLICATION, chosen)["guardian"]["language"] == "vi"


def test_a_parent_who_turned_text_messages_off_gets_e_mail_only() -> None:
    assert channels_for(Preferences("vi", email=True, sms=False), practice=False) == {"email"}


def test_the_chosen_language_replaces_the_one_given_on_the_form() -> None:
    told = with_language(APPLICATION, Preferences("en"))

    assert told["guardian"]["language"] == "en"
    assert told["guardian"]["full_name"] == "Nguyễn Thị Bình"
    assert APPLICATION["guardian"]["language"] == "vi"  # the original is left alone


def test_a_practice_round_never_texts_or_e_mails_anyone() -> None:
    assert channels_for(Preferences("vi", email=True, sms=True), practice=True) == frozenset()
