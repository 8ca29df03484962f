# The two commands of the README: `make demo` and `make test`. Each sets up what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --quiet --disable-pip-version-check
# Everything .venv holds comes from the lock, requirements/dev.txt (written by `make lock`), with
# its hashes checked: .venv is made afresh from it whenever its content changes (the stamp's name
# says which content, so a checkout that only touches the file changes nothing).
LOCK   := requirements/dev.txt
STAMP  := $(VENV)/.installed-$(shell cat $(LOCK) | cksum | cut -d' ' -f1)
# The hub and the SDK themselves, installed editable, and the compiled decision index
# (policies/_index.pyx and the policies/_index_*.pxi files it includes, built by hatch_build.py):
# done again when either project's metadata or the index's source changes.
INDEX_SOURCES := policies/_index.pyx $(sort $(wildcard policies/_index_*.pxi)) hatch_build.py
INDEX  := $(VENV)/.index-$(shell cat pyproject.toml clients/pyproject.toml $(INDEX_SOURCES) | cksum | cut -d' ' -f1)

.PHONY: demo test venv lint lock translations bench bench-http clean

# pip installs uv (its entry in the lock, hashes checked), and uv the rest: the same hashes, in
# a few seconds rather than a minute; uv compiles their bytecode as it installs them (on both
# cores, once), rather than each process that imports them compiling it again.
$(STAMP):
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	awk '/^uv==/ {p = 1; print; next} p && /^[^ ]/ {p = 0} p' $(LOCK) > $(VENV)/uv.txt
	$(PIP) install --require-hashes --no-deps -r $(VENV)/uv.txt
	$(BIN)/uv pip install --quiet --python $(BIN)/python --require-hashes --only-binary :all: \
	    --compile-bytecode -r $(LOCK)
	touch $@

# No build isolation: hatchling, Cython and setuptools are the lock's, so nothing unpinned is
# fetched to build them; --no-deps: their dependencies are the lock's already.
$(INDEX): $(STAMP) pyproject.toml clients/pyproject.toml $(INDEX_SOURCES)
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps --no-build-isolation -e . -e ./clients
	rm -f $(VENV)/.index-* && touch $@

## venv: the virtual environment with the hub, the SDK and the compiled index (what demo and
## test build first)
venv: $(INDEX)

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
# Python writes the bytecode it compiles (to __pycache__, git-ignored), whatever the shell says:
# the test processes, the hub commands the suite runs and pytest's rewritten modules then
# compile each module once rather than once per process.
unexport PYTHONDONTWRITEBYTECODE

## test: lint and type-check, the suite on SQLite, and the database-behaviour tests (marked db)
## on PostgreSQL with the browser tests (marked browser) and the packaging and benchmark smoke
## tests (marked slow), which run once: the three side by side, each filling the others' waits
## for browsers, servers and timeouts
test: $(INDEX)
	$(MAKE) --no-print-directory -j 3 --output-sync=line lint test-sqlite test-postgresql

# The suite's two passes, each on two processes (pytest-xdist).
.PHONY: test-sqlite test-postgresql
test-sqlite: $(INDEX)
	env -u HUB_TEST_DATABASE_URL $(BIN)/pytest -q -n 2 -m "not slow and not browser"
test-postgresql: $(INDEX)
	HUB_TEST_DATABASE_URL=$(HUB_TEST_DATABASE_URL) $(BIN)/pytest -q -n 2 -m "db or slow or browser"

lint: $(INDEX)
	$(BIN)/python requirements/lock.py check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

## translations: extract the patron text of the code and templates (babel.cfg) into
## identity/locales/messages.pot, bring each language's messages.po up to date with it (new
## text untranslated, changed text marked fuzzy), and compile each to the messages.mo the hub
## reads; commit all three (docs/languages.md)
LOCALES := identity/locales
translations: $(INDEX)
	$(BIN)/pybabel -q extract -F babel.cfg --no-location --sort-output --omit-header \
	    -o $(LOCALES)/messages.pot .
	$(BIN)/pybabel -q update -i $(LOCALES)/messages.pot -d $(LOCALES) --ignore-obsolete
	$(BIN)/pybabel -q compile --statistics -d $(LOCALES)

## lock: resolve requirements/*.txt again from pyproject.toml and clients/pyproject.toml, keeping
## the versions locked already; `make lock UPGRADE=--upgrade` (or --upgrade-package NAME) moves on
lock: $(STAMP)
	$(BIN)/python requirements/lock.py write $(UPGRADE)

## bench: the policy engine benchmark (several minutes; prints JSON)
bench: $(INDEX)
	$(BIN)/python tests/benchmarks/bench_policies.py --out bench-policies.json

## bench-http: the hub over HTTP beside bare FastAPI and node oidc-provider, on PostgreSQL (a
## database made beside HUB_TEST_DATABASE_URL's) and SQLite (about 6 minutes; needs wrk and
## node; prints JSON)
bench-http: $(INDEX)
	$(BIN)/python tests/benchmarks/bench_http.py --database-url $(HUB_TEST_DATABASE_URL) \
		--out bench-http.json

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
