"""Contracts of the open data both allocation (which writes it) and the gateway (which
documents it) know: the columns of a published round's outcome per school."""

OUTCOME_COLUMNS = (
    "round_id",
    "school_code",
    "school_name",
    "seats",
    "applications",
    "first_choice",
    "offers_priority",
    "offers_catchment",
    "offers_outside",
    "offers_guarantee",
    "cutoff_tier",
    "cutoff_lottery_percentile",
)
