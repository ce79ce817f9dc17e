# pneumoflow: `make demo` runs the main job end to end (synthetic data -> shards -> augmentation
# -> training -> out-of-fold and test predictions -> threshold sweep -> submission.csv),
# `make test` runs the lint checks and the test suite.
# Both do all set-up on a fresh machine (Debian 12 + Rust toolchain + python3/pip).
SHELL := /bin/bash
CARGO ?= cargo
DEMO_DIR ?= demo-out
DEMO_SIZE ?= 256
DEMO_TRAIN ?= 500
DEMO_TEST ?= 24
BIN := target/release/pneumoflow

.PHONY: demo test lint libtorch build bench fmt clean-demo

libtorch:
	scripts/setup-libtorch.sh

build: libtorch
	$(CARGO) build --release --bins

demo: build
	rm -rf $(DEMO_DIR)
	$(BIN) synth --out $(DEMO_DIR)/siim --train $(DEMO_TRAIN) --test $(DEMO_TEST) --size $(DEMO_SIZE) --seed 7
	$(BIN) prep --input $(DEMO_DIR)/siim --out $(DEMO_DIR)/shards --n-folds 5 --seed 7 --size $(DEMO_SIZE) --shard-records 32
	$(BIN) inspect $(DEMO_DIR)/shards --verify
	$(BIN) augment --shards $(DEMO_DIR)/shards --transforms pipelines/demo.toml --preview $(DEMO_DIR)/augment-preview.png --count 16
	$(BIN) augment --shards $(DEMO_DIR)/shards --transforms pipelines/demo.toml --out $(DEMO_DIR)/augmented --copies 2 --shard-records 64
	$(BIN) inspect $(DEMO_DIR)/augmented --verify
	$(BIN) model summary --model albunet --size $(DEMO_SIZE)
	$(BIN) train pipelines/demo.toml --set data.shards=$(DEMO_DIR)/shards --run-dir $(DEMO_DIR)/run
	$(BIN) predict pipelines/demo.toml --set data.shards=$(DEMO_DIR)/shards --run-dir $(DEMO_DIR)/run
	$(BIN) sweep --predictions $(DEMO_DIR)/run/predictions/valid-top --grid pipelines/grids/sweep_grid.toml --out $(DEMO_DIR)/run/sweep
	$(BIN) submit pipelines/demo.toml --run-dir $(DEMO_DIR)/run

# The shape checks CI enforces: formatting, clippy without warnings, one-way layer dependencies.
lint: libtorch
	$(CARGO) fmt --all -- --check
	scripts/check-layers.sh
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test: lint
	$(CARGO) test --workspace --no-fail-fast

bench: libtorch
	$(CARGO) bench

fmt:
	$(CARGO) fmt --all
