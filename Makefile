# certcenter — the two commands: `make run` starts the center with its demo world,
# `make test` runs the checks and the test suite. Both set up .venv on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-pkcs11 lint typecheck bench bench-compare clean

# the parts of the suite whose behaviour depends on the keys, run again by `make test` with
# every key in a SoftHSM2 token (CERTCENTER_TEST_KEY_BACKEND=pkcs11; README, docs/keys.md)
PKCS11_TESTS ?= tests/issuance tests/tsa tests/signing tests/financial tests/pki tests/revocation tests/oidc tests/lifecycle tests/usage tests/joint_usage tests/audit

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/certcenter serve

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest
	$(MAKE) --no-print-directory test-pkcs11

# without SoftHSM2 skipped, unless CERTCENTER_TEST_REQUIRE_SOFTHSM=1 (CI) makes that a failure;
# on SQLite only: the keys are what this pass is about, the main pass runs both databases
test-pkcs11: $(STAMP)
	@if [ -f /usr/lib/softhsm/libsofthsm2.so ] || [ "$$CERTCENTER_TEST_REQUIRE_SOFTHSM" = 1 ]; then \
	  echo "CERTCENTER_TEST_KEY_BACKEND=pkcs11 CERTCENTER_TEST_DATABASES=sqlite pytest $(PKCS11_TESTS)"; \
	  CERTCENTER_TEST_KEY_BACKEND=pkcs11 CERTCENTER_TEST_DATABASES=sqlite $(BIN)/pytest $(PKCS11_TESTS); \
	else \
	  echo "test-pkcs11: skipped (no SoftHSM2: apt-get install softhsm2)"; \
	fi

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

# certcenter next to cfssl (apt-get install golang-cfssl wrk; without them it says so)
bench-compare: $(STAMP)
	$(BIN)/python bench/compare.py

clean:
	rm -rf $(VENV) var demo-output .pytest_cache .mypy_cache .ruff_cache
