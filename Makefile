# Two commands do all the set-up on a fresh machine (Python 3.11+):
#   make demo   creates .venv, installs the package, fits/evaluates/explains/exports a model on the shipped data
#   make test   creates .venv, installs the package with its test tools, runs the test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

.PHONY: demo test benchmark-quality benchmark-speed benchmark-tuning
demo: $(VENV)/.installed
	$(PY) -m keras_defaults.demo

# TEST_WORKERS processes (pytest-xdist), each test file in one of them so that its fitted fixtures are fitted once;
# TEST_WORKERS=0 runs everything in this process (xdist's own meaning of -n 0).
TEST_WORKERS ?= 2
test: $(VENV)/.installed
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

# The quality benchmark: 61 offline datasets in a tune and a check half, 5 models (about an hour on 2 cores with
# JOBS=2: its fits sum to about 2 h 10 min, benchmarks/results/quality.md; resumable: results are cached in
# benchmarks/.cache/). JOBS=1 for one process (about twice as long); ARGS for more options (--half tune, --quick, ...).
JOBS ?= 2
ARGS ?=
benchmark-quality: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[benchmarks]' && $(PY) -m pip install --quiet --no-deps ISLP
	nice -n 10 $(PY) benchmarks/quality.py --jobs $(JOBS) $(ARGS)

# Automater.tune, 5 minutes per tune-half table, against the defaults (about an hour with JOBS=2; resumable).
benchmark-tuning: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[benchmarks,tune]' && $(PY) -m pip install --quiet --no-deps ISLP
	nice -n 10 $(PY) benchmarks/tuning.py --jobs $(JOBS) $(ARGS)

benchmark-speed: $(VENV)/.installed
	$(PY) benchmarks/speed.py
