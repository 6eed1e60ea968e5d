# Kakanai Madoguchi — the one task runner. `make run` and `make test` do all their own set-up.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   := .venv
PY     := $(VENV)/bin/python
FLASK  := $(PY) -m flask --app app
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Runtime libraries: Pango/HarfBuzz for WeasyPrint (harfbuzz-subset keeps fonts small and
# PDFs fast), zbar for pyzbar, IPAex fonts for Japanese text, venv for a fresh Debian.
APT_RUN  := python3-venv libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 libzbar0 \
            fonts-ipaexfont
# Test-only: pdftotext/pdffonts/pdftoppm, the system Chromium for Playwright, PostgreSQL,
# redis-server for the multi-process live-update broker, nginx for the multi-process layout
# (`flask deploy nginx`). Packages are installed without starting them as system services
# (policy-rc.d): tests and benchmarks start their own, on loopback ports.
# pcscd and vsmartcard-vpcd (a virtual reader on TCP 35963) for the card tests: the tests
# start pcscd themselves (tests/card/conftest.py) and plug an emulated card into vpcd.
# coturn (turnserver) for the TURN test: tests/media/test_turn.py starts its own on
# 127.0.0.1 with a temporary configuration and stops it (docs/turn.md for production).
APT_TEST := poppler-utils chromium postgresql redis-server nginx-light pcscd vsmartcard-vpcd coturn
# pyscard (the card agent's PC/SC binding, in the test extra) has no Linux wheel: it
# builds against the PC/SC headers with swig.
APT_BUILD := swig libpcsclite-dev gcc

.PHONY: help setup setup-test run serve test test-pg lint bench clean

help:
	@echo "make run    — install what is missing, migrate, load demo data, serve on 127.0.0.1:5000"
	@echo "make test   — the same set-up plus test packages, then lint and the whole test suite"
	@echo "make serve  — production-style: one gunicorn process with threads"
	@echo "make bench  — run every benchmark under bench/ (one JSON line each)"

# Install Debian packages only when one is missing, so a repeated run does nothing.
define apt_ensure
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  hold=""; if [ ! -e /usr/sbin/policy-rc.d ]; then hold=1; \
	    printf '#!/bin/sh\nexit 101\n' | $(SUDO) tee /usr/sbin/policy-rc.d >/dev/null; \
	    $(SUDO) chmod +x /usr/sbin/policy-rc.d; fi; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	  rc=$$?; if [ -n "$$hold" ]; then $(SUDO) rm -f /usr/sbin/policy-rc.d; fi; exit $$rc; \
	fi
endef

$(VENV)/.installed: pyproject.toml
	$(call apt_ensure,$(APT_RUN) $(APT_BUILD))
	test -x $(PY) || python3 -m venv $(VENV)
	# A fresh venv carries the interpreter's bundled setuptools (65.5 on Debian 12), which has
	# known vulnerabilities fixed by 78.1.1 (CVE-2022-40897, CVE-2024-6345, CVE-2025-47273).
	$(PY) -m pip install -q --upgrade pip 'setuptools>=78.1.1'
	$(PY) -m pip install -q -e '.[test]'
	touch $@

setup: $(VENV)/.installed

setup-test: setup
	$(call apt_ensure,$(APT_TEST))

run: setup
	$(FLASK) db upgrade
	$(FLASK) demo load
	@echo "serving on http://127.0.0.1:5000 (plain http, so secure-only cookies are off for this demo)"
	KAKANAI_SESSION_COOKIE_SECURE=0 $(FLASK) run --host 127.0.0.1 --port 5000

serve: setup
	$(FLASK) db upgrade
	$(VENV)/bin/gunicorn -c python:app.gunicorn_conf --bind $${BIND:-127.0.0.1:8000} 'app:create_app()'

lint: setup
	$(VENV)/bin/ruff check app tests bench
	$(VENV)/bin/mypy app/engine app/scanning app/services

test: setup-test lint
	$(PY) -m pytest

# Every test but the browser ones, against the PostgreSQL named by DATABASE_URL (.ci/run).
test-pg: setup-test
	$(PY) -m pytest -m "not browser"

bench: setup-test
	@for b in bench/*.py; do echo "== $$b" >&2; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
