# The two commands of the README (make run, make test) and their helpers.
# Each target sets up .venv from the pinned requirements on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
CLERK_ID ?= user_demo
export GENTRADE_DATA_DIR ?= $(CURDIR)/data

.PHONY: run demo test lint format token migrate bench clean

$(STAMP): requirements/base.txt requirements/freqtrade.txt requirements/dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "GenTrade needs Python >= 3.11 (set PYTHON=...)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	@touch $(STAMP)

migrate: $(STAMP)
	$(BIN)/flask --app wsgi db upgrade

run: $(STAMP)
	@echo ""
	@echo "GenTrade on http://$(HOST):$(PORT): API, backtest worker, exchange stand-in (synthetic data)"
	@echo "  Embedded defaults, everything in $(GENTRADE_DATA_DIR); Ctrl-C stops it all."
	@echo "  API docs:     http://$(HOST):$(PORT)/api/docs   (OpenAPI: /api/openapi.json)"
	@echo "  A token:      TOKEN=\$$(make -s token CLERK_ID=user_demo)"
	@echo "  Try it:       curl -H \"Authorization: Bearer \$$TOKEN\" http://$(HOST):$(PORT)/api/v1/chats"
	@echo ""
	$(BIN)/python -m gentrade.stack --host $(HOST) --port $(PORT)

demo: $(STAMP)
	$(BIN)/python -m gentrade.demo

token: $(STAMP)
	@$(BIN)/flask --app wsgi gentrade dev-token $(CLERK_ID) 2>/dev/null

test: lint
	$(BIN)/pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench.run_all

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
