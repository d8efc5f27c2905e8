# Two commands a newcomer needs (see README):  make demo   and   make test
PY := .venv/bin/python

.PHONY: setup demo test test-fast clean

setup:
	bash scripts/setup_env.sh dev,farm

demo: setup
	$(PY) scripts/demo.py --out demo_out

test: setup
	$(PY) -m pytest -q tests

test-fast: setup
	$(PY) -m pytest -q -m "not slow" tests

clean:
	rm -rf demo_out .pytest_cache
