#!/usr/bin/env bash
# `make run`: the whole system on one machine, on SQLite files and a local RabbitMQ.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
mkdir -p var

bash scripts/ensure_broker.sh
python -m shared.db.migrate registration allocation notification gateway
# The small demo city (deterministic): real Hanoi wards, schools, the register, applications.
python -m tools.demo_city --scale small --out var/demo/small
python -m services.allocation.cli import-city var/demo/small
python -m services.registration.cli import-register var/demo/small/register.csv
python -m services.allocation.cli demo
# Demo accounts in the gateway's database (idempotent): a parent, staff of TH-0001, the department.
demo_accounts=$(python -m gateway.cli demo | sed 's/^/                 /')
# The demo city's 300 sample applications, submitted once into the demo rounds (claimed by the
# "sample families" account); registration verifies them when it starts.
samples=$(python -m gateway.cli demo-applications var/demo/small/applications.jsonl)

port=${GATEWAY_PORT:-8000}
export SMTP_PORT=${SMTP_PORT:-1025}
cat <<TXT

Tuyensinh is starting (Ctrl-C stops everything):
  Portal         http://127.0.0.1:${port}/  (parents, schools and the department sign in here)
  API            http://127.0.0.1:${port}/api/v1/rounds
  API docs       http://127.0.0.1:${port}/docs
  OpenAPI        http://127.0.0.1:${port}/openapi.json
  Readiness      http://127.0.0.1:${port}/readyz
  Parents' mail  SMTP sink on 127.0.0.1:${SMTP_PORT}, messages printed below and saved in var/mail/
  Parents' SMS   printed below ("console sms to ...") and saved in var/sms/, one file each:
                 the sign-up code is there
  RabbitMQ UI    http://127.0.0.1:15672 (guest/guest, if the management plugin is enabled)
  Metrics        http://127.0.0.1:${port}/metrics
  Demo accounts  log in with POST /api/v1/auth/token (see README, "Accounts and access"):
${demo_accounts}
                 ${samples}

TXT
export GATEWAY_BIND="127.0.0.1:${port}"
exec honcho start -f Procfile
