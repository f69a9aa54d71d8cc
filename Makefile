# Two commands for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck bench tables clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/llmpool-policy check --bounds policies/*.policy
	$(BIN)/python -m llmpool_policy demo
	@echo; echo "== dry run: an Azure production trace excerpt (CC-BY-4.0, see docs/examples/simulation/ATTRIBUTION.md)"
	$(BIN)/llmpool-policy import azure docs/examples/simulation/azure-conv-excerpt.csv > $(VENV)/azure-excerpt.jsonl
	$(BIN)/llmpool-policy simulate policies/default.policy --config docs/examples/simulation/config.json \
		--traffic $(VENV)/azure-excerpt.jsonl --scenario docs/examples/simulation/outage.json --seed 1 --no-progress
	@echo; echo "== what would change under cost-first.policy"
	$(BIN)/llmpool-policy diff policies/default.policy policies/cost-first.policy \
		--config docs/examples/simulation/config.json --traffic $(VENV)/azure-excerpt.jsonl --seed 1 --no-progress

lint: $(STAMP)
	$(BIN)/ruff check llmpool_policy tests bench
	$(BIN)/ruff format --check llmpool_policy tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/bench_parse_check.py
	$(BIN)/python bench/bench_config.py
	$(BIN)/python bench/bench_metrics.py
	$(BIN)/python bench/bench_decide.py --litellm
	$(BIN)/python -m pip install --quiet -e '.[dev,aiohttp]'  # (d) measures httpx-aiohttp too
	$(BIN)/python bench/bench_pool.py --litellm

# The parser's serialised LALR tables, after an edit to grammar/policy.lark (a test fails until
# they match it again).
tables: $(STAMP)
	$(BIN)/python -c "from llmpool_policy.syntax._parser import write_tables; print(write_tables())"

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
