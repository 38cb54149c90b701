# Two entry points for a fresh clone (see README): `make smoke` and `make test`. Both create .venv on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
SDMSPEC := $(VENV)/bin/sdmspec
PYTHON ?= python3
# nox runs from .venv; --no-venv sessions (checks, full, docs) find .venv's tools on PATH.
NOX := PATH="$(abspath $(VENV))/bin:$$PATH" $(VENV)/bin/nox

# pyenv's shims answer only for the versions selected: select every 3.10-3.13 it has, so nox finds each one.
ifneq ($(shell command -v pyenv 2>/dev/null),)
PYENV_VERSION ?= $(shell { pyenv version-name; pyenv versions --bare | grep -E '^3\.1[0-3]\.[0-9]+$$'; } | paste -sd: -)
export PYENV_VERSION
endif

.PHONY: setup smoke test check core docs
setup: $(VENV)/.installed

# The dev set-up pins the CPU build of torch that lies on this machine's disk (constraints-dev.txt).
$(VENV)/.installed: pyproject.toml constraints-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints-dev.txt -e '.[train,dev]'
	touch $@

smoke: setup
	$(SDMSPEC) run --smoke --out runs/smoke

# Static checks: ruff, mypy --strict for Python 3.10, the repo's own lint, EXPERIMENTAL_SETUP.md up to date.
check: setup
	$(NOX) --no-venv -s checks

# The core install (no torch) on Python 3.10-3.13, each in a fresh venv from the built wheel.
core: setup
	$(NOX) -s core

# The documentation site, `mkdocs build --strict`.
docs: setup
	$(NOX) --no-venv -s docs

# Everything CI runs: the static checks and the whole suite in .venv (Python 3.11, the training stack), then the
# core sessions.
test: setup
	$(NOX) --no-venv -s checks full
	$(NOX) -s core
