// SPDX-License-Identifier: MIT
/* libFuzzer target: the unwinder on hostile user state. A sample's
 * registers, stack copy and callchain come from the target process, which
 * may be anything. The process model is this fuzzer's own process (its
 * maps, its binaries), and, when CGOPROF_FUZZ_GO names a Go binary, that
 * binary mapped at a fake address too, so that Go pcs reach the pcsp and
 * cgo paths. The starting point is a real stack of this process, captured
 * once (registers and 16 KiB from SP, as perf_event gives them); the input
 * patches it:
 *   byte 0      flags: 1 user only, 2 the input is the whole stack (else
 *               a patch at an offset of the real one), 4 a callchain from
 *               the input, 8 leave SP as captured; bits 4-5: the ip (the
 *               captured one, in this binary's text, in the Go text, raw)
 *   bytes 1-8   the ip's offset (or value)
 *   bytes 9-144 17 registers, XOR-ed into the captured ones
 *   bytes 145-146  where the patch goes in the stack copy
 *   the rest    the patch (or the stack), and the callchain's words
 * Live reads are off: nothing but the copy is read. Build and run: make
 * fuzz (fuzz/fuzz.mk). */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgoprof/procmap.h"
#include "cgoprof/unwind.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define COPY 16384
#define GO_BASE 0x7e0000000000ull

static const int reg_of[17] = {
    PERF_REG_AX,  PERF_REG_BX,	PERF_REG_CX,  PERF_REG_DX,  PERF_REG_SI,
    PERF_REG_DI,  PERF_REG_BP,	PERF_REG_SP,  PERF_REG_IP,  PERF_REG_R8,
    PERF_REG_R9,  PERF_REG_R10, PERF_REG_R11, PERF_REG_R12, PERF_REG_R13,
    PERF_REG_R14, PERF_REG_R15,
};

static struct elf_cache *cache;
static struct procmap *pm;
static struct proc *self;
static uint8_t captured_stack[COPY];
static uint64_t captured_len;
static uint64_t captured_regs[PERF_REG__COUNT];
static uint64_t text_lo, text_hi; /* this binary's text */
static uint64_t go_lo, go_hi;	  /* the Go binary's, mapped */
static struct unwind_result *result;
static volatile int sink;
static bool verbose; /* CGOPROF_FUZZ_VERBOSE: each unwind's outcome */

static uint64_t stack_top(uint64_t sp)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	uint64_t lo, hi, top = sp + COPY;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && sp >= lo &&
		    sp < hi)
			top = hi;
	if (f)
		fclose(f);
	return top;
}

/* The live stack holds ASan's poisoned redzones: copy it unchecked. */
__attribute__((no_sanitize("address"), noinline)) static void
copy_stack(uint8_t *dst, const uint8_t *src, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		((volatile uint8_t *)dst)[i] =
		    ((const volatile uint8_t *)src)[i];
}

/* Registers as PERF_SAMPLE_REGS_USER gives them, and the stack from SP. */
__attribute__((noinline)) static void capture(void)
{
	uint64_t r[8];

	__asm__ volatile("lea 0(%%rip), %%rax\n\t"
			 "mov %%rax, 0(%0)\n\t"
			 "mov %%rsp, 8(%0)\n\t"
			 "mov %%rbp, 16(%0)\n\t"
			 "mov %%rbx, 24(%0)\n\t"
			 "mov %%r12, 32(%0)\n\t"
			 "mov %%r13, 40(%0)\n\t"
			 "mov %%r14, 48(%0)\n\t"
			 "mov %%r15, 56(%0)\n\t"
			 :
			 : "r"(r)
			 : "rax", "memory");
	captured_regs[PERF_REG_IP] = r[0];
	captured_regs[PERF_REG_SP] = r[1];
	captured_regs[PERF_REG_BP] = r[2];
	captured_regs[PERF_REG_BX] = r[3];
	captured_regs[PERF_REG_R12] = r[4];
	captured_regs[PERF_REG_R13] = r[5];
	captured_regs[PERF_REG_R14] = r[6];
	captured_regs[PERF_REG_R15] = r[7];
	captured_len = stack_top(r[1]) - r[1];
	if (captured_len > COPY)
		captured_len = COPY;
	copy_stack(captured_stack, (const uint8_t *)r[1], captured_len);
	sink++;
}

__attribute__((noinline)) static void capture_deeper(void)
{
	capture();
	sink++;
}

/* The executable text of this binary, from its maps. */
static void find_text(void)
{
	uint64_t here = (uint64_t)(uintptr_t)&capture;

	for (size_t i = 0; i < self->nmaps; i++) {
		const struct map *m = &self->maps[i];

		if (here >= m->start && here < m->end) {
			text_lo = m->start;
			text_hi = m->end;
		}
	}
}

/* Maps the PT_LOADs of the Go binary @path at GO_BASE, as a PIE would be. */
static void map_go(const char *name)
{
	/* absolute: the model opens it through /proc/PID/root */
	char *path = realpath(name, NULL);
	int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	struct stat st;
	size_t nph;
	Elf *elf;

	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "fuzz_unwind: %s: %s\n", name, strerror(errno));
		exit(1);
	}
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_getphdrnum(elf, &nph)) {
		fprintf(stderr, "fuzz_unwind: %s: not ELF\n", path);
		exit(1);
	}
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		uint64_t start, end, prot = 0;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		start = GO_BASE + (ph.p_vaddr & ~0xfffull);
		end = GO_BASE + ((ph.p_vaddr + ph.p_memsz + 0xfff) & ~0xfffull);
		prot |= ph.p_flags & PF_R ? 1 : 0;
		prot |= ph.p_flags & PF_W ? 2 : 0;
		prot |= ph.p_flags & PF_X ? 4 : 0;
		procmap__mmap(pm, self->pid, start, end - start,
			      ph.p_offset & ~0xfffull, st.st_dev, st.st_ino,
			      (uint32_t)prot, path);
		if ((ph.p_flags & PF_X) && !go_lo) {
			go_lo = start;
			go_hi = end;
		}
	}
	elf_end(elf);
	close(fd);
	free(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *go = getenv("CGOPROF_FUZZ_GO");

	(void)argc;
	(void)argv;
	/* no cache of inflated DWARF in the user's directory: its files
	 * are fuzz_debugfile's to exercise */
	setenv("CGOPROF_CACHE_DIR", "", 1);
	elf_version(EV_CURRENT);
	cache = elf_cache__new();
	pm = procmap__new(cache);
	result = calloc(1, sizeof(*result));
	if (!cache || !pm || !result ||
	    procmap__load_proc(pm, (uint32_t)getpid())) {
		fprintf(stderr, "fuzz_unwind: cannot load this process\n");
		exit(1);
	}
	self = procmap__proc(pm, (uint32_t)getpid(), false);
	verbose = getenv("CGOPROF_FUZZ_VERBOSE") != NULL;
	capture_deeper();
	find_text();
	if (go && *go)
		map_go(go);
	return 0;
}

static uint64_t word(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t stack[COPY];
	static uint64_t chain[64];
	struct unwind_opts o = {.live_reads = false};
	struct perf_sample s = {0};
	uint8_t header[147] = {0};
	const uint8_t *rest;
	size_t nrest, at;
	uint8_t flags;
	uint64_t ip_arg;

	memcpy(header, data, size < sizeof(header) ? size : sizeof(header));
	rest = size > sizeof(header) ? data + sizeof(header) : NULL;
	nrest = rest ? size - sizeof(header) : 0;
	flags = header[0];
	ip_arg = word(header + 1);
	o.user_only = flags & 1;

	s.pid = s.tid = self->pid;
	s.regs_abi = PERF_SAMPLE_REGS_ABI_64;
	memcpy(s.regs, captured_regs, sizeof(s.regs));
	for (int i = 0; i < 17; i++)
		s.regs[reg_of[i]] ^= word(header + 9 + 8 * i);
	if (flags & 8)
		s.regs[PERF_REG_SP] = captured_regs[PERF_REG_SP];
	switch ((flags >> 4) & 3) {
	case 0:
		s.regs[PERF_REG_IP] = captured_regs[PERF_REG_IP];
		break;
	case 1:
		s.regs[PERF_REG_IP] = text_lo + ip_arg % (text_hi - text_lo);
		break;
	case 2:
		if (go_hi > go_lo)
			s.regs[PERF_REG_IP] = go_lo + ip_arg % (go_hi - go_lo);
		break;
	default:
		s.regs[PERF_REG_IP] = ip_arg;
	}
	s.ip = s.regs[PERF_REG_IP];

	/* the stack copy: the captured one patched, or the input's own */
	if (flags & 2) {
		s.stack_dyn_size = nrest < COPY ? nrest : COPY;
		memcpy(stack, rest ? rest : stack, s.stack_dyn_size);
	} else {
		memcpy(stack, captured_stack, captured_len);
		s.stack_dyn_size = captured_len;
		at = (header[145] | (size_t)header[146] << 8) % COPY;
		if (nrest && at < captured_len)
			memcpy(stack + at, rest,
			       nrest < captured_len - at ? nrest
							 : captured_len - at);
	}
	s.stack = stack;
	s.stack_size = COPY;

	/* a callchain from the input's last words: kernel part, then user */
	if ((flags & 4) && nrest >= 8) {
		size_t n = nrest / 8 < 64 ? nrest / 8 : 64;

		memcpy(chain, rest + nrest - 8 * n, 8 * n);
		if (flags & 0x40)
			chain[0] = PERF_CONTEXT_KERNEL;
		s.callchain = chain;
		s.callchain_nr = n;
	}
	unwind__sample(pm, self, &s, &o, result);
	if (verbose)
		fprintf(stderr, "fuzz_unwind: %u frames, status %d (%s)\n",
			result->n, (int)result->status,
			result->reason ? result->reason : "");
	/* every frame must be a pc and a map of the model, or none */
	for (uint32_t i = 0; i < result->n && i < CGOPROF_MAX_FRAMES; i++)
		if (result->frames[i].map)
			sink += (int)result->frames[i].map->prot;
	if (result->n > CGOPROF_MAX_FRAMES)
		abort();
	return 0;
}
