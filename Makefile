# Credit Office Portal. Two commands do everything on a fresh machine:
#   make run    set up, migrate, load demo data the first time, serve on http://127.0.0.1:$(PORT)/
#   make test   set up and run the whole suite
PORT ?= 8000
WORKERS ?= 2
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VENDOR := portal/static/vendor
CATALOGS := $(wildcard portal/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGS:.po=.mo)

.PHONY: setup run test test-fast lint bench translations-extract clean

setup: $(VENV)/.installed $(VENDOR)/.installed $(COMPILED)

$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(VENDOR)/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx.min.js
	cp node_modules/@picocss/pico/css/pico.min.css $(VENDOR)/pico.min.css
	touch $@

portal/translations/%/LC_MESSAGES/messages.mo: portal/translations/%/LC_MESSAGES/messages.po $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -d portal/translations -l $*

run: setup
	$(BIN)/portal db upgrade
	$(BIN)/portal seed-demo
	@echo "Portal on http://127.0.0.1:$(PORT)/ (demo logins in README.md)"
	$(BIN)/gunicorn --workers $(WORKERS) --bind 127.0.0.1:$(PORT) --access-logfile - wsgi:app

test: setup
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m "not e2e"

lint: setup
	$(BIN)/ruff check .

bench: setup
	$(BIN)/python -m bench

# Refresh the catalogs after changing UI strings (then translate the new Hungarian entries).
translations-extract: setup
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_pgettext:1c,2 -o portal/translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i portal/translations/messages.pot -d portal/translations --no-fuzzy-matching

clean:
	rm -rf $(VENV) node_modules $(VENDOR) test-artifacts portal/translations/*/LC_MESSAGES/*.mo
