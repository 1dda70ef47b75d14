PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: demo test clean

demo: $(STAMP)
	$(VENV)/bin/appeal dev --simulate 2

test: $(STAMP)
	$(VENV)/bin/python -m pytest -q $(PYTEST_ARGS)

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -e '.[test]'
	touch $@

clean:
	rm -rf $(VENV) .appeal .pytest_cache .hypothesis *.egg-info build dist
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
