# The front door: every target is one step. See README.md.
.PHONY: install run test test-unit lint fmt bench seed up down clean

VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
SCALE ?= small

$(PY):
	python3.11 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(PY)
	$(BIN)/pip install --quiet -e '.[dev]'

run: install
	bash scripts/run.sh

test: install
	$(BIN)/pytest

test-unit: install
	$(BIN)/pytest tests/unit

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(PY) -m bench

seed: install
	$(PY) -m tools.demo_city --scale $(SCALE) --out var/demo/$(SCALE)

up:
	docker compose up -d --wait

down:
	docker compose down

clean:
	rm -rf var/*.db var/*.db-* var/mail var/logs
