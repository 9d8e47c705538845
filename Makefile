# trainwell — common commands. `make help` lists them.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
EXTRAS ?= tabular,tune,vision,export,serve,distributed,scaffold,torchfix,dev
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha256sum | cut -c1-12)

.DEFAULT_GOAL := help
.PHONY: help install run test test-fast lint format bench clean mlflow-ui

help: ## list the commands
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[$(EXTRAS)]"
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install trainwell with pinned dependencies (once)

run: install ## train the built-in default experiment and print a summary
	$(BIN)/trainwell train

test: install ## run the whole test suite (slow end-to-end tests included)
	$(BIN)/python -m pytest

test-fast: install ## run the tests that are not marked slow
	$(BIN)/python -m pytest -m "not slow"

lint: install ## ruff and mypy --strict on src (and ruff on tests)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy

format: install ## format the code with ruff
	$(BIN)/ruff format src tests benchmarks scripts
	$(BIN)/ruff check --fix src tests benchmarks scripts

bench: install ## run the benchmark scripts and print their ratios
	$(BIN)/python benchmarks/bench_cli.py
	$(BIN)/python benchmarks/bench_auto.py
	$(BIN)/python benchmarks/bench_image_loop.py --model small-cnn --images 2000
	$(BIN)/python benchmarks/bench_export.py
	$(BIN)/python benchmarks/bench_serve.py

mlflow-ui: install ## open the MLflow UI on the local store
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/mlruns/mlflow.db

clean: ## remove caches and outputs (keeps .venv)
	rm -rf .pytest_cache .mypy_cache .ruff_cache .trainwell_cache outputs/* models/*
