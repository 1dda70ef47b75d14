PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# TEST_WORKERS=2 runs the test files on two workers (most tests wait on a broker or a
# clock more than they compute): faster, but on a 2-core machine the load can stall a
# consumer past the tests' 2 s Kafka session and a test then fails on the rebalance.
# 0, the default, runs them in this process, one after another.
TEST_WORKERS ?= 0
BENCH_ARGS ?=
BENCH_E2E_ARGS ?=

.PHONY: demo test lint soak bench dashboards clean

demo: $(STAMP)
	$(VENV)/bin/appeal dev --simulate 2

test: $(STAMP) lint
	$(VENV)/bin/python -m pytest -q -rs --durations=10 -m "not soak" -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# Longer fault and load runs: every service killed in turn under load, thousands of
# generated inputs. Needs APPEAL_TEST_POSTGRES_URL for the crash run.
soak: $(STAMP)
	APPEAL_SOAK=1 $(VENV)/bin/python -m pytest -q -rs -m soak $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check services shared tests deploy
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy deploy/grafana/dashboards.py

# The Grafana dashboards' JSON (deploy/grafana/dashboards/) is written by this script from
# code; edit the script, run this, commit both. tests/unit/test_dashboards.py checks they agree.
dashboards: $(STAMP)
	$(VENV)/bin/python deploy/grafana/dashboards.py

# The SLA firing loop: on PostgreSQL when APPEAL_DATABASE_URL or APPEAL_TEST_POSTGRES_URL
# names a server (a throwaway appeal_bench_* database there), always on a temporary
# SQLite file (`--database-url sqlite`). BENCH_ARGS passes options, e.g. --pending 200000.
# Then the whole system end to end, `appeal dev` on a broker of its own: always on SQLite,
# on PostgreSQL as well when those variables name a server. BENCH_E2E_ARGS passes its
# options, e.g. --cases 5000 --memory-cases 1000000. Between them, the CPU each consumer
# spends on a case's way to dispatch, without a broker.
bench: $(STAMP)
	@if [ -n "$$APPEAL_DATABASE_URL$$APPEAL_TEST_POSTGRES_URL" ]; then $(VENV)/bin/appeal bench sla $(BENCH_ARGS); fi
	$(VENV)/bin/appeal bench sla --database-url sqlite $(BENCH_ARGS)
	$(VENV)/bin/appeal bench consumers --database-url sqlite
	$(VENV)/bin/appeal bench e2e $(BENCH_E2E_ARGS)

# `appeal assets`: the API docs pages' scripts, pinned npm releases checked against their
# sha512 (shared/docs_assets.py), so /docs, /redoc and /asyncapi need no CDN.
$(STAMP): pyproject.toml shared/docs_assets.py
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -e '.[test,deploy]'
	$(VENV)/bin/appeal assets
	touch $@

clean:
	rm -rf $(VENV) .appeal .pytest_cache .hypothesis *.egg-info build dist
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
