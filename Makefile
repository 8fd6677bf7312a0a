# kpchain developer entry points. `make run` and `make test` install everything they need
# (a virtualenv with pinned Python packages, pinned npm tools, the solc-js adapter) first.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
ANVIL_DIR := $(CURDIR)/node_modules/@foundry-rs/anvil-linux-amd64/bin

# py-solc-x and ape-solidity find solc-v<version> here; ape-foundry finds anvil on PATH, first
# scripts/bin's wrapper (it keeps anvil from leaving block states on disk), then the npm binary.
export SOLCX_BINARY_PATH := $(CURDIR)/.solcx
export PATH := $(CURDIR)/$(BIN):$(CURDIR)/scripts/bin:$(ANVIL_DIR):$(PATH)

.PHONY: install run test lint typecheck test-contracts-anvil compile translations gas bench bench-year down status clean

install: $(VENV)/.installed node_modules/.installed .solcx/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --constraint constraints.txt --editable ".[dev]"
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

.solcx/.installed: $(VENV)/.installed node_modules/.installed ape-config.yaml
	$(BIN)/kpchain toolchain install-solc
	touch $@

## run: the devnet (anvil + contracts + demo participants); `make down` stops it
run: install
	$(BIN)/kpchain devnet up --sovereign

down: install
	$(BIN)/kpchain devnet down

status: install
	$(BIN)/kpchain devnet status

## test: lint, type-check, every test on ape's local chain (service tests on anvil, SQLite and
## PostgreSQL, pages in Debian's chromium), the three-node network tests, the contract tests
## again on anvil
test: install lint typecheck
	scripts/ensure-postgres.sh
	scripts/ensure-chromium.sh
	scripts/ensure-cjk-font.sh
	$(BIN)/ape test tests -q -m "not network"
	$(BIN)/ape test tests -q -m network
	$(BIN)/ape test tests/contracts -q --network ethereum:local:foundry

lint: install
	$(BIN)/python scripts/check_requirements.py
	$(BIN)/ruff check src tests scripts benchmarks
	$(BIN)/ruff format --check src tests scripts benchmarks
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

## compile: refresh src/kpchain/artifacts from contracts/ (commit the result)
compile: install
	$(BIN)/kpchain compile

## translations: extract every text marked for translation (babel.cfg), merge it into the French
## and Russian catalogues (src/kpchain/locale), compile them; lists what is left to translate
## (`python scripts/translations.py check` fails while anything is)
translations: install
	$(BIN)/python scripts/translations.py

## gas: the gas benchmark; prints a table and writes benchmarks/gas.json
gas: install
	$(BIN)/python scripts/gas.py

## bench: API throughput against the node's raw rate; prints a table, writes benchmarks/throughput.json
bench: install
	$(BIN)/python -m benchmarks

## bench-year: a KP year (60,000 certificates x issue, ship, receive) through the API, then its
## statistics checked against the documents; prints the times, writes benchmarks/year.json
## (minutes: not in CI; `python -m benchmarks.year --help` for a smaller year)
bench-year: install
	$(BIN)/python -m benchmarks.year

clean:
	rm -rf $(VENV) node_modules .solcx .build .cache .pytest_cache .mypy_cache .ruff_cache .hypothesis \
	  .grimp_cache .import_linter_cache
