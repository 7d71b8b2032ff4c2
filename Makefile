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

.PHONY: run demo test lint format token migrate bench clean contract-deps docker-images test-docker-images

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

test: lint contract-deps test-docker-images
	$(BIN)/pytest $(PYTEST_ARGS)

# A Docker engine (started, or installed as root on Debian, where none runs) and the images, built
# offline: gentrade/freqtrade:<version> (the docker runner's default), a test image laid out like
# freqtradeorg/freqtrade, and gentrade-backend:local. Cached by Docker's layer cache.
docker-images:
	images/build.sh

# For make test: where no engine can run, say so and go on (the Docker tests skip; they fail under CI=true).
test-docker-images:
	@images/build.sh || echo "no Docker images: the Docker tests will skip (fail under CI=true)"

# The frontend contract suite (tests/contract) runs on the frontend's own npm libraries. npm ci fills
# a cache folder named by the lockfile's sha256 only when that folder is missing (a new lockfile gets a
# new folder, built aside and renamed into place); tests/contract/node_modules links to it.
# Without npm, or when npm ci fails (offline), it says so and the contract test skips (fails under CI=true).
CONTRACT := tests/contract
NODE_CACHE := .cache/contract-node
contract-deps:
	@command -v npm >/dev/null 2>&1 || { echo "npm not found: the frontend contract test will skip (fail under CI=true)"; exit 0; }; \
	set -e; hash=$$(sha256sum $(CONTRACT)/package-lock.json | cut -d' ' -f1); dir=$(NODE_CACHE)/$$hash; \
	if [ ! -d $$dir/node_modules ]; then \
	  mkdir -p $(NODE_CACHE); tmp=$$(mktemp -d $(NODE_CACHE)/.install.XXXXXX); \
	  cp $(CONTRACT)/package.json $(CONTRACT)/package-lock.json $$tmp/; \
	  echo "npm ci for $(CONTRACT) (lockfile $$hash)"; \
	  (cd $$tmp && npm ci --no-audit --no-fund --loglevel=error) || { rm -rf $$tmp; \
	    echo "npm ci failed: the frontend contract test will skip (fail under CI=true)"; exit 0; }; \
	  mv -T $$tmp $$dir 2>/dev/null || rm -rf $$tmp; \
	fi; \
	link=$(CONTRACT)/node_modules; target=../../$$dir/node_modules; \
	if [ "$$(readlink $$link 2>/dev/null)" != "$$target" ]; then \
	  if [ -e $$link ] && [ ! -L $$link ]; then rm -rf $$link; fi; \
	  ln -sfn $$target $$link.tmp.$$$$ && mv -T $$link.tmp.$$$$ $$link; \
	fi

bench: $(STAMP)
	$(BIN)/python -m bench.run_all

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache $(NODE_CACHE) $(CONTRACT)/node_modules
