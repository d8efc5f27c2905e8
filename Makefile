# Two commands a newcomer needs (see README):  make demo   and   make test
PY := .venv/bin/python

.PHONY: setup demo test test-fast data clean

setup:
	bash scripts/setup_env.sh dev,farm,data

demo: setup
	$(PY) scripts/demo.py --out demo_out

test: setup
	$(PY) -m pytest -q tests

test-fast: setup
	$(PY) -m pytest -q -m "not slow" tests

# Sharp training/benchmark photos from Debian packages (~480 MB download once; needed for training and the
# 'full' benchmarks, not for the tests or the demo).
data: setup
	.venv/bin/fmanet-fetch-sources --groups photos,sprites,extra

clean:
	rm -rf demo_out .pytest_cache
