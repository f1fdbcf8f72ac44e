"""The live window page's figures, from the running counts the API returns."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.portal import live_figures
from gateway.portal.charts import MAX_BARS

NOW = datetime(2027, 6, 1, 1, 30, 40, tzinfo=UTC)


def test_every_minute_of_the_hour_is_a_column_and_the_rate_is_of_whole_minutes() -> None:
    series = [["2027-06-01T00:20", 99], ["2027-06-01T01:25", 10], ["2027-06-01T01:29", 20]]
    series += [["2027-06-01T01:30", 500]]  # the minute still running: shown, not in the rate
    found = live_figures.per_minute(series, NOW)
    assert len(found["columns"]) == 60
    assert found["columns"][0]["hour"] == "2027-06-01T00:31:00+00:00"
    assert found["columns"][-1] == {"hour": "2027-06-01T01:30:00+00:00", "value": 500, "height": 1}
    assert found["total"] == 530  # 00:20 is more than an hour ago
    assert found["rate"] == (10 + 20) / 5
    assert found["peak"] is found["columns"][-1]


def test_no_submission_yet_is_a_flat_chart() -> None:
    found = live_figures.per_minute([], NOW)
    assert found["total"] == 0 and found["rate"] == 0
    assert {column["height"] for column in found["columns"]} == {0}


def test_the_backlog_is_the_queue_and_the_unchecked_and_drains_at_the_recent_rate() -> None:
    counts = {"statuses": {"received": 30, "verified": 5}, "queued": 90}
    assert live_figures.backlog(counts, drained=60.0) == {
        "queued": 90,
        "unverified": 30,
        "waiting": 120,
        "minutes": 2.0,
    }
    assert live_figures.backlog(counts, drained=0.0)["minutes"] is None  # not draining
    assert live_figures.backlog({"statuses": {}, "queued": None}, 0.0)["minutes"] == 0.0


def test_the_largest_wards_are_drawn_named_and_the_rest_left_to_the_table() -> None:
    counts = {f"{n:05d}": n for n in range(1, 100)}
    bars = live_figures.ranked(counts, {"00099": "Phường Chín Chín"})
    assert len(bars) == MAX_BARS
    assert bars[0] == {"label": "Phường Chín Chín", "value": 99.0, "width": 1.0}
    assert bars[1]["label"] == "00098"


def test_notices_by_channel_with_zeros_for_what_did_not_happen() -> None:
    found = live_figures.notices({"email": {"sent": 7, "deferred": 2}, "sms": {"failed": 1}})
    assert found == [
        {"channel": "email", "sent": 7, "failed": 0, "uncertain": 0},
        {"channel": "sms", "sent": 0, "failed": 1, "uncertain": 0},
    ]
