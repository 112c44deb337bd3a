# HolaOlas — `make run` serves the demo, `make test` runs the whole suite.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export LITESTAR_APP := app:create_app

.PHONY: run test bench install lint translations

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print('\n'.join(p['dependencies'] + p['optional-dependencies']['test']))" > $(VENV)/requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r $(VENV)/requirements.txt
	@touch $@

install: $(VENV)/.installed

run: install
	$(VENV)/bin/litestar db migrate
	$(VENV)/bin/litestar demo load --if-empty
	@echo "Serving on http://127.0.0.1:$(PORT)"
	$(VENV)/bin/litestar run --host 127.0.0.1 --port $(PORT)

test: install
	$(VENV)/bin/ruff check .
	$(PY) -m pytest $(PYTEST_ARGS)

bench: install
	$(PY) -m tests.bench

lint: install
	$(VENV)/bin/ruff check .

# Refresh the catalogs after adding strings: extract, then merge into fr/en/es (fill msgstr in locales/*).
translations: install
	$(VENV)/bin/pybabel extract -F babel.cfg --no-wrap --no-location --sort-output -k _ -k N_ -k gettext -k ngettext:1,2 -o locales/messages.pot .
	@for lang in fr en es; do \
	  if [ -f locales/$$lang/LC_MESSAGES/messages.po ]; then \
	    $(VENV)/bin/pybabel update --no-wrap --no-fuzzy-matching -i locales/messages.pot -d locales -l $$lang; \
	  else $(VENV)/bin/pybabel init -i locales/messages.pot -d locales -l $$lang; fi; done
