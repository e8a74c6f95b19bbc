# printwatch — set-up, tests and demo. Each target installs what it needs on a fresh machine:
# a virtual environment, the package with its extras (which builds the Rust core once, in
# release mode), and the Debian packages the real-peer tests use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-printwatch
RUST_SOURCES := Cargo.toml $(shell find rust/src -name '*.rs' 2>/dev/null)
# chromium: the dashboard's browser tests (Playwright drives Debian's build; no browser download).
APT_PACKAGES := snmpd snmp fping nftables chromium iproute2 tinyproxy faketime postgresql
BENCH_APT_PACKAGES := prometheus-snmp-exporter
BENCH_STAMP := $(VENV)/.installed-printwatch-bench
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo check test test-rust test-python test-dates lint bench bench-extra bench-deps fuzz fuzz-v3 system-deps install clean

# The appliance on embedded defaults: simulated printers, scheduled polling, /health and /metrics
# on http://127.0.0.1:8080. DEMO_ARGS, e.g. `make demo DEMO_ARGS="--duration 60 --count 1000"`.
demo: install
	$(BIN)/printwatch selfcheck --seconds 0.1
	$(BIN)/printwatch demo $(DEMO_ARGS)

test: install system-deps bench-extra lint test-rust test-python test-dates

# The quick check before a commit, with no Debian package: ruff, mypy, cargo fmt and the unit
# tests (no real peer, nothing paced by the wall clock, nothing slow; bench/ and clippy are left
# to make test). About 100 s of CPU once installed (docs/development.md); `make test` is the full run.
check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	cargo fmt --check
	$(BIN)/python -m pytest -q -n auto -m "not real and not realtime and not slow" --hypothesis-profile=check tests

install: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml $(RUST_SOURCES)
	$(BIN)/pip install --quiet --editable '.[test]'
	touch $@

# net-snmp's agent and command-line tools are the real peers of tests/real/; fping is the
# discovery bench's ICMP peer; nftables drops ICMP in the discovery tests' network namespace;
# chromium runs the dashboard's browser tests; iproute2 makes the network namespaces; tinyproxy
# is the real HTTP proxy (CONNECT) of the uplink's tests; faketime moves the clock of the
# date-touching tests (make test-dates); postgresql is the collector's second backend in its tests
# (tests/support/postgres.py: initdb in a temporary folder, a server per session).
system-deps:
	@if ! command -v snmpd >/dev/null || ! command -v snmpbulkwalk >/dev/null \
		|| ! command -v fping >/dev/null || ! command -v nft >/dev/null \
		|| ! command -v chromium >/dev/null || ! command -v ip >/dev/null || ! command -v tinyproxy >/dev/null \
		|| ! command -v faketime >/dev/null || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		echo "installing Debian packages: $(APT_PACKAGES)"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(APT_PACKAGES); \
	fi

# cargo-deny checks the Rust dependency tree's licenses, bans and sources (deny.toml); it is
# installed from crates.io the first time (a one-time build of a few minutes).
lint: install
	cargo fmt --check
	cargo clippy --quiet --all-targets --features python -- -D warnings
	@cargo deny --version >/dev/null 2>&1 || cargo install --locked cargo-deny
	cargo deny check licenses bans sources
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m mypy.stubtest printwatch._core

test-rust:
	cargo test --quiet

test-python: install system-deps bench-extra
	$(BIN)/python -m pytest -q

# The tests that touch dates again at three dates drawn at random (printed, with the seed to
# replay them: DATES_ARGS="--seed N" or DATES_ARGS="--date '2028-02-29 23:58:00'").
test-dates: install system-deps
	$(BIN)/python .ci/dates.py $(DATES_ARGS)

# The poll-cycle bench's Python peers (the `bench` extra: ezsnmp); `make test` smoke-tests them.
# Only the extra's requirements (from pyproject.toml): reinstalling the package would rebuild the Rust core.
bench-extra: install
	@if [ ! -f $(BENCH_STAMP) ] || [ pyproject.toml -nt $(BENCH_STAMP) ]; then \
		$(BIN)/python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['bench']))" \
			| xargs $(BIN)/pip install --quiet && touch $(BENCH_STAMP); \
	fi

# ... and Debian's prometheus-snmp-exporter, which only `make bench` runs.
bench-deps: bench-extra
	@if ! command -v prometheus-snmp-exporter >/dev/null; then \
		echo "installing Debian packages: $(BENCH_APT_PACKAGES)"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(BENCH_APT_PACKAGES); \
	fi

bench: install system-deps bench-deps
	$(BIN)/python -m pytest -q bench --benchmark-enable
	$(BIN)/python bench/codec_ratio.py
	cargo run --quiet --release --example codec_rate
	$(BIN)/python bench/poll_cycle.py $(POLL_CYCLE_ARGS)
	$(BIN)/python bench/v3_cycle.py $(V3_CYCLE_ARGS)
	$(BIN)/python bench/uplink_bytes.py $(UPLINK_BYTES_ARGS)
	$(BIN)/python bench/dashboard_fleet.py --results bench/results/dashboard_latest.json
	$(BIN)/python bench/report.py

fuzz:
	mkdir -p rust/fuzz/corpus/decode
	cp rust/tests/captures/*.bin rust/fuzz/corpus/decode/
	RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir rust/fuzz decode rust/fuzz/corpus/decode -- -max_total_time=$${FUZZ_SECONDS:-600}

# The SNMPv3 path (v3 decoder, USM authentication and decryption, the simulator's v3 side).
fuzz-v3:
	cargo test --quiet --test v3_malformed -- --ignored write_fuzz_seeds
	RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir rust/fuzz decode_v3 rust/fuzz/corpus/decode_v3 -- -max_total_time=$${FUZZ_SECONDS:-600}

clean:
	rm -rf $(VENV) target rust/fuzz/target .pytest_cache .hypothesis .benchmarks
