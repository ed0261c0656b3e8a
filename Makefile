# Supportdesk: `make demo` serves the product on embedded defaults; `make test` runs the whole suite
# on throwaway Postgres and Redis. Both work on a fresh Debian machine (run as root, or with sudo).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
HOST ?= 127.0.0.1
APT := $(shell [ "$$(id -u)" = 0 ] && echo apt-get || echo sudo apt-get)

# README screenshots from the demo data (scripts/screenshots.py): docs/screenshots/*.png
screenshots: system-deps install-test
	$(PY) scripts/screenshots.py

.PHONY: messages screenshots demo serve install install-test system-deps test test-fast lint format sweep clean bench bench-quick

$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

demo: install messages
	@mkdir -p var/staticfiles
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo
	$(PY) manage.py serve --host $(HOST) --port $(PORT)

serve: install messages
	$(PY) manage.py serve --host $(HOST) --port $(PORT)

# apt-get only what is missing: Postgres server binaries, Redis, Chromium for the browser tests and
# Dovecot (a real IMAP server for the mailbox tests).
system-deps:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v msgfmt >/dev/null || missing="$$missing gettext"; \
	[ -x /usr/sbin/dovecot ] && [ -e /usr/lib/dovecot/imap ] || missing="$$missing dovecot-imapd"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing:$$missing"; \
	  $(APT) update -qq && DEBIAN_FRONTEND=noninteractive $(APT) install -y -qq $$missing >/dev/null; \
	fi

# Translations: locale/<lang>/LC_MESSAGES/django.po are committed, the .mo files are compiled here
# (GNU gettext's msgfmt, installed when missing) so a fresh clone speaks Spanish and German.
messages: install
	@command -v msgfmt >/dev/null || { $(APT) update -qq && DEBIAN_FRONTEND=noninteractive $(APT) install -y -qq gettext >/dev/null; }
	$(PY) manage.py compilemessages --ignore=.venv --ignore=var -v 0

# axe-core (accessibility rules) from the npm registry, injected into pages by the browser tests.
AXE := var/npm/node_modules/axe-core/axe.min.js
$(AXE):
	@command -v npm >/dev/null || { $(APT) update -qq && DEBIAN_FRONTEND=noninteractive $(APT) install -y -qq nodejs npm >/dev/null; }
	npm install --silent --no-audit --no-fund --prefix var/npm axe-core@4.14.1

test: system-deps install-test messages $(AXE)
	# Celery tasks run in-process in the test process; tests that need a real worker start one.
	SUPPORTDESK_AXE_JS=$(abspath $(AXE)) SUPPORTDESK_CELERY_EAGER=true $(PY) scripts/services.py run -- $(PY) -m pytest $(PYTEST_ARGS)

# Benchmarks (bench/): each provisions its own throwaway Postgres, Redis, daphne and workers,
# prints a table and writes JSON to bench/results/. BENCH_ONLY=chat,pages runs a subset.
bench: system-deps install-test
	$(PY) -m bench.run $(if $(BENCH_ONLY),--only $(BENCH_ONLY))

bench-quick: system-deps install-test
	$(PY) -m bench.run --quick $(if $(BENCH_ONLY),--only $(BENCH_ONLY))

lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) scripts/import_graph.py --modules
	$(VENV)/bin/mypy
	$(PY) scripts/long_functions.py

format: install-test
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

sweep: install
	$(PY) manage.py sweep

clean:
	rm -rf $(VENV) var *.egg-info
