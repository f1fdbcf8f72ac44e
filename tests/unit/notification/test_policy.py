"""The cost and abuse rules: the city's calendar day and the login code rate limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.notification.policy import OtpLimits, city_day_start, local_time, otp_wait_seconds

NOW = datetime(2027, 7, 20, 10, 0, tzinfo=UTC)
LIMITS = OtpLimits(per_window=3, window=timedelta(minutes=10), per_day=10)


def minutes_ago(*minutes: float) -> list[datetime]:
    return [NOW - timedelta(minutes=m) for m in minutes]


def test_the_day_starts_at_midnight_in_hanoi_not_in_utc() -> None:
    late_evening_utc = datetime(2027, 7, 20, 18, 30, tzinfo=UTC)  # 01:30 on the 21st in Hanoi
    assert city_day_start(late_evening_utc) == datetime(2027, 7, 20, 17, 0, tzinfo=UTC)


def test_deadlines_read_in_city_time() -> None:
    assert local_time(datetime(2027, 7, 20, 10, 0, tzinfo=UTC)) == "17:00 20/07/2027"


def test_a_phone_with_no_recent_code_may_get_one_now() -> None:
    assert otp_wait_seconds([], NOW, LIMITS) == 0
    assert otp_wait_seconds(minutes_ago(1, 2), NOW, LIMITS) == 0


def test_a_fourth_code_within_ten_minutes_waits_for_the_oldest_to_age_out() -> None:
    assert otp_wait_seconds(minutes_ago(1, 2, 7), NOW, LIMITS) == 3 * 60


def test_codes_older_than_the_window_do_not_count_to_it() -> None:
    assert otp_wait_seconds(minutes_ago(1, 2, 11), NOW, LIMITS) == 0


def test_the_eleventh_code_in_a_day_waits_until_the_first_is_a_day_old() -> None:
    ten_spread_over_the_day = minutes_ago(*(60 * hours + 30 for hours in range(10)))
    assert otp_wait_seconds(ten_spread_over_the_day, NOW, LIMITS) == 24 * 3600 - (9 * 60 + 30) * 60


def test_the_longer_of_the_two_waits_wins() -> None:
    earlier = minutes_ago(1, 2, 3, *(60 * hours for hours in range(2, 9)))
    assert len(earlier) == 10
    wait = otp_wait_seconds(earlier, NOW, LIMITS)
    assert wait > 10 * 60
