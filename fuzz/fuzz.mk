# Fuzzing with clang's libFuzzer, ASan and UBSan. Included by the main
# Makefile (`include fuzz/fuzz.mk`), or alone: make -f Makefile -f fuzz/fuzz.mk
#
#   make fuzz                   each target for FUZZ_SECONDS (default 60)
#   make fuzz FUZZ_SECONDS=20   the short run CI does
#   make fuzz-build             only build build-fuzz/fuzz_<target>
#   make fuzz-replay            run every target once over the inputs that
#                               once failed (fuzz/regress/<target>, each also
#                               a unit test or a suppression), its seeds,
#                               corpus and crashes (no new inputs), with
#                               leak checks: a regression check
#
# Warnings are not errors here: clang warns where gcc does not, and a
# fuzz build must not break on them.
# Targets (fuzz/fuzz_<name>.c): pclntab (ELF image -> pclntab__new and its
# lookups), sample (perf_sample__parse, ring__consume), cfi (elf_cache__open,
# CFI, elf_obj__symbolize, and what cgoprof mem asks of a mapped file),
# debugfile (an object and its debug file: the debug-file lookup, the
# decompression budget of compressed sections and .gnu_debugdata, libdwfl's
# symbols and DWARF over them),
# unwind (unwind__sample on hostile registers, stack and callchain; a
# stripped Go seed binary is mapped into its process model through
# CGOPROF_FUZZ_GO), maps (the maps line parser, cgoprof mem's smaps parser,
# its classifier and totals), audit (cgoprof audit on an ELF image:
# build info, linkage, sizes adding up, findings; the same bytes as an
# ld.so.cache and as module information). Seeds come from fuzz/seeds.sh; what a run finds
# is kept in build-fuzz/corpus/<target>, crashes in build-fuzz/crashes/<target>
# (a crash fails the run; replay one with build-fuzz/fuzz_<target> FILE).
FUZZ_CC       ?= clang
FUZZ_BUILD    := build-fuzz
FUZZ_SECONDS  ?= 60
FUZZ_TARGETS  := pclntab sample cfi debugfile unwind maps audit
FUZZ_SANITIZE ?= address,undefined
FUZZ_SANFLAGS := -fsanitize=$(FUZZ_SANITIZE) -fno-sanitize-recover=all \
		 -fno-omit-frame-pointer
# the Makefile's warnings, sources and libraries (not -Werror, see above)
FUZZ_CFLAGS   := -O1 -g -std=c11 -D_GNU_SOURCE $(WARNFLAGS) -fno-common \
		 -MMD -MP -Iinclude -fsanitize=fuzzer-no-link $(FUZZ_SANFLAGS) \
		 $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
FUZZ_LDLIBS   := $(LDLIBS)
FUZZ_LIB_SRCS := $(LIB_SRCS)
FUZZ_LIB_OBJS := $(FUZZ_LIB_SRCS:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_BINS     := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
# A slow input (10 s) is a finding: a loop that does not end on hostile
# bytes. Leaks are findings too, but where libdw allocates (cfi, unwind)
# LeakSanitizer needs slow malloc stacks (libdw has no frame pointers) to
# tell libdw's own leaks (fuzz/lsan.supp) from ours: those targets look for
# leaks in fuzz-replay only, 35 times slower per input.
FUZZ_FLAGS    ?= -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
FUZZ_NO_LEAKS := cfi debugfile unwind
FUZZ_ENV      = LSAN_OPTIONS=suppressions=$(CURDIR)/fuzz/lsan.supp \
	CGOPROF_FUZZ_GO=$$(ls $(CURDIR)/$(FUZZ_BUILD)/seeds/pclntab-real/go1*-pie-s \
		2>/dev/null | head -n 1)

$(FUZZ_BUILD)/%.o: %.c | fuzz-check-cc
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

# the Makefile's skeletons of the BPF programs: the same for every build
$(FUZZ_BUILD)/profiler/gosnap.o: $(SKEL_DIR)/gosnap.skel.h
$(FUZZ_BUILD)/profiler/gosnap.o: FUZZ_CFLAGS += -I$(SKEL_DIR)
$(FUZZ_BUILD)/profiler/execwatch.o: $(SKEL_DIR)/execwatch.skel.h
$(FUZZ_BUILD)/profiler/execwatch.o: FUZZ_CFLAGS += -I$(SKEL_DIR)

$(FUZZ_BUILD)/libcgoprof.a: $(FUZZ_LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_BINS): $(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/fuzz/fuzz_%.o \
		$(FUZZ_BUILD)/libcgoprof.a
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SANFLAGS) -o $@ $^ $(FUZZ_LDLIBS)

fuzz-check-cc:
	@command -v $(FUZZ_CC) >/dev/null || { echo "fuzz: '$(FUZZ_CC)' not" \
		"found: apt-get install clang libclang-rt-14-dev (or set FUZZ_CC)"; \
		exit 2; }

fuzz-build: $(FUZZ_BINS)

fuzz-seeds:
	fuzz/seeds.sh $(FUZZ_BUILD)/seeds

# One target after the other, each for FUZZ_SECONDS: three quarters of it
# on the small seeds (thousands of runs a second), the last quarter with
# the real binaries of seeds/<target>-real too (~1 MB each, tens of runs a
# second; their finds go to corpus/<target>-real, so that the next run's
# first phase stays fast). The log of each phase is build-fuzz/<target>.log
# and <target>-real.log.
FUZZ_RUN = ASAN_OPTIONS=detect_leaks=$$leaks $(FUZZ_ENV) \
	$(FUZZ_BUILD)/fuzz_$$t $(FUZZ_FLAGS) \
	-detect_leaks=$$leaks -artifact_prefix=$(FUZZ_BUILD)/crashes/$$t/
FUZZ_FAIL = { grep -A 40 -m 1 -E '^==[0-9]+==|runtime error|ERROR: libFuzzer' \
	$$log || tail -n 40 $$log; echo "FAIL fuzz_$$t: see $$log and" \
	"$(FUZZ_BUILD)/crashes/$$t/"; exit 1; }
FUZZ_STATS = grep -E '^stat::number_of_executed_units|^\#[0-9]+.*DONE' $$log | \
	sed 's/^/    /'

fuzz: fuzz-build fuzz-seeds
	@set -e; for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/crashes/$$t; \
		real=$(FUZZ_BUILD)/seeds/$$t-real; \
		leaks=1; case " $(FUZZ_NO_LEAKS) " in *" $$t "*) leaks=0;; esac; \
		secs=$(FUZZ_SECONDS); \
		if [ -n "$$(ls $$real 2>/dev/null)" ]; then secs=$$(( $(FUZZ_SECONDS) * 3 / 4 )); fi; \
		log=$(FUZZ_BUILD)/$$t.log; \
		echo "== fuzz_$$t: $$secs s"; \
		$(FUZZ_RUN) -max_total_time=$$secs $(FUZZ_BUILD)/corpus/$$t \
			$(FUZZ_BUILD)/seeds/$$t > $$log 2>&1 || $(FUZZ_FAIL); \
		$(FUZZ_STATS); \
		[ $$secs != $(FUZZ_SECONDS) ] || continue; \
		mkdir -p $(FUZZ_BUILD)/corpus/$$t-real; \
		log=$(FUZZ_BUILD)/$$t-real.log; \
		echo "== fuzz_$$t with real binaries: $$(( $(FUZZ_SECONDS) - secs )) s"; \
		$(FUZZ_RUN) -max_total_time=$$(( $(FUZZ_SECONDS) - secs )) \
			$(FUZZ_BUILD)/corpus/$$t-real $$real $(FUZZ_BUILD)/corpus/$$t \
			> $$log 2>&1 || $(FUZZ_FAIL); \
		$(FUZZ_STATS); \
	done; echo "fuzz: no crash in $(words $(FUZZ_TARGETS)) targets"

fuzz-replay: fuzz-build fuzz-seeds
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "== fuzz_$$t: replay"; \
		log=$(FUZZ_BUILD)/$$t-replay.log; \
		rm -rf $(FUZZ_BUILD)/replay/$$t; mkdir -p $(FUZZ_BUILD)/replay/$$t; \
		ASAN_OPTIONS=fast_unwind_on_malloc=0 $(FUZZ_ENV) \
		$(FUZZ_BUILD)/fuzz_$$t -runs=0 $(FUZZ_FLAGS) -detect_leaks=1 \
			$(FUZZ_BUILD)/replay/$$t $$(ls -d fuzz/regress/$$t \
				$(FUZZ_BUILD)/seeds/$$t $(FUZZ_BUILD)/seeds/$$t-real \
				$(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/corpus/$$t-real \
				$(FUZZ_BUILD)/crashes/$$t 2>/dev/null) \
				> $$log 2>&1 || { tail -n 40 $$log; exit 1; }; \
		grep -E '^#[0-9]+.*(INITED|DONE)' $$log | tail -n 1 | sed 's/^/    /'; \
	done

fuzz-clean:
	rm -rf $(FUZZ_BUILD)

.PHONY: fuzz fuzz-build fuzz-seeds fuzz-replay fuzz-clean fuzz-check-cc
-include $(shell find $(FUZZ_BUILD) -name '*.d' 2>/dev/null)
