PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: demo test lint bench clean

demo: $(STAMP)
	$(VENV)/bin/appeal dev --simulate 2

test: $(STAMP) lint
	$(VENV)/bin/python -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check services shared tests

# The SLA firing loop: on PostgreSQL when APPEAL_DATABASE_URL or APPEAL_TEST_POSTGRES_URL
# names a server (a throwaway appeal_bench_* database there), always on a temporary
# SQLite file (`--database-url sqlite`). BENCH_ARGS passes options, e.g. --pending 200000.
bench: $(STAMP)
	@if [ -n "$$APPEAL_DATABASE_URL$$APPEAL_TEST_POSTGRES_URL" ]; then $(VENV)/bin/appeal bench sla $(BENCH_ARGS); fi
	$(VENV)/bin/appeal bench sla --database-url sqlite $(BENCH_ARGS)

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -e '.[test]'
	touch $@

clean:
	rm -rf $(VENV) .appeal .pytest_cache .hypothesis *.egg-info build dist
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
