# Trợ lý HCC — `make run` serves the bot at http://127.0.0.1:8000, `make test` runs the suite.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SYSTEM_STAMP := $(VENV)/.system-packages
DEBIAN_PACKAGES := chromium

# Python 3.10 (Rasa 3.6 supports Python < 3.11): python3.10 on PATH, else pyenv's.
PYTHON310 ?= $(shell command -v python3.10 2>/dev/null || ls -d $$HOME/.pyenv/versions/3.10*/bin/python3.10 2>/dev/null | tail -1)

export RASA_TELEMETRY_ENABLED := false

.PHONY: run test install system-packages bench clean

run: install
	$(BIN)/hcc kb demo
	$(BIN)/hcc train
	$(BIN)/hcc run

test: install
	$(BIN)/pytest -q $(PYTEST_ARGS)

install: $(STAMP) $(SYSTEM_STAMP)

$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON310)" ]; then \
	  if command -v pyenv >/dev/null; then pyenv install -s 3.10.13; else \
	  echo "Cần Python 3.10 (Rasa 3.6 chưa hỗ trợ 3.11): cài python3.10 hoặc pyenv rồi chạy lại."; exit 1; fi; \
	fi
	@test -x $(BIN)/python || $(or $(PYTHON310),$$HOME/.pyenv/versions/3.10.13/bin/python3.10) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $@

# Debian packages the tests need (headless Chromium for the browser tests).
$(SYSTEM_STAMP):
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi; \
	fi
	@mkdir -p $(VENV) && touch $@

bench: install
	$(BIN)/python bench/retrieval.py
	$(BIN)/python bench/nlu.py
	$(BIN)/python bench/conversation.py

clean:
	rm -rf $(VENV) var
