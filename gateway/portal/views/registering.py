"""The register form, as a parent fills it in for their child or a help desk for a family:
the round, the ward, the schools to rank (those serving the ward first), the details."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import render_template, request

from gateway.portal import chances, client, i18n
from gateway.portal.client import Answer
from gateway.portal.labels import LEVELS
from gateway.portal.views.common import expect, explain
from gateway.portal.views.forms import field_errors
from gateway.portal.wards import picker_wards


def register_page(
    send: Callable[[dict[str, Any]], Answer],
    received: Callable[[str], Any],
    *,
    demand: bool,
    **page: Any,
) -> Any:
    """The form (GET) or its submission (POST) through `send(round)`: `received(reference)`
    answers a success, anything else shows the form again with the API's errors. `demand`:
    with the live demand of the round; `page` goes to the template as it is."""
    rounds = expect(client.public("GET", "/api/v1/rounds")).body
    form = request.form if request.method == "POST" else request.args
    round_ = next((r for r in rounds if r["round_id"] == form.get("round_id")), None)
    real = [r for r in rounds if not r.get("practice")]
    if round_ is None and len(real) == 1:  # a practice round is never chosen for the family
        round_ = real[0]
    ward = form.get("ward", "")
    errors: dict[str, str] = {}
    if request.method == "POST" and round_ is not None:
        answer = send(round_)
        if answer.ok:
            return received(answer.body["reference"])
        errors = field_errors(answer) if answer.status == 400 else {"": explain(answer)}
    choices = school_choices(round_, ward) if round_ and ward else None
    live = chances.demand(round_["round_id"]) if demand and choices and round_ else None
    return render_template(
        "parent/register.html",
        rounds=rounds,
        round=round_,
        ward=ward,
        wards=picker_wards(),
        choices=choices,
        demand=live,
        errors=errors,
        form=form,
        practice=bool(round_ and round_.get("practice")),
        **page,
    )


def school_names() -> dict[str, str]:
    """School code → name, for every level (public lookups, cached by the gateway)."""
    names: dict[str, str] = {}
    for level in LEVELS:
        answer = client.public("GET", "/api/v1/schools", query={"level": level})
        names.update({s["code"]: s["name"] for s in answer.body} if answer.ok else {})
    return names


def school_choices(round_: dict[str, Any], ward: str) -> dict[str, Any]:
    """The schools to rank: those serving the ward first, then the level's others."""
    level = round_["level"]
    catchment = client.public("GET", "/api/v1/catchment", query={"ward": ward, "level": level})
    serving = catchment.body["schools"] if catchment.ok else []
    every = client.public("GET", "/api/v1/schools", query={"level": level})
    codes = {s["code"] for s in serving}
    others = [s for s in (every.body if every.ok else []) if s["code"] not in codes]
    return {"serving": serving, "others": others, "ward_known": catchment.ok}


def application_body(round_: dict[str, Any]) -> dict[str, Any]:
    """The API body from the form: the order of the choices is the ranking; an empty field is
    left out, so the API answers "missing" for it rather than "not valid"."""
    form = request.form
    ranked = [form.get(f"choice_{i}", "") for i in range(1, int(round_["max_preferences"]) + 1)]
    return {
        "round_id": round_["round_id"],
        "child": _filled(
            {
                "citizen_id": form.get("child.citizen_id", "").strip(),
                "full_name": form.get("child.full_name", "").strip(),
                "date_of_birth": form.get("child.date_of_birth", "").strip(),
            }
        ),
        "preferences": [code for code in ranked if code],
        "guardian": _filled(
            {
                "full_name": form.get("guardian.full_name", "").strip(),
                "phone": form.get("guardian.phone", "").replace(" ", "").strip(),
                "email": form.get("guardian.email", "").strip(),
                "language": form.get("guardian_language", i18n.current_language()),
            }
        ),
    }


def _filled(fields: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in fields.items() if value}
