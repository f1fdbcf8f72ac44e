#!/usr/bin/env bash
# `make run`: the whole system on one machine, on SQLite files and a local RabbitMQ.
# `make cluster` (CLUSTER=1): the same on a 3-node RabbitMQ cluster behind HAProxy, with two
# gateway replicas (python -m tools.cluster).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
mkdir -p var

if [ "${CLUSTER:-0}" != 1 ]; then
  bash scripts/ensure_broker.sh
fi
python -m shared.db.migrate registration allocation notification gateway
# The broker topology, derived from the services' handlers, before any process starts
# (on the cluster, tools.cluster does it once the nodes are up).
if [ "${CLUSTER:-0}" != 1 ]; then
  python -m tools.topology
fi
# The small demo city (deterministic): real Hanoi wards, schools, the register, applications.
python -m tools.demo_city --scale small --out var/demo/small
python -m services.allocation.cli import-city var/demo/small
python -m services.registration.cli import-register var/demo/small/register.csv
python -m services.allocation.cli demo
# Demo accounts in the gateway's database (idempotent): a parent, staff of TH-0001, the department.
demo_accounts=$(python -m gateway.cli demo | sed 's/^/                 /')

port=${GATEWAY_PORT:-8000}
if [ "${CLUSTER:-0}" = 1 ]; then
  command -v haproxy >/dev/null || { echo "make cluster needs HAProxy: apt-get install haproxy" >&2; exit 1; }
  echo "Demo accounts (log in with POST /api/v1/auth/token):"
  echo "${demo_accounts}"
  exec python -m tools.cluster --http "${port}"
fi
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
                 sample families  phone 0900000000  password demo-families-2027
                 (the 300 sample applications, submitted once the system is ready)

TXT
export GATEWAY_BIND="127.0.0.1:${port}"
# honcho stops every process on Ctrl-C (or when one of them dies); this script waits for it.
honcho start -f Procfile &
honcho_pid=$!
trap 'kill -TERM "$honcho_pid" 2>/dev/null' INT TERM
# Once the system is ready: the demo city's sample applications go into the demo rounds
# (each child once, as the "sample families" account), so every role's pages show something.
for _ in $(seq 1 120); do
  if curl -sf "http://127.0.0.1:${port}/readyz" >/dev/null 2>&1; then
    python -m gateway.cli demo-applications var/demo/small/applications.jsonl | sed 's/^/demo    | /' || true
    break
  fi
  kill -0 "$honcho_pid" 2>/dev/null || break
  sleep 1
done
# A signal interrupts the first wait; the second lets honcho finish stopping everything.
status=0
wait "$honcho_pid" || status=$?
if kill -0 "$honcho_pid" 2>/dev/null; then wait "$honcho_pid" || status=$?; fi
exit "$status"
