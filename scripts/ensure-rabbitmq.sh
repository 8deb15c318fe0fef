#!/usr/bin/env bash
# Make sure a RabbitMQ answers on AMQP_URI's host:port (default 127.0.0.1:5672).
# Starts the local server if it is installed but stopped; installs it with apt
# when missing and we are root; otherwise says what to do and fails.
set -euo pipefail
uri="${AMQP_URI:-amqp://guest:guest@127.0.0.1:5672/}"
hostport="${uri#*@}"; hostport="${hostport%%/*}"
host="${hostport%%:*}"; port="${hostport##*:}"; [ "$port" = "$host" ] && port=5672

up() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }
wait_up() { for _ in $(seq 1 60); do up && return 0; sleep 1; done; return 1; }

up && exit 0
if [ "$host" != "127.0.0.1" ] && [ "$host" != "localhost" ]; then
  echo "RabbitMQ at $host:$port is not reachable; start it or set AMQP_URI." >&2; exit 1
fi
if ! command -v rabbitmq-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing rabbitmq-server with apt..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq rabbitmq-server >/dev/null
  else
    echo "RabbitMQ is not installed. Install it (e.g. 'sudo apt-get install rabbitmq-server')" \
         "or point AMQP_URI at a running broker, then retry." >&2
    exit 1
  fi
fi
echo "Starting the local RabbitMQ..." >&2
if [ "$(id -u)" = 0 ]; then
  rabbitmq-server -detached >/dev/null 2>&1 || true
else
  echo "RabbitMQ is installed but stopped, and starting it needs root: run 'sudo rabbitmq-server -detached'" \
       "(or 'sudo systemctl start rabbitmq-server'), then retry." >&2
  exit 1
fi
wait_up || { echo "RabbitMQ did not come up on $host:$port within 60 s." >&2; exit 1; }
echo "RabbitMQ is up on $host:$port." >&2
