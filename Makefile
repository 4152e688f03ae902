# cansite: `make demo` runs the demo site, `make lint` the linters, `make test` both of those checks and the
# whole suite. All build .venv first.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
SQLITE_URL ?= sqlite:///$(CURDIR)/var/test-run.sqlite3
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/cansite
REDIS_TEST_URL ?= redis://127.0.0.1:6379/15
PORT ?= 8000
PYTEST_ARGS ?=

export REDIS_TEST_URL

.PHONY: demo lint test test-sqlite test-postgres migrations-check browser bench venv clean messages extract-messages

venv: $(VENV)/.installed messages  # the compiled catalogues too: whatever needs .venv serves or tests pages

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	@touch $@

# Translations (README "Languages"): the catalogues locale/<code>/LC_MESSAGES/*.po compiled to the .mo files
# Django reads (build outputs, not committed). msgfmt --check refuses a broken entry or a placeholder the
# translation lost; each .mo appears only when complete. Every path that serves or tests pages needs them.
MO_FILES := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/*.po))
TRANSLATIONS ?= ko es  # settings.LANGUAGES but English, the language the sources are written in
messages: $(MO_FILES)

locale/%.mo: locale/%.po
	msgfmt --check -o $@.tmp $< && mv $@.tmp $@

# After marking new strings: add them to the catalogues (then translate them; the i18n test fails on an
# empty or fuzzy entry). Source folders only: not the virtual environment, var/ or the tests.
extract-messages: venv
	$(PY) manage.py makemessages --no-obsolete --no-wrap --add-location file $(addprefix -l ,$(TRANSLATIONS)) \
		-i '.venv/*' -i 'var/*' -i 'tests/*' -i 'bench/*'

# The demo serves with DEBUG off (LOCAL_SITE: see cansite/settings.py), so that no request shows a
# traceback, the settings or the URL patterns, and /media/ is no URL.
demo: export DEBUG := false
demo: export LOCAL_SITE := true
demo: venv
	$(PY) manage.py migrate --no-input
	$(PY) manage.py demo
	$(PY) manage.py collectstatic --no-input -v0
	@echo "Serving on http://127.0.0.1:$(PORT)/ (Ctrl-C to stop)"
	$(PY) manage.py runserver --noreload 127.0.0.1:$(PORT)

# Lint and import order (ruff), types of the pure packages (mypy), which way imports run (import-linter):
# all three read pyproject.toml. A wrong arrow fails here, before a test runs.
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	PYTHONPATH=$(CURDIR) $(VENV)/bin/lint-imports

# The linters, then everything on SQLite, then the database tests again on PostgreSQL (the pure ML tests once).
test: venv lint browser migrations-check test-sqlite test-postgres

# Browser tests drive Debian's headless Chromium (never a browser downloaded by a test tool).
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		{ echo "installing Debian's chromium and chromium-driver"; \
		  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }

# Models and migrations agree: a model change without its migration fails the suite.
migrations-check: venv
	@mkdir -p var
	DATABASE_URL=sqlite:///$(CURDIR)/var/migrations-check.sqlite3 $(PY) manage.py makemigrations --check --dry-run

test-sqlite: venv
	@mkdir -p var
	DATABASE_URL=$(SQLITE_URL) $(PY) -m pytest $(PYTEST_ARGS)

test-postgres: venv
	DATABASE_URL=$(POSTGRES_URL) $(PY) -m pytest --ignore=tests/gan --ignore=tests/cnn --ignore=generator/gan \
		--ignore=classifier/cnn --ignore=common $(PYTEST_ARGS)

bench: venv
	$(PY) bench/import_bench.py
	$(PY) bench/download_bench.py
	$(PY) bench/seed_pages_bench.py
	$(PY) bench/turing_load.py

clean:
	rm -rf var/test-run.sqlite3* .pytest_cache
