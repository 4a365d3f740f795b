# Two commands do all set-up on a fresh machine:
#   make demo   creates .venv, installs socrates_nb, runs a scripted session on the embedded database
#   make test   installs the dev dependencies, runs every test with coverage
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
DEMO_PROJECT := Payments API (demo)
OUT    ?= out

.PHONY: demo test bench clean

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "socrates_nb needs Python >= 3.11; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/socrates db upgrade
	$(BIN)/socrates project delete "$(DEMO_PROJECT)" --missing-ok
	$(BIN)/socrates project create "$(DEMO_PROJECT)" --template web-api \
		--description "Card payments for small online shops"
	$(BIN)/socrates session run "$(DEMO_PROJECT)" --answers examples/payments_api_answers.yaml
	$(BIN)/socrates spec export "$(DEMO_PROJECT)" --format md -o $(OUT)/payments_api.md
	$(BIN)/socrates spec export "$(DEMO_PROJECT)" --format json -o $(OUT)/payments_api.json

test: $(VENV)/.installed-dev
	$(PY) -m pytest --cov=socrates_nb --cov-report=term-missing:skip-covered -q

bench: $(VENV)/.installed
	$(PY) benchmarks/bench_answer_turn.py

clean:
	rm -rf $(VENV) $(OUT) .coverage .coverage.* .pytest_cache
