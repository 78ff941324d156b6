#!/usr/bin/env bash
# Make sure the PostgreSQL the tests use is up (each test run creates and drops a database of
# its own on it). Redis needs nothing here: each test run starts a private redis-server.
set -euo pipefail

if [ -n "${LOOKALIKE_TEST_POSTGRES_URL:-}" ]; then
  exit 0  # a server of the caller's choice: theirs to run
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "starting postgresql"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
fi

for _ in $(seq 1 30); do
  if pg_isready -q -h 127.0.0.1 -p 5432; then
    echo "services up: postgresql 127.0.0.1:5432"
    exit 0
  fi
  sleep 1
done
echo "postgresql did not come up on 127.0.0.1:5432" >&2
exit 1
