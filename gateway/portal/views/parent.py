"""Parents' pages: register a child, follow the applications, answer an offer, read the inbox,
and set language and contact preferences."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from gateway.auth.decorators import public
from gateway.portal import chances, client, i18n
from gateway.portal.i18n import gettext as _
from gateway.portal.outcome import published_result, seconds_left, split_duration, timeline
from gateway.portal.views import corrections
from gateway.portal.views.common import expect, explain, login_required, tell
from gateway.portal.views.forms import field_errors, refusal, register_reasons
from gateway.portal.views.registering import application_body, register_page, school_names
from shared.contracts.rounds import is_practice_round

bp = Blueprint("parent", __name__, url_prefix="/parent")
CONTACT_FIELDS = ("full_name", "phone", "email")
PREFERENCES = "/api/v1/me/preferences"


@bp.route("/applications")
@public(limit="lookup")
@login_required
def applications() -> str:
    """My applications, newest first, each with its status."""
    mine = expect(client.as_user("GET", "/api/v1/applications")).body
    return render_template("parent/applications.html", applications=mine, names=school_names())


@bp.route("/applications/<reference>")
@public(limit="lookup")
@login_required
def application(reference: str) -> str:
    """One application: timeline, the result explained, waitlist places, the offer."""
    answer = client.as_user("GET", f"/api/v1/applications/{reference}")
    if answer.status == 404 and reference in session.get("submitted", []):
        # Received (202) but still in the queue: registration has not stored it yet.
        return render_template("parent/pending.html", reference=reference)
    found = expect(answer).body
    inbox = client.as_user("GET", "/api/v1/inbox", query={"reference": reference})
    notices = inbox.body["messages"] if inbox.ok else []
    result = published_result(found)
    offer = (result or {}).get("offer") or {}
    left = seconds_left(offer.get("deadline")) if offer.get("status") == "offered" else None
    return render_template(
        "parent/application.html",
        application=found,
        estimate=chances.own_estimate(found),
        steps=timeline(found, notices),
        result=result,
        offer=offer,
        seconds_left=left,
        left=split_duration(left) if left is not None else None,
        reasons=register_reasons(found, i18n.current_language()),
        refusal=refusal(found, i18n.current_language()),
        names=school_names(),
        practice=is_practice_round(found["round_id"]),
        correction=corrections.requests_of(found),
    )


@bp.route("/applications/<reference>/<any(accept, decline, withdraw):answer>", methods=["POST"])
@public(limit="lookup")
@login_required
def answer_offer(reference: str, answer: str) -> Any:
    """Accept or decline the offered seat, or withdraw while the round is open."""
    path = (
        f"/api/v1/applications/{reference}/withdraw"
        if answer == "withdraw"
        else f"/api/v1/offers/{reference}/{answer}"
    )
    done = client.as_user("POST", path)
    if done.ok:
        flash(
            {
                "accept": _("You accepted the seat. The school will confirm the enrollment."),
                "decline": _("You declined the seat. It goes to the next child waiting."),
                "withdraw": _("Your application is withdrawn."),
            }[answer],
            "success",
        )
    else:
        tell(done)
    return redirect(url_for("parent.application", reference=reference))


@bp.route("/register", methods=["GET", "POST"])
@public(limit="lookup")
@login_required
def register() -> Any:
    """Register a child: pick the round and the ward, rank the schools, give the details."""

    def received(reference: str) -> Any:
        session["submitted"] = [reference, *session.get("submitted", [])][:5]
        flash(_("Received. Your reference is %(reference)s.", reference=reference), "success")
        return redirect(url_for("parent.application", reference=reference))

    return register_page(
        lambda round_: client.as_user(
            "POST", "/api/v1/applications", body=application_body(round_)
        ),
        received,
        demand=True,
        contact=session.get("contact", {}),
    )


@bp.route("/inbox")
@public(limit="lookup")
@login_required
def inbox() -> str:
    """Every notice about my applications, newest first (one call: the account's inbox)."""
    mine = {a["reference"]: a for a in expect(client.as_user("GET", "/api/v1/applications")).body}
    notices = []
    for notice in expect(client.as_user("GET", "/api/v1/inbox")).body["messages"]:
        found = mine.get(notice["reference"])
        if found is not None:
            round_id = found["round_id"]
            practice = is_practice_round(round_id)
            notices.append(
                {**notice, "child": found["child"], "round_id": round_id, "practice": practice}
            )
    return render_template("parent/inbox.html", notices=notices)


@bp.route("/preferences", methods=["GET", "POST"])
@public(limit="lookup")
@login_required
def preferences() -> Any:
    """The portal's language; the language and channels of our notices (kept by the
    notification service, which reads them at every notice); the contact details new
    applications start from (kept in this browser's session only)."""
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = request.form
        session["contact"] = {key: form.get(key, "").strip() for key in CONTACT_FIELDS}
        choice = {
            "language": form.get("language", i18n.current_language()),
            "email": form.get("notify_email") == "1",
            "sms": form.get("notify_sms") == "1",
        }
        answer = client.as_user("PUT", PREFERENCES, body=choice)
        if answer.ok:
            flash(_("Your preferences are saved."), "success")
            response = redirect(url_for("parent.preferences"))
            language = form.get("ui_language", i18n.current_language())
            if language in i18n.LANGUAGES:
                response.set_cookie(i18n.COOKIE, language, max_age=365 * 86400, samesite="Lax")
            return response
        errors = field_errors(answer) if answer.status == 400 else {"": explain(answer)}
    chosen = expect(client.as_user("GET", PREFERENCES)).body
    return render_template(
        "parent/preferences.html", contact=session.get("contact", {}), chosen=chosen, errors=errors
    )
