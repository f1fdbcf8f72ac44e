"""Admin CLI for gateway accounts: school staff (bound to one school), help desks (bound to
one school or one ward), department users, and the demo accounts of `make run`.

Usage:
  python -m gateway.cli create-staff --username lan.th0001 --school TH-0001
  python -m gateway.cli create-department --username phong.gd
  python -m gateway.cli create-helpdesk --username hotro.p4 --ward 00004
  python -m gateway.cli create-helpdesk --username hotro.th0001 --school TH-0001
  python -m gateway.cli demo
  python -m gateway.cli demo-applications var/demo/small/applications.jsonl
(without --password, the password is asked for on the terminal)
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

from gateway.auth import accounts
from gateway.auth.models import Account
from gateway.auth.passwords import Passwords, password_problem
from gateway.auth.roles import DEPARTMENT, HELPDESK, STAFF
from gateway.db import GatewayDatabase, utcnow
from gateway.demo import DEMO_FAMILIES, load_sample_applications
from shared.config import load_config

CONFIG_PATH = Path(__file__).with_name("config.yml")

# Fixed, printed by `make run`, refused outside development.
DEMO_PARENT = {"phone": "0912345678", "password": "demo-parent-2027"}
DEMO_STAFF = {"username": "staff.th0001", "password": "demo-staff-2027", "school": "TH-0001"}
DEMO_HELPDESK = {
    "username": "helpdesk.th0001",
    "password": "demo-helpdesk-2027",
    "school": "TH-0001",
}
DEMO_DEPARTMENT = {"username": "department", "password": "demo-department-2027"}


def _database(config: dict[str, Any]) -> GatewayDatabase:
    return GatewayDatabase(config["GATEWAY_DB_URI"], pool_size=1)


def _password(given: str | None) -> str:
    password = given or getpass.getpass("Password: ")
    problem = password_problem(password)
    if problem:
        raise SystemExit(f"password not accepted: {problem}")
    return password


def create_operator(
    config: dict[str, Any],
    role: str,
    username: str,
    password: str,
    school: str | None = None,
    ward: str | None = None,
) -> Account:
    """Create a staff, help desk or department account."""
    db = _database(config)
    try:
        password_hash = Passwords().hash(password)
        with db.session() as session:
            return accounts.add_operator(session, role, username, password_hash, school, ward)
    finally:
        db.dispose()


def create_demo_accounts(config: dict[str, Any]) -> list[str]:
    """The demo parent (phone verified), staff and a help desk of TH-0001 and a department
    user; idempotent."""
    if config.get("ENVIRONMENT", "development") != "development":
        raise SystemExit("demo accounts exist in development only")
    db = _database(config)
    hasher = Passwords()
    lines = []
    try:
        with db.session() as session:
            parent = accounts.by_phone(session, DEMO_PARENT["phone"])
            if parent is None:
                parent = accounts.add_parent(
                    session, DEMO_PARENT["phone"], hasher.hash(DEMO_PARENT["password"])
                )
                parent.phone_verified_at = utcnow()
            operators = (
                (STAFF, DEMO_STAFF),
                (HELPDESK, DEMO_HELPDESK),
                (DEPARTMENT, DEMO_DEPARTMENT),
            )
            for role, demo in operators:
                if accounts.by_username(session, demo["username"]) is None:
                    accounts.add_operator(
                        session,
                        role,
                        demo["username"],
                        hasher.hash(demo["password"]),
                        demo.get("school"),
                    )
    finally:
        db.dispose()
    lines.append(f"parent      phone {DEMO_PARENT['phone']}  password {DEMO_PARENT['password']}")
    lines.append(
        f"staff       username {DEMO_STAFF['username']}  password {DEMO_STAFF['password']}"
        f"  (school {DEMO_STAFF['school']})"
    )
    lines.append(
        f"help desk   username {DEMO_HELPDESK['username']}  password {DEMO_HELPDESK['password']}"
        f"  (help point at school {DEMO_HELPDESK['school']})"
    )
    lines.append(
        f"department  username {DEMO_DEPARTMENT['username']}  "
        f"password {DEMO_DEPARTMENT['password']}"
    )
    return lines


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run one command."""
    formatter = argparse.RawTextHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    commands = parser.add_subparsers(dest="command", required=True)
    staff = commands.add_parser("create-staff", help="a staff account bound to one school")
    staff.add_argument("--username", required=True)
    staff.add_argument("--school", required=True, help="the school's code, e.g. TH-0001")
    staff.add_argument("--password")
    desk = commands.add_parser(
        "create-helpdesk", help="a help desk account bound to one school or one ward"
    )
    desk.add_argument("--username", required=True)
    where = desk.add_mutually_exclusive_group(required=True)
    where.add_argument("--school", help="the school's code, e.g. TH-0001")
    where.add_argument("--ward", help="the ward's code, e.g. 00004")
    desk.add_argument("--password")
    department = commands.add_parser("create-department", help="a department account")
    department.add_argument("--username", required=True)
    department.add_argument("--password")
    commands.add_parser("demo", help="create the demo accounts of `make run` and print them")
    samples = commands.add_parser(
        "demo-applications", help="submit the demo city's sample applications (once each)"
    )
    samples.add_argument("file", type=Path, help="the demo city's applications.jsonl")
    args = parser.parse_args(argv)
    config = load_config(CONFIG_PATH)
    try:
        if args.command == "demo":
            print("\n".join(create_demo_accounts(config)))
        elif args.command == "demo-applications":
            loaded = load_sample_applications(config, args.file)
            print(
                f"sample families  phone {DEMO_FAMILIES['phone']}  password "
                f"{DEMO_FAMILIES['password']}  ({loaded} applications submitted now)"
            )
        elif args.command == "create-staff":
            account = create_operator(
                config, STAFF, args.username, _password(args.password), args.school
            )
            print(f"created staff {account.username} of {account.school_code} ({account.id})")
        elif args.command == "create-helpdesk":
            account = create_operator(
                config, HELPDESK, args.username, _password(args.password), args.school, args.ward
            )
            point = account.school_code or account.ward_code
            print(f"created help desk {account.username} at {point} ({account.id})")
        else:
            account = create_operator(config, DEPARTMENT, args.username, _password(args.password))
            print(f"created department user {account.username} ({account.id})")
    except (ValueError, accounts.AccountExists) as exc:
        print(f"not created: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
