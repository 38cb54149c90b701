# Two entry points for a fresh clone (see README): `make smoke` and `make test`. Both create .venv on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
SDMSPEC := $(VENV)/bin/sdmspec
PYTHON ?= python3

.PHONY: setup smoke test lint-self check
setup: $(VENV)/.installed

# The dev set-up pins the CPU build of torch that lies on this machine's disk (constraints-dev.txt).
$(VENV)/.installed: pyproject.toml constraints-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints-dev.txt -e '.[train,dev]'
	touch $@

smoke: setup
	$(SDMSPEC) run --smoke --out runs/smoke

# Static checks first (fast), then the suite on both cores.
check: setup
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy
	$(SDMSPEC) lint configs/
	$(SDMSPEC) docs --check

test: check
	$(PY) -m pytest -n 2 -q
