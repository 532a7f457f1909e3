# A thin wrapper around CMake.  `make demo` and `make test` are the README's
# quick start; both install missing Debian packages first.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
RECEIVER   ?= 0
WERROR     ?= $(if $(CI),ON,OFF)
CTEST_ARGS ?= --output-on-failure -j$(JOBS)

.PHONY: all deps build demo test test-normal test-asan test-fuzz bench fuzz soak \
        check-office install clean

all: build

deps:
	@scripts/install-deps

build: deps
	cmake -S . -B $(BUILD) -DSUF_WERROR=$(WERROR) >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

demo: build
	SUF_DEMO_RECEIVER=$(RECEIVER) scripts/demo $(BUILD)/suf

test: deps test-normal test-asan test-fuzz

test-normal:
	cmake -S . -B $(BUILD) -DSUF_WERROR=$(WERROR) >/dev/null
	cmake --build $(BUILD) -j$(JOBS)
	cd $(BUILD) && ctest $(CTEST_ARGS)

test-asan:
	cmake -S . -B $(ASAN_BUILD) -DSUF_WERROR=$(WERROR) -DSUF_SANITIZE=ON \
	  -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest $(CTEST_ARGS) -LE 'slow|bench'

test-fuzz:
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DSUF_FUZZ=ON -DSUF_WERROR=$(WERROR) >/dev/null
	cmake --build $(FUZZ_BUILD) -j$(JOBS)
	cd $(FUZZ_BUILD) && ctest $(CTEST_ARGS) -L fuzz

bench: build
	bench/run $(BUILD)

fuzz:
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DSUF_FUZZ=ON >/dev/null
	cmake --build $(FUZZ_BUILD) -j$(JOBS)
	SUF_FUZZ_SECONDS=$${SUF_FUZZ_SECONDS:-300} tests/fuzz/run-all $(FUZZ_BUILD)

soak: build
	cd $(BUILD) && SUF_SOAK=1 ctest $(CTEST_ARGS) -L soak

check-office: demo
	scripts/check-office

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
