# Two commands on a fresh machine: `make demo` (set up, index the demo catalog, serve it on
# http://127.0.0.1:5000) and `make test` (set up, start services, run every test).
# Python 3.11 to 3.13; python3.11 where there is one, else python3 (checked before setup).
PYTHON ?= $(shell command -v python3.11 >/dev/null 2>&1 && echo python3.11 || echo python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: setup demo serve test requirements lint services chromium clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# The CPU build of PyTorch; pip takes it from the local wheel cache where one exists.
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-* && touch $@

demo: setup
	$(BIN)/lookalike demo

serve: setup
	$(BIN)/lookalike serve

# One line per thing `make test` needs from the system and does not find, before installing.
requirements:
	@PYTHON="$(PYTHON)" VENV="$(VENV)" bash .ci/check_requirements.sh

services:
	bash .ci/services.sh

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

test: requirements setup services chromium
	$(BIN)/ruff check .
	$(BIN)/mypy indexer search web
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy indexer search web

clean:
	rm -rf $(VENV) .lookalike
