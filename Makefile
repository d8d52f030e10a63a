# Thin wrapper over CMake presets (see README.md).
#   make run        install deps, build release, run the main job (short benchmark comparison)
#   make test       build debug and run the whole suite through CTest
#   make asan       the suite under AddressSanitizer + UBSan
#   make tsan       the concurrency suites under ThreadSanitizer
#   make install    install the release build (PREFIX=/usr/local)
JOBS ?= $(shell nproc)
PREFIX ?= /usr/local

.PHONY: all deps build run demo test asan tsan install clean format

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake --preset release >/dev/null
	@cmake --build build/release -j $(JOBS)

run: build
	@bash scripts/run-main-job.sh build/release

demo: build
	@./build/release/examples/strata_demo

test: deps
	@cmake --preset debug >/dev/null
	@cmake --build build/debug -j $(JOBS)
	@ctest --test-dir build/debug --output-on-failure -j $(JOBS)

asan: deps
	@cmake --preset asan-ubsan >/dev/null
	@cmake --build build/asan-ubsan -j $(JOBS)
	@STRATA_TEST_SCALE=0.25 ctest --test-dir build/asan-ubsan --output-on-failure -j $(JOBS)

tsan: deps
	@cmake --preset tsan >/dev/null
	@cmake --build build/tsan -j $(JOBS)
	@STRATA_TEST_SCALE=0.25 ctest --test-dir build/tsan --output-on-failure -j $(JOBS) -L 'mt|stress|unit_mem|unit_util|unit_db'

install: build
	@cmake --install build/release --prefix $(PREFIX)

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	@rm -rf build

# Long libFuzzer runs (clang): FUZZ_SECONDS per target, default 300.  See docs/TESTING.md.
FUZZ_SECONDS ?= 300
.PHONY: fuzz
fuzz:
	@bash fuzz/run.sh $(FUZZ_SECONDS)
