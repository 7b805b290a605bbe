# cgoprof build. `make` builds build/cgoprof; `make check` installs what is
# missing, builds and runs every test; `make demo` profiles a bundled program.
CC      ?= cc
SANITIZE ?=
ifeq ($(SANITIZE),)
BUILD   := build
SANFLAGS :=
else
BUILD   := build-san
SANFLAGS := -fsanitize=$(SANITIZE) -fno-sanitize-recover=all \
	    -fno-omit-frame-pointer
endif

PKGS    := libdw libelf zlib libbpf liblzma
# CFLAGS is the user's (make CFLAGS=-O0); what the project needs is in
# CGOPROF_CFLAGS and always applies. fuzz/fuzz.mk reuses both lists below.
CFLAGS  ?= -O2 -g
WARNFLAGS := -Wall -Wextra -Wformat=2 -Wstrict-prototypes \
	   -Wmissing-prototypes -Wvla -Wwrite-strings
CGOPROF_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARNFLAGS) -Werror -fno-common \
	   -MMD -MP -Iinclude $(SANFLAGS) \
	   $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -ldw -lelf -lz -lbpf -llzma) \
	   -ldl -lunwind-x86_64 -lunwind -lm -lpthread
LDFLAGS += $(SANFLAGS)

# The layers, bottom up: base/ (log, /proc readers, the profile model, hash
# tables), symbolizer/, profiler/, export/, cli/; a file includes headers of
# its own layer or below. The library is every layer but the command line,
# which only the cgoprof binary links.
LIB_SRCS := $(filter-out %.bpf.c,$(wildcard base/*.c symbolizer/*.c \
	    profiler/*.c export/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
CLI_SRCS := $(wildcard cli/*.c)
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

all: $(BUILD)/cgoprof

# `cgoprof --version`: the commit of a git checkout ("unknown" outside one);
# cli/version.o is rebuilt when it changes
CGOPROF_VERSION := 0.1
CGOPROF_GIT := $(shell [ -e .git ] && git describe --always --dirty 2>/dev/null || echo unknown)
$(BUILD)/git-version: FORCE
	@mkdir -p $(dir $@)
	@echo '$(CGOPROF_GIT)' | cmp -s - $@ || echo '$(CGOPROF_GIT)' > $@
$(BUILD)/cli/version.o: $(BUILD)/git-version
$(BUILD)/cli/version.o: CGOPROF_CFLAGS += -DCGOPROF_VERSION='"$(CGOPROF_VERSION)"' \
	-DCGOPROF_GIT='"$(CGOPROF_GIT)"'
FORCE:

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CGOPROF_CFLAGS) $(CFLAGS) -c -o $@ $<

# The BPF programs (profiler/gosnap.bpf.c: goroutine snapshots;
# profiler/execwatch.bpf.c: a binary's next start), compiled for the
# kernel, and their libbpf skeletons, which gosnap.c and execwatch.c include: the object with
# its BTF (the CO-RE relocations and the maps' types; no DWARF), embedded.
# The kernel's types come from profiler/bpf/vmlinux.h, not from the build
# machine's kernel. fuzz/fuzz.mk uses this skeleton too.
BPF_CC     ?= clang
BPFTOOL    ?= $(shell command -v bpftool || echo /usr/sbin/bpftool)
LLVM_STRIP ?= llvm-strip
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_x86 -std=gnu11 \
	      -ffreestanding $(WARNFLAGS) -Werror -MMD -MP -Iinclude \
	      -Iprofiler/bpf
SKEL_DIR   := $(BUILD)/profiler

$(BUILD)/profiler/%.bpf.o: profiler/%.bpf.c
	@mkdir -p $(dir $@)
	$(BPF_CC) $(BPF_CFLAGS) -c -o $@ $<
	$(LLVM_STRIP) -g $@

$(SKEL_DIR)/%.skel.h: $(BUILD)/profiler/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $*_bpf > $@.tmp
	mv $@.tmp $@

$(BUILD)/profiler/gosnap.o: $(SKEL_DIR)/gosnap.skel.h
$(BUILD)/profiler/gosnap.o: CGOPROF_CFLAGS += -I$(SKEL_DIR)
# the exec watch's atomic exchange needs BPF's v3 instructions (5.12+)
$(BUILD)/profiler/execwatch.bpf.o: BPF_CFLAGS += -mcpu=v3
$(BUILD)/profiler/execwatch.o: $(SKEL_DIR)/execwatch.skel.h
$(BUILD)/profiler/execwatch.o: CGOPROF_CFLAGS += -I$(SKEL_DIR)

# made anew: a source removed or moved must leave the archive with it
$(BUILD)/libcgoprof.a: $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/cgoprof: $(CLI_OBJS) $(BUILD)/libcgoprof.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/libcgoprof.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

deps:
	@tools/install-deps.sh check

deps-demo:
	@tools/install-deps.sh demo

units: $(UNIT_BINS)

# fixtures (Go programs, test binaries) are shared by the normal and the
# sanitizer builds: they do not depend on how cgoprof is built
check: deps
	$(MAKE) all units
	python3 tools/check-layers.py
	BUILD=$(BUILD) FIXTURES=$${FIXTURES:-$(CURDIR)/build/fixtures} \
		CGOPROF_PCLNTAB_BINS=$${CGOPROF_PCLNTAB_BINS:-$(CURDIR)/build/pclntab-bins} \
		tests/run.sh

demo: deps-demo
	$(MAKE) all
	tools/demo.sh

bench: deps
	$(MAKE) all
	bench/run.sh

format:
	clang-format -i $(LIB_SRCS) $(CLI_SRCS) include/cgoprof/*.h */internal.h

clean:
	rm -rf build build-san build-fuzz

.PHONY: FORCE all deps deps-demo units check demo bench format clean
include fuzz/fuzz.mk
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
