"""The help desks' accounts: the department lists them and opens one at a school or a ward
(a help desk's own routes: gateway/api/helpdesk.py)."""

from __future__ import annotations

from typing import Any

from flask import current_app, g
from flask.views import MethodView
from sqlalchemy import select

from gateway.api.helpdesk_schemas import HelpDeskView, NewHelpDesk
from gateway.auth import accounts
from gateway.auth.decorators import require
from gateway.auth.models import Account
from gateway.auth.passwords import password_problem
from gateway.auth.roles import DEPARTMENT, HELPDESK, help_point_of
from gateway.errors import ApiError
from gateway.schemas import ErrorBody
from gateway.smorest import Blueprint

blp = Blueprint("helpdesks", __name__, url_prefix="/api/v1")


@blp.route("/helpdesks")
class HelpDesks(MethodView):
    """The help desks' accounts (the department's)."""

    @require(DEPARTMENT, audit="helpdesk.accounts", limit="account")
    @blp.response(200, HelpDeskView(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Every help desk account, by username.

        Example: `curl localhost:8000/api/v1/helpdesks -H 'Authorization: Bearer ...'`
        """
        with current_app.extensions["db"].session() as session:
            query = select(Account).where(Account.role == HELPDESK).order_by(Account.username)
            return [_desk(account) for account in session.scalars(query.limit(2000))]

    @require(DEPARTMENT, audit="helpdesk.create", limit="account")
    @blp.arguments(NewHelpDesk)
    @blp.response(201, HelpDeskView)
    @blp.alt_response(400, schema=ErrorBody, description="Fields missing or not valid.")
    @blp.alt_response(409, schema=ErrorBody, description="The username is taken.")
    def post(self, form: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """Open a help desk account bound to one school or one ward.

        Example: `curl -X POST localhost:8000/api/v1/helpdesks -H 'Authorization: Bearer ...'
        -H 'Content-Type: application/json' -d '{"username": "hotro.p4", "password": "a long
        passphrase", "ward_code": "00004"}'`
        """
        problem = password_problem(form["password"])
        if problem:
            raise ApiError(400, "invalid", "Some fields are not valid.", {"password": [problem]})
        auth = current_app.extensions["auth"]
        password_hash = auth.passwords.hash(form["password"])
        with current_app.extensions["db"].session() as session:
            try:
                account = accounts.add_operator(
                    session,
                    HELPDESK,
                    form["username"],
                    password_hash,
                    form.get("school_code"),
                    form.get("ward_code"),
                )
            except accounts.AccountExists:
                raise ApiError(409, "account_exists", "That username is taken.") from None
            session.flush()
            point = help_point_of(HELPDESK, account.school_code, account.ward_code)
            g.audit_objects = {"account_id": account.id, "help_point": point}
            return _desk(account), 201


def _desk(account: Account) -> dict[str, Any]:
    return {
        "account_id": account.id,
        "username": account.username,
        "school_code": account.school_code,
        "ward_code": account.ward_code,
        "created_at": account.created_at.isoformat(),
        "disabled": account.disabled_at is not None,
    }
