# Two commands do all the setup: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench index clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first and pinned: the local CPU build, never the multi-GB CUDA one.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev,qdrant]'
	touch $(STAMP)

index: $(STAMP)
	$(BIN)/steppe index build

run: index
	@if [ -n "$$TELEGRAM_BOT_TOKEN" ]; then $(BIN)/steppe bot; else \
	  echo "No TELEGRAM_BOT_TOKEN set: starting the terminal chat (same answers as the bot)."; \
	  $(BIN)/steppe chat; fi

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) var
