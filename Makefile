# unbox: top-level entry points. Every target installs what is missing, then builds build/unbox.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps configure build test demo bench bench-compare clean

all: build

deps:
	@scripts/install-deps

configure: deps
	@test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

demo: build
	@$(BUILD)/unbox demo

bench: build
	@$(BUILD)/unbox_bench --benchmark_counters_tabular=true

# unbox against PyTorch (Debian's torch with OpenBLAS), alternating, one thread: a Markdown table.
bench-compare: configure
	@cmake -S . -B $(BUILD) -DUNBOX_BUILD_BENCH=ON > /dev/null
	@cmake --build $(BUILD) -j $(JOBS) --target unbox_bench
	@env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/compare.py --build $(BUILD)

clean:
	rm -rf $(BUILD)
