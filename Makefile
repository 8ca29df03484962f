# The two commands of the README: `make demo` and `make test`. Each sets up what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml clients/pyproject.toml | cksum | cut -d' ' -f1)
# the compiled decision index (policies/_index.pyx, built by hatch_build.py): recompiled when
# its source changes, not only when pyproject.toml does
INDEX  := $(VENV)/.index-$(shell cat policies/_index.pyx hatch_build.py | cksum | cut -d' ' -f1)

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml clients/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]' -e ./clients
	rm -f $(VENV)/.installed-* $(VENV)/.index-* && touch $@ $(INDEX)

$(INDEX): $(STAMP) policies/_index.pyx hatch_build.py
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	rm -f $(VENV)/.index-* && touch $@

## demo: show the policy engine on the example network, then serve the demo hub (Ctrl-C stops)
demo: $(INDEX)
	$(BIN)/hub agreements check policies/examples
	@echo
	$(BIN)/hub agreements explain policies/examples --lender monash --home rmit --ils-category UG --fines 25.50
	@echo
	$(BIN)/hub agreements explain policies/examples --lender latrobe --home rmit --category staff
	@echo
	$(BIN)/hub demo

# PostgreSQL for the second pass of the database tests; unreachable means they skip, saying why
# (.ci/run sets HUB_REQUIRE_POSTGRES=1, which makes that a failure).
HUB_TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test

## test: lint, type-check, the suite on SQLite, then the database-behaviour tests (marked db) on
## PostgreSQL with the packaging and benchmark smoke tests (marked slow), which need no database
test: $(INDEX) lint
	env -u HUB_TEST_DATABASE_URL $(BIN)/pytest -q -n 2 -m "not slow"
	HUB_TEST_DATABASE_URL=$(HUB_TEST_DATABASE_URL) $(BIN)/pytest -q -n 2 -m "db or slow"

lint: $(INDEX)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/mypy --config-file clients/pyproject.toml clients/hub_client tests/clients

## bench: the policy engine benchmark (several minutes; prints JSON)
bench: $(INDEX)
	$(BIN)/python tests/benchmarks/bench_policies.py --out bench-policies.json

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
