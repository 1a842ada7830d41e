# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The browser test drives Debian's Chromium (test tools cannot download a browser here).
CHROMIUM ?= /usr/bin/chromium

.PHONY: install dev demo test lint typecheck pytest browser bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Stamps re-run the install whenever pyproject.toml changes.
$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

dev: $(VENV)/.installed-dev

demo: install
	$(BIN)/trading-automation demo

lint: dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: dev
	$(BIN)/mypy

# Installs Debian's chromium for the browser test when it is missing (as root, or with
# password-less sudo); otherwise stops with what to do. The test itself fails, never skips,
# without it.
browser:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; \
	  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
	  else echo "error: the browser test needs Chromium at $(CHROMIUM); install Debian's" \
	    "chromium package (apt-get install chromium), or set CHROMIUM=/path/to/chromium" >&2; \
	    exit 1; fi; \
	  echo "installing Debian's chromium for the browser test ..."; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null || \
	  { echo "error: could not install chromium with apt-get (see above)" >&2; exit 1; }; \
	fi
	@test -x "$(CHROMIUM)" || { echo "error: no Chromium at $(CHROMIUM)" >&2; exit 1; }

pytest: dev browser
	CHROMIUM=$(CHROMIUM) $(BIN)/pytest

test: lint typecheck pytest

# Measures the data layer against baselines in the same run and writes benchmarks/RESULTS.md
# (needs the PostgreSQL server that the tests use; BENCH_DATABASE_URL points elsewhere).
bench: dev
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) demo-data .pytest_cache .mypy_cache .ruff_cache .hypothesis
