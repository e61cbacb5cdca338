# Two commands do all the set-up (see README):
#   make run    install, train + index the default digits model if the workspace has none, serve
#   make test   install what the tests need, then run every test
#   make demo   install, train every model kind on digits (keeping those already there), serve
#               (a classroom's set: 4 minutes on 2 cores; not part of make test)
PYTHON ?= python3
VENV ?= .venv
WORKSPACE ?= workspace
HOST ?= 127.0.0.1
PORT ?= 8000
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: run demo test bench lint install install-test chromium

$(VENV)/bin/python:
	@$(PYTHON) -m venv --help >/dev/null 2>&1 || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv)
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) install "torch>=2.10" "torchvision>=0.25"
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) install -e ".[test,ray]"
	touch $@

# The browser tests drive Debian's Chromium through Playwright (never `playwright install`).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

run: $(VENV)/.installed
	$(PY) -m app run --workspace $(WORKSPACE) --host $(HOST) --port $(PORT)

demo: $(VENV)/.installed
	$(PY) -m app demo --workspace $(WORKSPACE) --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-test chromium
	$(PY) -m pytest

lint: $(VENV)/.installed-test
	$(PY) -m ruff check app models tests bench
	$(PY) -m mypy

bench: $(VENV)/.installed-test
	$(PY) -m bench
