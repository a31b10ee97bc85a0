# Gavel — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CONFIG ?=
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint typecheck unit ngircd chromium inspircd clean soak bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

# ngircd is the local IRC server for `make run` and the end-to-end tests.
ngircd:
	@if ! command -v ngircd >/dev/null 2>&1 && [ ! -x /usr/sbin/ngircd ]; then \
		echo "Installing ngircd from Debian's packages..."; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq ngircd >/dev/null; \
	fi

# Headless Chromium and its driver, for the web archive's browser tests.
chromium:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		echo "Installing chromium and chromium-driver from Debian's packages..."; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check bot tests bench
	$(BIN)/ruff format --check bot tests bench

typecheck: $(STAMP)
	$(BIN)/mypy --strict bot

unit: $(STAMP) ngircd chromium
	$(BIN)/pytest -q

test: lint typecheck unit

run: $(STAMP)
ifeq ($(CONFIG),)
	@$(MAKE) --no-print-directory ngircd
	$(BIN)/python -m bot.devrun
else
	$(BIN)/gavel run --config "$(CONFIG)"
endif

# The full reliability scenarios, bounded in time; writes their figures to docs/reliability.md.
soak: $(STAMP) ngircd
	$(BIN)/python -m bench.reliability --full --write docs/reliability.md

# Gavel against the strongest peer (hcoop-meetbot on Limnoria), side by side, on InspIRCd
# with its flood limits lifted, BENCH_RUNS times (medians); regenerates docs/benchmarks.md,
# docs/benchmarks.png and docs/benchmarks.json (every run's figures).
# bench/.venv (ignored by git) holds the peer, matplotlib and Gavel's runtime dependencies.
BENCH_VENV  := bench/.venv
BENCH_STAMP := $(BENCH_VENV)/.installed

$(BENCH_STAMP): bench/requirements.txt pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install -q -r bench/requirements.txt -e .
	touch $(BENCH_STAMP)

inspircd:
	@if [ ! -x /usr/sbin/inspircd ]; then \
		echo "Installing inspircd from Debian's packages..."; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq inspircd >/dev/null; \
	fi

BENCH_RUNS ?= 3

bench: $(BENCH_STAMP) inspircd
	$(BENCH_VENV)/bin/python -m bench.compare --runs $(BENCH_RUNS) --write docs/benchmarks.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
