# Two commands a user needs: `make demo` and `make test`. Both create .venv when missing and
# install the pinned dependencies; re-running is fast when nothing changed (stamp file).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# Tests that use ROS talk over shared memory only, in a domain of their own.
export FASTDDS_BUILTIN_TRANSPORTS ?= SHM
export AMENT_PREFIX_PATH := $(CURDIR)/$(VENV)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup test demo bench lint format clean

setup: $(STAMP)

$(STAMP): requirements.txt requirements-test.txt setup.py
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade 'pip>=24' 'setuptools>=70' wheel
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-test.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

demo: $(STAMP)
	$(VENV)/bin/cvseq-localizer demo $(DEMO_ARGS)

bench: $(STAMP)
	@mkdir -p bench/results
	@set -e; for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b; done

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) .cache bench/results build install log *.egg-info
