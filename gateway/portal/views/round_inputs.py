"""The department's inputs to a round besides its options: reserved seats per school, and
late applications accepted after close with a reason."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from gateway.auth.decorators import public
from gateway.portal import client
from gateway.portal.i18n import gettext as _
from gateway.portal.views.common import expect, login_required, tell
from gateway.portal.views.forms import field_errors

bp = Blueprint("round_inputs", __name__, url_prefix="/department/rounds")
ROUNDS = "/api/v1/rounds"


@bp.route("/<round_id>/reserved")
@public(limit="lookup")
@login_required
def reserved(round_id: str) -> str:
    """The round's reserved seats: a table, and the lines to edit them."""
    round_ = expect(client.as_user("GET", f"{ROUNDS}/{round_id}")).body
    seats = expect(client.as_user("GET", f"{ROUNDS}/{round_id}/reserved-seats")).body["seats"]
    lines = "\n".join(f"{s['school_code']},{s['category']},{s['seats']}" for s in seats)
    return render_template(
        "department/reserved.html",
        round=round_,
        seats=seats,
        lines=request.args.get("lines", lines),
    )


@bp.route("/<round_id>/reserved", methods=["POST"])
@public(limit="lookup")
@login_required
def save_reserved(round_id: str) -> Any:
    """Replace the reserved seats with the lines typed (school code, category, seats)."""
    text = request.form.get("lines", "")
    rows, bad = parse_lines(text)
    if bad:
        flash(_("Line %(n)s is not “school code, category, seats”.", n=bad), "error")
        return redirect(url_for("round_inputs.reserved", round_id=round_id, lines=text))
    answer = client.as_user("PUT", f"{ROUNDS}/{round_id}/reserved-seats", body={"seats": rows})
    if answer.ok:
        flash(_("Reserved seats saved."), "success")
    elif answer.status == 400 and answer.code == "invalid_round":
        flash(answer.error.get("message") or "", "error")
    else:
        tell(answer)
    return redirect(url_for("round_inputs.reserved", round_id=round_id))


def parse_lines(text: str) -> tuple[list[dict[str, Any]], int | None]:
    """`TH-0001,khuyet_tat,2` per line (blank lines skipped); the rows, or the first bad line."""
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        cells = [cell.strip() for cell in line.split(",")]
        if len(cells) != 3 or not cells[2].isdigit():
            return [], number
        rows.append({"school_code": cells[0].upper(), "category": cells[1], "seats": int(cells[2])})
    return rows, None


@bp.route("/<round_id>/late")
@public(limit="lookup")
@login_required
def late(round_id: str) -> str:
    """The round's late applications, and the form to accept one."""
    round_ = expect(client.as_user("GET", f"{ROUNDS}/{round_id}")).body
    found = expect(client.as_user("GET", f"{ROUNDS}/{round_id}/late-applications")).body
    return render_template("department/late.html", round=round_, late=found, errors={}, form={})


@bp.route("/<round_id>/late", methods=["POST"])
@public(limit="lookup")
@login_required
def accept_late(round_id: str) -> Any:
    """Accept a late application with its reason."""
    form = request.form
    body = {
        "child": {
            "citizen_id": form.get("child.citizen_id", "").strip(),
            "full_name": form.get("child.full_name", "").strip(),
            "date_of_birth": form.get("child.date_of_birth", ""),
        },
        "preferences": [
            c.strip().upper() for c in form.get("preferences", "").split(",") if c.strip()
        ],
        "guardian": {
            "full_name": form.get("guardian.full_name", "").strip(),
            "phone": form.get("guardian.phone", "").strip(),
            "email": form.get("guardian.email", "").strip(),
            "language": form.get("guardian.language", "vi"),
        },
        "reason": form.get("reason", "").strip(),
    }
    answer = client.as_user("POST", f"{ROUNDS}/{round_id}/late-applications", body=body)
    if answer.ok:
        flash(_("Late application %(ref)s accepted.", ref=answer.body["reference"]), "success")
        return redirect(url_for("round_inputs.late", round_id=round_id))
    if answer.status != 400:
        flash(answer.error.get("message") or "", "error") if answer.status == 409 else tell(answer)
        return redirect(url_for("round_inputs.late", round_id=round_id))
    round_ = expect(client.as_user("GET", f"{ROUNDS}/{round_id}")).body
    found = expect(client.as_user("GET", f"{ROUNDS}/{round_id}/late-applications")).body
    errors = field_errors(answer)
    return render_template(
        "department/late.html", round=round_, late=found, errors=errors, form=form
    ), 400
