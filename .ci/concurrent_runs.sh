#!/usr/bin/env bash
# Two test runs at once on one machine must not disturb each other. Runs the tests that use
# real Celery workers twice, side by side, each session with its own redis-server and its own
# PostgreSQL database, and fails unless both runs pass. PYTHON: the interpreter to run pytest
# with (default .venv/bin/python); extra arguments go to both pytest runs.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
TESTS=(
  tests/indexer/ingest/test_celery_worker.py
  tests/indexer/ingest/test_jobs_worker.py
  tests/indexer/ingest/test_worker_faults.py
  tests/indexer/ingest/test_search_during_job.py
  tests/indexer/ingest/test_broker_restart.py
)
unset LOOKALIKE_TEST_REDIS_URL  # a Redis shared by both runs is what this checks against

logs=$(mktemp -d)
pids=()
for run in 1 2; do
  "$PYTHON" -m pytest -p no:cacheprovider -q "${TESTS[@]}" "$@" >"$logs/run$run.log" 2>&1 &
  pids+=("$!")
  echo "run $run: started $(date -u +%T), pid $!, log $logs/run$run.log"
done

failed=0
for run in 1 2; do
  if wait "${pids[$((run - 1))]}"; then verdict=passed; else verdict=FAILED; failed=1; fi
  echo "run $run: $verdict at $(date -u +%T): $(tail -n 1 "$logs/run$run.log")"
done
if [ "$failed" = 1 ]; then
  for run in 1 2; do
    echo "----- run $run -----"
    cat "$logs/run$run.log"
  done
fi
exit "$failed"
