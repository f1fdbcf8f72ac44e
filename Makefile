# The front door: every target is one step. See README.md.
.PHONY: install run cluster test test-unit lint fmt bench chaos seed up down clean i18n

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

# The same on three RabbitMQ nodes (quorum queues) behind HAProxy, with two gateway replicas.
cluster: install
	CLUSTER=1 bash scripts/run.sh

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

chaos: install
	$(PY) -m chaos

seed: install
	$(PY) -m tools.demo_city --scale $(SCALE) --out var/demo/$(SCALE)

# The portal's catalogue: extract every string, merge into vi/messages.po, compile the .mo
# (the .mo is committed beside its .po; tests/e2e/test_portal_i18n.py checks they agree).
I18N := gateway/portal/translations
i18n: install
	$(BIN)/pybabel extract -F gateway/portal/babel.cfg -k lazy -o $(I18N)/messages.pot \
		--no-location --sort-output --omit-header gateway/portal
	$(BIN)/pybabel update -i $(I18N)/messages.pot -d $(I18N) -l vi --width 100 \
		--no-fuzzy-matching --ignore-obsolete --ignore-pot-creation-date
	$(BIN)/pybabel compile -d $(I18N) --statistics

up:
	docker compose up -d --wait

down:
	docker compose down

clean:
	rm -rf var/*.db var/*.db-* var/mail var/logs
