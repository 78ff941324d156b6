#!/usr/bin/env bash
# What `make test` needs from the system, checked before anything is installed: one line for
# each thing missing, then exit 1. PYTHON and VENV come from the Makefile.
set -uo pipefail

PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
POSTGRES_URL="${LOOKALIKE_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test}"
missing=0

need() {
  echo "make test needs $*" >&2
  missing=1
}

python_version() {
  "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null
}

if [ -x "$VENV/bin/python" ]; then
  : # set up already: PYTHON is not used again
elif ! command -v "$PYTHON" >/dev/null 2>&1; then
  need "Python 3.11, 3.12 or 3.13: $PYTHON is not on PATH (set PYTHON=python3.12, say)"
else
  version=$(python_version "$PYTHON")
  case "$version" in
    3.11 | 3.12 | 3.13)
      if ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
        need "the venv module of $PYTHON (Debian: apt-get install python$version-venv)"
      fi
      ;;
    *) need "Python 3.11, 3.12 or 3.13: $PYTHON is ${version:-unusable} (set PYTHON=python3.12, say)" ;;
  esac
fi

if [ -z "${LOOKALIKE_TEST_REDIS_URL:-}" ] && ! command -v redis-server >/dev/null 2>&1; then
  need "redis-server on PATH, each run starts its own (Debian: apt-get install redis-server)," \
    "or LOOKALIKE_TEST_REDIS_URL naming a Redis database the run may flush"
fi

# postgresql://user@host:port/db. Without LOOKALIKE_TEST_POSTGRES_URL, .ci/services.sh starts
# an installed local cluster when none answers.
if [[ "$POSTGRES_URL" =~ ^postgres(ql)?(\+[a-z0-9]+)?://([^@/]*@)?([^:/]+)(:([0-9]+))?/ ]]; then
  host="${BASH_REMATCH[4]}"
  port="${BASH_REMATCH[6]:-5432}"
  if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
    : # answering
  elif [ -n "${LOOKALIKE_TEST_POSTGRES_URL:-}" ]; then
    need "PostgreSQL answering at LOOKALIKE_TEST_POSTGRES_URL=$POSTGRES_URL"
  elif ! { command -v pg_ctlcluster >/dev/null 2>&1 && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; }; then
    need "PostgreSQL at $POSTGRES_URL (user postgres, trust auth, may create databases;" \
      "Debian: apt-get install postgresql) or LOOKALIKE_TEST_POSTGRES_URL naming another"
  fi
else
  need "LOOKALIKE_TEST_POSTGRES_URL as postgresql://user@host:port/database, not $POSTGRES_URL"
fi
if [ -z "${LOOKALIKE_TEST_POSTGRES_URL:-}" ] && ! command -v pg_isready >/dev/null 2>&1; then
  need "pg_isready on PATH (Debian: apt-get install postgresql-client)"
fi

if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" != 0 ]; then
  need "chromium on PATH for the browser tests (Debian, as root: apt-get install chromium;" \
    "\`make chromium\` installs it when make runs as root)"
fi

exit "$missing"
