# Two commands do all the set-up on a fresh machine (see README.md):
#   make book   build the site into _build/html (warnings are errors)
#   make test   lib unit tests, nbval over every notebook, the build, and a real-browser check
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := book

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMPS := .stamps
JOBS   ?= 2
# Small torch/numpy ops run faster on one thread on two cores, and it keeps parallel
# notebook runs from fighting over the cores. A notebook may raise it for itself.
export OMP_NUM_THREADS ?= 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1
# Notebooks and tests import this checkout's lib, even from a shared or older venv.
export PYTHONPATH := $(CURDIR)

BOOK_SOURCES := _config.yml _toc.yml requirements.txt \
	$(wildcard book/*.md book/*.ipynb lib/*.py lib/*/*.py tools/*.py tools/*.js tools/*.svg)

.PHONY: book test unit nbval browser bench chromium env clean
.DELETE_ON_ERROR:

## Python environment (pinned) with `lib` installed in editable mode.
$(STAMPS)/venv: requirements.txt pyproject.toml
	@mkdir -p $(STAMPS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

## Browser assets from npm (MathJax, require.js, the ipywidgets HTML manager), served by the site itself.
$(STAMPS)/npm: package.json package-lock.json
	@mkdir -p $(STAMPS)
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

$(STAMPS)/vendor: $(STAMPS)/npm $(STAMPS)/venv tools/vendor_assets.py tools/widgets-setup.js
	$(BIN)/python tools/vendor_assets.py node_modules _vendor
	touch $@

env: $(STAMPS)/venv $(STAMPS)/vendor

## The site. Re-running with nothing changed does nothing (the stamp is newer than every source).
_build/html/.built: $(STAMPS)/venv $(STAMPS)/vendor $(BOOK_SOURCES)
	$(BIN)/python tools/prepare_cache.py --jobs $(JOBS)
	@# A failed build (warnings are errors) drops Sphinx's saved environment, so that the next
	@# run re-reads every page and reports the same warnings instead of skipping unchanged pages.
	$(BIN)/jupyter-book build -W -n --keep-going . || { rm -rf _build/.doctrees; exit 1; }
	touch $@

book: _build/html/.built
	@echo "Book built. Open _build/html/index.html (or serve it: $(BIN)/python -m http.server -d _build/html)"

## Debian chromium for the browser check (never `playwright install`: it downloads a browser).
chromium:
	@command -v chromium >/dev/null || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }
	@chromium --version 2>/dev/null

unit: env
	$(BIN)/python -m pytest -n $(JOBS) -q tests

nbval: env
	$(BIN)/python -m pytest -n $(JOBS) --dist loadfile -q --nbval-lax --nbval-current-env \
	  --nbval-cell-timeout=300 book

browser: chromium book
	$(BIN)/python -m pytest -q -m browser tests/test_site_browser.py

test: env chromium
	$(MAKE) unit
	$(MAKE) nbval
	$(MAKE) book
	$(MAKE) browser

## Figures for the foundation's closing note: notebook times, page weights, build times.
bench: env
	$(BIN)/python tools/bench_book.py

clean:
	rm -rf _build _vendor $(STAMPS)
