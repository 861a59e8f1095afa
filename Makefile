# 校务 (xiaowu) — two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV     := $(BIN)/uv
UV_VERSION := 0.13.8
# The PostgreSQL run of `make test` happens when DATABASE_URL points at PostgreSQL.
PG_URL := $(filter postgres%,$(DATABASE_URL))

.PHONY: demo serve install install-dev test lint typecheck test-sqlite test-postgres system-deps bench clean

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

## install: the locked runtime dependencies and xiaowu itself into .venv
install: $(UV)
	$(UV) pip install --python $(BIN)/python --quiet -r requirements/base.lock
	$(UV) pip install --python $(BIN)/python --quiet --no-deps -e .

install-dev: install
	$(UV) pip install --python $(BIN)/python --quiet -r requirements/dev.lock

## demo: install, migrate, load the demo district (if the database is empty) and serve on :8000
demo: install
	XIAOWU_INSECURE_HTTP=1 $(BIN)/xiaowu demo

serve: install
	XIAOWU_INSECURE_HTTP=1 $(BIN)/xiaowu serve

## system-deps: Debian's chromium (browser tests), LibreOffice + poppler (公文 PDF checks), CJK fonts
SYSTEM_PACKAGES := chromium libreoffice-writer-nogui poppler-utils fonts-noto-cjk fonts-arphic-ukai
system-deps:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages for the tests: $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

lint: install-dev
	$(BIN)/ruff check src tests conftest.py

typecheck: install-dev
	XIAOWU_INSECURE_HTTP=1 $(BIN)/mypy src conftest.py

test-sqlite: install-dev
	env -u DATABASE_URL XIAOWU_INSECURE_HTTP=1 $(BIN)/xiaowu makemigrations --check --dry-run
	env -u DATABASE_URL $(BIN)/pytest

test-postgres: install-dev
	@if [ -n "$(PG_URL)" ]; then \
	  echo "== pytest on PostgreSQL ($(PG_URL))"; \
	  DATABASE_URL="$(PG_URL)" $(BIN)/pytest --create-db; \
	else echo "== DATABASE_URL does not point at PostgreSQL: PostgreSQL run skipped"; fi

## test: ruff, mypy, the whole suite on SQLite, and again on PostgreSQL when DATABASE_URL says so
test: install-dev system-deps lint typecheck test-sqlite test-postgres

bench: install-dev
	XIAOWU_INSECURE_HTTP=1 $(BIN)/xiaowu bench import

clean:
	rm -rf $(VENV) var/test*.sqlite3*
