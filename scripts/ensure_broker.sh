#!/usr/bin/env bash
# Find RabbitMQ at AMQP_URI (default 127.0.0.1:5672); otherwise start a local one, or Docker's.
set -euo pipefail
host=${RABBIT_HOST:-127.0.0.1}
port=${RABBIT_PORT:-5672}

listening() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }

wait_for_broker() {
  for _ in $(seq 1 60); do listening && return 0; sleep 1; done
  return 1
}

if listening; then
  echo "RabbitMQ: found on $host:$port"
  exit 0
fi
if command -v rabbitmq-server >/dev/null 2>&1; then
  echo "RabbitMQ: not running; starting the local rabbitmq-server"
  rabbitmq-server -detached >/dev/null 2>&1 || true
  command -v rabbitmqctl >/dev/null 2>&1 && rabbitmqctl await_startup --timeout 60 >/dev/null 2>&1 || true
  wait_for_broker && { echo "RabbitMQ: started on $host:$port"; exit 0; }
fi
if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  echo "RabbitMQ: starting it with docker compose"
  docker compose up -d --wait rabbit-1 rabbit-2 rabbit-3
  wait_for_broker && exit 0
fi
echo "RabbitMQ is not reachable on $host:$port and could not be started: install rabbitmq-server (apt-get install rabbitmq-server) or a Docker engine." >&2
exit 1
