#!/usr/bin/env python3
# Writes the hand-built seeds of the fuzz corpora into OUTDIR:
#   OUTDIR/pclntab/syn*    small ELF images holding a pclntab in the Go
#                          1.16, 1.18 and 1.20+ layouts (the table of
#                          tests/unit/test_pclntab.c's synthetic test):
#                          with section headers, found by a scan (section
#                          named .rodata), with only PT_LOADs, and without
#                          the moduledata
#   OUTDIR/sample/*        inputs of fuzz/fuzz_sample.c: a selector byte, a
#                          ring-size byte, data_head, data_tail, then
#                          records as cgoprof's events lay them out
#   OUTDIR/unwind/*        inputs of fuzz/fuzz_unwind.c: the captured stack
#                          as is, with an ip in the Go text, with a kernel
#                          callchain, and a stack of the input's own
# Usage: fuzz/seeds.py OUTDIR
import os
import struct
import sys

# ---- pclntab ----------------------------------------------------------

SYN_TEXT = 0x401000
SYN_PCLN_VADDR = 0x500000
SYN_MODULE_VADDR = 0x600000
SYN_BUILDINFO_VADDR = 0x600400


def w32(buf, at, v):
    buf[at:at + 4] = struct.pack("<I", v & 0xFFFFFFFF)


def w64(buf, at, v):
    buf[at:at + 8] = struct.pack("<Q", v & 0xFFFFFFFFFFFFFFFF)


def syn_build(fmt=120):
    """Two functions in the pclntab layout of Go 1.16 (fmt 116), 1.18
    (118) or 1.20+ (120): main.outer (0x40 bytes, frame 24, main.inl
    inlined at +0x10..+0x20) and main.leaf.abi0. Returns (pcln, module,
    buildinfo)."""
    names = b"main.outer\0main.leaf.abi0\0main.inl\0"
    files = b"/src/a.go\0"
    pcsp_outer = bytes([0x02, 0x04, 0x10, 0x04, 0x20, 0x38, 0x00])
    pcfile = bytes([0x02, 0x40, 0x00])
    pcln_outer = bytes([0x16, 0x10, 0x09, 0x10, 0x0E, 0x20, 0x00])
    inl_index = bytes([0x00, 0x10, 0x02, 0x10, 0x01, 0x20, 0x00])
    pcsp_leaf = bytes([0x02, 0x10, 0x00])
    pcln_leaf = bytes([0x2A, 0x10, 0x00])
    magic = {116: 0xFFFFFFFA, 118: 0xFFFFFFF0, 120: 0xFFFFFFF1}[fmt]
    hdrsize = 64 if fmt == 116 else 72
    offs_at = 24 if fmt == 116 else 32
    entsize = 16 if fmt == 116 else 8
    # _func: header size, where the 1.18 fields start, flag, nfuncdata
    func_hdr = {116: 44, 118: 40, 120: 44}[fmt]
    shift = 4 if fmt == 116 else 0
    flag_at, nfd_at = (41, 43) if fmt != 118 else (37, 39)
    p = bytearray(2048)
    w32(p, 0, magic)
    p[6] = 1
    p[7] = 8
    w64(p, 8, 2)   # nfunc
    w64(p, 16, 1)  # nfiles
    if fmt == 118:
        w64(p, 24, SYN_TEXT)  # textStart in the header
    elif fmt == 120:
        w64(p, 24, 0)         # none, as Go 1.26 writes it
    at = hdrsize

    def put(b):
        nonlocal at
        p[at:at + len(b)] = b
        start = at
        at += len(b)
        return start

    funcname = put(names)
    at = (at + 3) & ~3
    cutab = at
    w32(p, at, 0)
    at += 4
    filetab = put(files)
    pctab = at
    at += 1  # offset 0 means "no table"
    pcsp_outer_at = put(pcsp_outer)
    pcfile_at = put(pcfile)
    pcln_outer_at = put(pcln_outer)
    inl_at = put(inl_index)
    pcsp_leaf_at = put(pcsp_leaf)
    pcln_leaf_at = put(pcln_leaf)
    at = (at + 7) & ~7
    functab = at
    at += 3 * entsize
    # the inline tree: Go 1.20 inlinedCall {funcID, pad, nameOff,
    # parentPc, startLine}; before, {parent, funcID, pad, file, line,
    # nameOff, parentPc}; at the end of the table, found through gofunc
    # (1.18+) or an absolute pointer (1.16)
    inl_size = 16 if fmt == 120 else 20

    def func(f, entry, name_off, pcsp, pcfile_off, pcln, npcdata, flag,
             nfuncdata):
        if fmt == 116:
            w64(p, f, SYN_TEXT + entry)
        else:
            w32(p, f, entry)
        w32(p, f + shift + 4, name_off)
        w32(p, f + shift + 16, pcsp)
        w32(p, f + shift + 20, pcfile_off)
        w32(p, f + shift + 24, pcln)
        w32(p, f + shift + 28, npcdata)
        w32(p, f + shift + 32, 0)  # cuOffset
        if fmt == 120:
            w32(p, f + 36, 9)      # startLine
        p[f + flag_at] = flag
        p[f + nfd_at] = nfuncdata

    func_outer = at
    func(at, 0, 0, pcsp_outer_at - pctab, pcfile_at - pctab,
         pcln_outer_at - pctab, 3, 0, 4)
    w32(p, at + func_hdr + 8, inl_at - pctab)  # PCDATA_InlTreeIndex
    fd = at + func_hdr + 12
    if fmt == 116:
        fd = (fd + 7) & ~7                     # 8-aligned pointers
        at = fd + 4 * 8
    else:
        at = fd + 4 * 4
    at = (at + 7) & ~7
    func_leaf = at
    func(at, 0x40, 11, pcsp_leaf_at - pctab, pcfile_at - pctab,
         pcln_leaf_at - pctab, 0, 4, 0)        # FUNCFLAG_ASM
    at += func_hdr
    at = (at + 7) & ~7
    inltree = at
    if fmt == 120:
        w32(p, at + 4, 26)   # "main.inl"
        w32(p, at + 8, 0x0C)
        w32(p, at + 12, 4)
    else:
        w32(p, at + 12, 26)
        w32(p, at + 16, 0x0C)
    at += inl_size
    # funcdata of main.outer: only FUNCDATA_InlTree (3)
    for i in range(4):
        if fmt == 116:
            w64(p, fd + 8 * i, SYN_PCLN_VADDR + inltree if i == 3 else 0)
        else:
            w32(p, fd + 4 * i, 0 if i == 3 else 0xFFFFFFFF)
    for i, (entry, f) in enumerate(((0, func_outer), (0x40, func_leaf),
                                    (0x50, func_leaf))):
        slot = functab + entsize * i
        if fmt == 116:
            w64(p, slot, SYN_TEXT + entry)
            w64(p, slot + 8, f - functab)
        else:
            w32(p, slot, entry)
            w32(p, slot + 4, f - functab)
    pcln = p[:at]
    for i, off in enumerate((funcname, cutab, filetab, pctab, functab)):
        w64(pcln, offs_at + 8 * i, off)

    module = bytearray(400)
    w64(module, 0, SYN_PCLN_VADDR)
    w64(module, 8, SYN_PCLN_VADDR + funcname)
    w64(module, 32, SYN_PCLN_VADDR + cutab)
    w64(module, 176, SYN_TEXT)
    w64(module, 304 if fmt == 118 else 320, SYN_PCLN_VADDR + inltree)

    buildinfo = bytearray(64)
    buildinfo[0:14] = b"\xff Go buildinf:"
    buildinfo[14] = 8
    buildinfo[15] = 2
    buildinfo[32] = 8
    buildinfo[33:41] = b"go1.99.1"
    return bytes(pcln), bytes(module), bytes(buildinfo)


def syn_image(pcln, module, buildinfo, pcln_name=".gopclntab",
              with_module=True, sections=True):
    off_pcln, off_data, off_shstr, off_shdr, nsh = 0x1000, 0x2000, 0x3000, \
        0x3100, 5
    shstr = (b"\0" + pcln_name.encode() + b"\0.go.module\0.go.buildinfo\0"
             b".shstrtab\0")
    name_module = 1 + len(pcln_name) + 1
    name_bi = name_module + len(".go.module") + 1
    name_shstr = name_bi + len(".go.buildinfo") + 1
    img = bytearray(off_shdr + nsh * 64 if sections else off_shstr)
    # Elf64_Ehdr
    ident = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    img[0:64] = ident + struct.pack(
        "<HHIQQQIHHHHHH", 2, 62, 1, 0, 64, off_shdr if sections else 0, 0,
        64, 56, 2, 64 if sections else 0, nsh if sections else 0,
        4 if sections else 0)
    # two PT_LOADs: the table (R), the data (RW)
    img[64:120] = struct.pack("<IIQQQQQQ", 1, 4, off_pcln, SYN_PCLN_VADDR,
                              SYN_PCLN_VADDR, len(pcln), len(pcln), 0x1000)
    img[120:176] = struct.pack("<IIQQQQQQ", 1, 6, off_data, SYN_MODULE_VADDR,
                               SYN_MODULE_VADDR, 0x400 + len(buildinfo),
                               0x400 + len(buildinfo), 0x1000)
    img[off_pcln:off_pcln + len(pcln)] = pcln
    if with_module:
        img[off_data:off_data + len(module)] = module
    img[off_data + 0x400:off_data + 0x400 + len(buildinfo)] = buildinfo
    if not sections:
        return bytes(img)
    img[off_shstr:off_shstr + len(shstr)] = shstr

    def shdr(i, name, typ, flags, addr, off, size, align):
        img[off_shdr + 64 * i:off_shdr + 64 * (i + 1)] = struct.pack(
            "<IIQQQQIIQQ", name, typ, flags, addr, off, size, 0, 0, align, 0)

    shdr(1, 1, 1, 2, SYN_PCLN_VADDR, off_pcln, len(pcln), 8)
    shdr(2, name_module, 1, 3, SYN_MODULE_VADDR, off_data, len(module), 32)
    shdr(3, name_bi, 1, 3, SYN_BUILDINFO_VADDR, off_data + 0x400,
         len(buildinfo), 16)
    shdr(4, name_shstr, 3, 0, 0, off_shstr, len(shstr), 1)
    return bytes(img)


# ---- perf records -----------------------------------------------------

PERF_RECORD_MMAP2, PERF_RECORD_COMM, PERF_RECORD_EXIT = 10, 3, 4
PERF_RECORD_FORK, PERF_RECORD_LOST, PERF_RECORD_SAMPLE = 7, 2, 9
PERF_CONTEXT_KERNEL = 0xFFFFFFFFFFFFFF80
PERF_CONTEXT_USER = 0xFFFFFFFFFFFFFE00
NREGS = 17  # CGOPROF_REGS_MASK: ax..ip, r8..r15


def header(typ, misc, body):
    return struct.pack("<IHH", typ, misc, 8 + len(body)) + body


def sample(addr=False, period=True, stack=64, dyn=48, chain=None):
    """A sample as profiler/record.c's build_attr lays it out (probe_attr:
    period=False)."""
    if chain is None:
        chain = [PERF_CONTEXT_KERNEL, 0xFFFFFFFF81000010, PERF_CONTEXT_USER,
                 0x401234, 0x401100]
    b = struct.pack("<Q", 42)                        # identifier
    b += struct.pack("<Q", 0x401234)                 # ip
    b += struct.pack("<II", 1000, 1001)              # pid, tid
    b += struct.pack("<Q", 123456789)                # time
    if addr:
        b += struct.pack("<Q", 0x7F0000001000)
    if period:
        b += struct.pack("<Q", 1001001)
    b += struct.pack("<Q", len(chain)) + b"".join(
        struct.pack("<Q", v) for v in chain)
    b += struct.pack("<Q", 2)                        # PERF_SAMPLE_REGS_ABI_64
    regs = [0] * NREGS
    regs[6] = 0x7FFC0000F010                         # bp
    regs[7] = 0x7FFC0000F000                         # sp
    regs[8] = 0x401234                               # ip
    b += b"".join(struct.pack("<Q", v) for v in regs)
    b += struct.pack("<Q", stack)
    if stack:
        b += bytes((i * 7) & 0xFF for i in range(stack))
        b += struct.pack("<Q", dyn)
    return header(PERF_RECORD_SAMPLE, 2, b)


def sample_id(pid=1000, tid=1001):
    return struct.pack("<IIQQ", pid, tid, 123456000, 42)


def mmap2(path=b"/usr/bin/true"):
    name = path + b"\0"
    name += bytes((-len(name)) % 8)
    body = struct.pack("<IIQQQIIQQII", 1000, 1000, 0x400000, 0x1000, 0,
                       8, 1, 1234, 0, 5, 2) + name + sample_id()
    return header(PERF_RECORD_MMAP2, 2, body)


def comm(name=b"target"):
    c = name + b"\0"
    c += bytes((-len(c)) % 8)
    return header(PERF_RECORD_COMM, 0x2000, struct.pack("<II", 1000, 1001) +
                  c + sample_id())


def fork(typ=PERF_RECORD_FORK):
    return header(typ, 0, struct.pack("<IIIIQ", 1000, 1000, 1002, 1001,
                                      123456001) + sample_id())


def lost():
    return header(PERF_RECORD_LOST, 0, struct.pack("<QQ", 42, 7) +
                  sample_id())


def ring_seed(selector, records, shift=None, wrap_at=None):
    """Input for fuzz_sample: records in a ring of 2^shift bytes, from
    tail 0, or written from @wrap_at so that they wrap around."""
    size = len(records)
    if shift is None:
        shift = max(6, (size - 1).bit_length())
    ring = 1 << shift
    assert ring >= size and 6 <= shift <= 13
    if wrap_at is None:
        data, tail = records, 0
    else:
        data = bytearray(ring)
        for i, byte in enumerate(records):
            data[(wrap_at + i) % ring] = byte
        data, tail = bytes(data), wrap_at
    return bytes([selector, shift - 6]) + struct.pack(
        "<QQ", size, tail) + data


def main():
    out = sys.argv[1]
    for d in ("pclntab", "sample", "unwind"):
        os.makedirs(os.path.join(out, d), exist_ok=True)

    def write(d, name, data):
        with open(os.path.join(out, d, name), "wb") as f:
            f.write(data)

    for fmt in (116, 118, 120):
        pcln, module, bi = syn_build(fmt)
        write("pclntab", f"syn{fmt}-sections", syn_image(pcln, module, bi))
        write("pclntab", f"syn{fmt}-scan",
              syn_image(pcln, module, bi, ".rodata"))
        write("pclntab", f"syn{fmt}-no-sections",
              syn_image(pcln, module, bi, sections=False))
        if fmt != 116:
            write("pclntab", f"syn{fmt}-no-module",
                  syn_image(pcln, module, bi, with_module=False))

    s = sample()
    write("sample", "sample", ring_seed(0, s))
    write("sample", "sample-addr", ring_seed(1, sample(addr=True)))
    write("sample", "probe", ring_seed(2, sample(period=False, stack=8,
                                                 dyn=8)))
    write("sample", "sample-no-stack", ring_seed(0, sample(stack=0)))
    write("sample", "sample-user-chain",
          ring_seed(0, sample(chain=[PERF_CONTEXT_USER, 0x401234])))
    mixed = mmap2() + comm() + fork() + s + lost() + \
        fork(PERF_RECORD_EXIT)
    write("sample", "mixed", ring_seed(0, mixed))
    write("sample", "mixed-wrap", ring_seed(0, mixed, shift=10,
                                            wrap_at=1024 - 100))
    unwind_seeds(write)
    # a header split across the end of the ring
    write("sample", "header-wrap", ring_seed(0, s + comm(), shift=9,
                                             wrap_at=512 - 4))


def unwind_seeds(write):
    """fuzz_unwind: flags, ip, 17 register XORs, patch offset, patch."""
    def seed(flags, ip=0, regs=None, at=0, patch=b""):
        r = regs or [0] * 17
        return (bytes([flags]) + struct.pack("<Q", ip) +
                b"".join(struct.pack("<Q", v) for v in r) +
                struct.pack("<H", at) + patch)

    write("unwind", "captured", seed(0))
    write("unwind", "captured-sp", seed(8))
    for i, off in enumerate((0x40, 0x1234, 0x20000)):
        write("unwind", f"go-ip-{i}", seed(0x28, off))
        write("unwind", f"self-ip-{i}", seed(0x18, off))
    chain = b"".join(struct.pack("<Q", v) for v in (
        PERF_CONTEXT_KERNEL, 0xFFFFFFFF81000010, 0xFFFFFFFF81000020,
        PERF_CONTEXT_USER, 0x401234, 0x401100))
    write("unwind", "kernel-chain", seed(0x4C, 0, None, 0x100, chain))
    write("unwind", "user-only", seed(0x45, 0, None, 0x100, chain))
    write("unwind", "own-stack", seed(0x0A, 0, None, 0,
                                      bytes((i * 13) & 0xFF
                                            for i in range(512))))


if __name__ == "__main__":
    main()
