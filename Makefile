# Two commands do all set-up on a fresh machine:
#   make demo   creates .venv, installs socrates_nb, runs a scripted session on the embedded database
#   make test   installs the dev dependencies, runs every test with coverage
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
DEMO_PROJECT := Payments API (demo)
OUT    ?= out

.PHONY: demo test bench notebooks clean

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

# Debian packages (run as root, or with sudo): Chromium for tests/test_browser.py, wrk for
# benchmarks/bench_http.py, prometheus (promtool) for tests/test_alerts.py; a test that needs one
# that cannot be installed is skipped with that reason.
APT := DEBIAN_FRONTEND=noninteractive $(if $(filter 0,$(shell id -u)),,sudo -n) apt-get -y -q
apt-%:
	@command -v $* >/dev/null || { $(APT) install $* >/dev/null || { $(APT) update >/dev/null && \
		$(APT) install $* >/dev/null; }; } || echo "$* could not be installed: the tests needing it will be skipped"

test: $(VENV)/.installed-dev apt-chromium apt-wrk apt-prometheus
	$(PY) -m pytest -n 2 --cov=socrates_nb --cov-report=term-missing:skip-covered -q

# Re-execute the example notebooks and store their outputs (compared by nbval in the tests).
notebooks: $(VENV)/.installed-dev
	$(PY) scripts/run_notebooks.py

bench: $(VENV)/.installed-dev apt-wrk
	$(PY) benchmarks/bench_answer_turn.py
	$(PY) benchmarks/bench_analytics.py
	$(PY) benchmarks/bench_http.py
	$(PY) benchmarks/bench_login_timing.py
	$(PY) benchmarks/bench_llm_turn.py

clean:
	rm -rf $(VENV) $(OUT) .coverage .coverage.* .pytest_cache
