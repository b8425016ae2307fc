# podwall — top-level GNU Makefile.
# Everything generated goes under $(B) (build/ by default); sources are found
# by wildcard, so adding a file to daemon/, ctl/, bpf/ or tests/ needs no edit
# here.

B ?= build
PREFIX ?= /usr/local
DESTDIR ?=

CC ?= gcc
BPF_CLANG ?= clang
BPFTOOL ?= bpftool
CLANG_FORMAT ?= clang-format
CPPCHECK ?= cppcheck

BASE_VERSION := 0.1.0
GIT_DESC := $(shell git describe --tags --always --dirty 2>/dev/null)
ifeq ($(GIT_DESC),)
VERSION := $(BASE_VERSION)
else ifneq ($(filter v%,$(GIT_DESC)),)
VERSION := $(patsubst v%,%,$(GIT_DESC))
else
VERSION := $(BASE_VERSION)-g$(GIT_DESC)
endif

PKGS := libbpf libnl-3.0 libnl-route-3.0 jansson yaml-0.1
# Evaluated lazily and only once: `make test` must be able to parse this file
# before scripts/deps.sh has installed pkg-config and the -dev packages.
PKG_CFLAGS = $(eval PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS)))$(PKG_CFLAGS)
PKG_LIBS = $(eval PKG_LIBS := $(shell pkg-config --libs $(PKGS)))$(PKG_LIBS)

CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -I include -I $(B)/skel -D_GNU_SOURCE
CFLAGS += $(PKG_CFLAGS) $(EXTRA_CFLAGS)
DEPFLAGS = -MMD -MP
LDLIBS += $(PKG_LIBS) -lelf -lz -lcap
LDFLAGS += $(EXTRA_LDFLAGS)

BPF_CFLAGS := -target bpf -O2 -g -D__TARGET_ARCH_x86 -I include -I bpf \
	-I /usr/include/x86_64-linux-gnu -Wall -Werror

# ---- sources -------------------------------------------------------------
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_NAMES := $(patsubst bpf/%.bpf.c,%,$(BPF_SRCS))
BPF_OBJS := $(patsubst %,$(B)/bpf/%.bpf.o,$(BPF_NAMES))
SKELS := $(patsubst %,$(B)/skel/%.skel.h,$(BPF_NAMES))

LIB_SRCS := $(filter-out daemon/main.c,$(wildcard daemon/*.c))
LIB_OBJS := $(patsubst %.c,$(B)/%.o,$(LIB_SRCS))
LIB := $(B)/libpodwall.a
DAEMON_OBJS := $(B)/daemon/main.o
CTL_OBJS := $(patsubst %.c,$(B)/%.o,$(wildcard ctl/*.c))
BINS := $(B)/podwalld $(B)/podwallctl

UNIT_TESTS := $(patsubst tests/unit/%.c,$(B)/tests/unit/%,$(wildcard tests/unit/test_*.c))
BPF_TESTS := $(patsubst tests/bpf/%.c,$(B)/tests/bpf/%,$(wildcard tests/bpf/test_*.c))
TOOLS := $(patsubst tests/e2e/tools/%.c,$(B)/tests/tools/%,$(wildcard tests/e2e/tools/*.c))

ALL_OBJS := $(LIB_OBJS) $(DAEMON_OBJS) $(CTL_OBJS)
DEPS := $(ALL_OBJS:.o=.d) $(BPF_OBJS:.o=.d) $(UNIT_TESTS:=.d) $(BPF_TESTS:=.d) $(TOOLS:=.d)

FORMAT_FILES = $(shell find bpf daemon ctl include tests -name '*.[ch]' 2>/dev/null)

.PHONY: all bpf tests unit-tests bpf-tests tools test test-unit test-bpf test-e2e \
	asan format format-check lint demo bench conformance install clean deps fuzz FORCE
.DELETE_ON_ERROR:

all: $(BPF_OBJS) $(SKELS) $(BINS)

bpf: $(BPF_OBJS) $(SKELS)
unit-tests: $(UNIT_TESTS)
bpf-tests: $(BPF_TESTS) $(BPF_OBJS)
tools: $(TOOLS)
BENCH_TOOLS := $(patsubst bench/%.c,$(B)/bench/%,$(wildcard bench/*.c))
tests: unit-tests bpf-tests tools $(BENCH_TOOLS)

# ---- BPF objects and skeletons --------------------------------------------
$(B)/bpf/%.bpf.o: bpf/%.bpf.c | $(B)/bpf
	$(BPF_CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(B)/skel/%.skel.h: $(B)/bpf/%.bpf.o | $(B)/skel
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) > $@

# ---- user space -----------------------------------------------------------
# Version string; the stamp is rewritten only when the version changes, so
# version.o is rebuilt only then.
$(B)/version.stamp: FORCE | $(B)
	@echo '$(VERSION)' | cmp -s - $@ || echo '$(VERSION)' > $@

$(B)/daemon/version.o: $(B)/version.stamp
$(B)/daemon/version.o: CFLAGS += -DPODWALL_VERSION='"$(VERSION)"'

# Every C object waits for all skeletons: a source may include any of them.
$(B)/%.o: %.c | $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

$(B)/podwalld: $(DAEMON_OBJS) $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(B)/podwallctl: $(CTL_OBJS) $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# ---- tests ----------------------------------------------------------------
# Tests see the library's internal headers (daemon/*.h) too.
TEST_CFLAGS := -I daemon

$(B)/tests/unit/%: tests/unit/%.c $(LIB) | $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(TEST_CFLAGS) $(DEPFLAGS) $(LDFLAGS) $< $(LIB) -lcmocka $(LDLIBS) -o $@

$(B)/tests/bpf/%: tests/bpf/%.c $(LIB) | $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(TEST_CFLAGS) $(DEPFLAGS) $(LDFLAGS) $< $(LIB) -lcmocka $(LDLIBS) -o $@

$(B)/tests/tools/%: tests/e2e/tools/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEPFLAGS) $(LDFLAGS) $< -o $@

# compile benchmark (engine): parse + compile time and peak RSS by pod count
$(B)/bench/compile_bench: bench/compile_bench.c $(LIB) | $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(TEST_CFLAGS) $(DEPFLAGS) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

# random lab scenarios + the reference evaluator (make conformance)
$(B)/bench/conf_random: bench/conf_random.c tests/unit/gen.c tests/unit/refeval.c $(LIB) | $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(TEST_CFLAGS) $(DEPFLAGS) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

# parser + compiler fuzzing (libFuzzer); only the engine's sources
FUZZ_SECONDS ?= 60
FUZZ_SRCS := daemon/diag.c daemon/model.c daemon/policy_parse.c daemon/policy_compile.c daemon/eval.c
$(B)/fuzz/fuzz_policy: fuzz/fuzz_policy.c $(FUZZ_SRCS)
	@mkdir -p $(@D)
	$(BPF_CLANG) -g -O1 -std=gnu11 -Wall -Werror -fsanitize=fuzzer,address,undefined \
		-I include -I daemon -D_GNU_SOURCE $^ -lyaml -o $@

fuzz: $(B)/fuzz/fuzz_policy
	@mkdir -p $(B)/fuzz/corpus
	$(B)/fuzz/fuzz_policy -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 \
		-rss_limit_mb=2048 $(B)/fuzz/corpus tests/data/fuzz

# other benchmarks (datapath): self-contained programs
$(B)/bench/%: bench/%.c | $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEPFLAGS) $(LDFLAGS) $< $(LDLIBS) -lm -o $@

$(B) $(B)/bpf $(B)/skel:
	@mkdir -p $@

deps:
	@scripts/deps.sh

test-unit: unit-tests
	@BUILD_DIR=$(B) tests/run.sh unit

test-bpf: bpf-tests
	@BUILD_DIR=$(B) tests/run.sh bpf

test-e2e: all tools
	@BUILD_DIR=$(B) tests/run.sh e2e

# `make test` installs missing packages first, then re-enters make so that
# pkg-config flags are computed with the packages present.
test:
	@scripts/deps.sh
	@$(MAKE) --no-print-directory all tests
	@BUILD_DIR=$(B) tests/run.sh unit bpf e2e

asan:
	@scripts/deps.sh
	@$(MAKE) --no-print-directory B=build-asan \
		EXTRA_CFLAGS='-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all' \
		EXTRA_LDFLAGS='-fsanitize=address,undefined' all unit-tests
	@BUILD_DIR=build-asan ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 tests/run.sh unit

# ---- housekeeping ---------------------------------------------------------
format:
	$(CLANG_FORMAT) -i $(FORMAT_FILES)

format-check:
	$(CLANG_FORMAT) --dry-run --Werror $(FORMAT_FILES)

lint:
	$(CPPCHECK) --error-exitcode=1 --enable=warning,portability --inline-suppr -q \
		--library=scripts/cppcheck.cfg -I include -D_GNU_SOURCE daemon ctl

demo:
	@scripts/deps.sh
	@$(MAKE) --no-print-directory all tools
	@BUILD_DIR=$(B) scripts/demo.sh

bench:
	@scripts/deps.sh
	@$(MAKE) --no-print-directory all tests
	@if [ -x scripts/bench.sh ]; then BUILD_DIR=$(B) scripts/bench.sh; \
	else echo "bench: scripts/bench.sh not present"; fi

SEEDS ?= 20
conformance:
	@scripts/deps.sh
	@$(MAKE) --no-print-directory all tests
	@SEEDS=$(SEEDS) scripts/conformance.sh

install: $(BINS)
	install -d $(DESTDIR)$(PREFIX)/sbin
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/sbin/
	@if ls docs/man/*.8 >/dev/null 2>&1; then \
		install -d $(DESTDIR)$(PREFIX)/share/man/man8 && \
		install -m 0644 docs/man/*.8 $(DESTDIR)$(PREFIX)/share/man/man8/; fi
	@if [ -f packaging/podwalld.service ]; then \
		install -d $(DESTDIR)$(PREFIX)/lib/systemd/system && \
		install -m 0644 packaging/podwalld.service $(DESTDIR)$(PREFIX)/lib/systemd/system/; fi

clean:
	rm -rf build build-asan

FORCE:

-include $(DEPS)
