# unbox: top-level entry points. Every target installs what is missing, then builds build/unbox.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

# Second build directory for the whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer (GCC).
SAN_BUILD ?= build-asan
SAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
# Leak checking is off: libhdf5 and protobuf keep global allocations until exit.
SAN_ENV = ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
FUZZ_SECONDS ?= 60
# Statistical tests that take minutes under ASan and run no code the rest of the suite does not
# run (large samples of the same training, maximization and study loops): left out of
# make sanitize, run in make test.
SAN_SKIP = StopStudy.Point750_1ReachesAuc09|Train.PaperNetworkLearnsTheProductToy|Maximize.ProductToyOutputPopulation|Caveman.ProductToyOutputVariable|Maximize.SameSeedSamePopulation|Maximize.PlausibilityTermIsReported

.PHONY: all deps configure build install-python test test-fast demo bench bench-compare bench-demo clean sanitize fuzz format format-check

all: build

deps:
	@scripts/install-deps

configure: deps
	@test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

# `import unbox` for Debian's /usr/bin/python3: copies build/python/unbox into the user's
# site-packages (python3 -m site --user-site); no pip, no network.
install-python: build
	@cmake --build $(BUILD) --target install-python

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The C++ unit tests only (label unit): no Python cross-checks, ONNX conformance, bad-input
# catalogue or fuzzing (labels python, conformance, integration, fuzz).
test-fast: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L unit

# The house style (.clang-format, Debian's clang-format 14) on every tracked C++ file.
FORMAT_FILES = $(shell git ls-files '*.cpp' '*.hpp')
format:
	@clang-format -i $(FORMAT_FILES)
format-check:
	@clang-format --dry-run --Werror $(FORMAT_FILES)

demo: build
	@$(BUILD)/unbox demo

bench: build
	@$(BUILD)/unbox_bench --benchmark_counters_tabular=true

# The demo's wall time per stage (the README's demo table): runs build/unbox demo once.
bench-demo: build
	@/usr/bin/python3 bench/demo_stages.py --build $(BUILD)

# unbox against PyTorch (Debian's torch with OpenBLAS), alternating, one thread: a Markdown table.
bench-compare: configure
	@cmake -S . -B $(BUILD) -DUNBOX_BUILD_BENCH=ON > /dev/null
	@cmake --build $(BUILD) -j $(JOBS) --target unbox_bench
	@env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/compare.py --build $(BUILD)

# The ctest suite under ASan+UBSan (RelWithDebInfo at -O1, without SAN_SKIP), in $(SAN_BUILD); the fuzz
# smoke run is left out there (its harnesses are built with ASan+UBSan by clang already).
sanitize: deps
	@test -f $(SAN_BUILD)/CMakeCache.txt || cmake -S . -B $(SAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DUNBOX_BUILD_BENCH=OFF -DUNBOX_PYTHON=OFF -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DCMAKE_CXX_FLAGS="$(SAN_FLAGS)" \
	  -DCMAKE_EXE_LINKER_FLAGS="$(SAN_FLAGS)" $(CMAKE_FLAGS)
	@cmake --build $(SAN_BUILD) -j $(JOBS)
	@cd $(SAN_BUILD) && $(SAN_ENV) ctest --output-on-failure -j $(JOBS) -LE fuzz -E '$(SAN_SKIP)'

# Each libFuzzer harness (fuzz/) for FUZZ_SECONDS; clang builds them in build-fuzz.
fuzz: deps
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

clean:
	rm -rf $(BUILD) $(SAN_BUILD) build-fuzz
