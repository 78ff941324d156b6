#!/usr/bin/env bash
# Make sure the services the tests use are up: Redis on 6379 and PostgreSQL on 5432.
set -euo pipefail

redis_up() { python3 - <<'PY'
import socket, sys
try:
    s = socket.create_connection(("127.0.0.1", 6379), timeout=1)
    s.sendall(b"PING\r\n"); sys.exit(0 if s.recv(16).startswith(b"+PONG") else 1)
except OSError:
    sys.exit(1)
PY
}

if ! redis_up; then
  echo "starting redis-server"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "starting postgresql"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
fi

for _ in $(seq 1 30); do
  if redis_up && pg_isready -q -h 127.0.0.1 -p 5432; then
    echo "services up: redis 127.0.0.1:6379, postgresql 127.0.0.1:5432"
    exit 0
  fi
  sleep 1
done
echo "services did not come up" >&2
exit 1
