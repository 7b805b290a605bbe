#!/usr/bin/env python3
"""Checks every location of a cgoprof pprof against independent oracles.

  oracle.py PROFILE.pb.gz [--root DIR] [--report FILE] [--verbose]

Nothing here knows the profiled program or reuses cgoprof's code: the
profile is decoded by hand (profile.proto), addresses are translated with
the ELF program headers parsed here, and names come from the toolchains'
own tools:

  Go code   `go tool addr2line BINARY` (it reads .gopclntab, so it works on
            stripped binaries too; it names the outermost function, not the
            inlined ones, and says "?" outside Go code). The location's last
            (outermost) Line must name that function. Where no tool finds
            the pclntab (a stripped PIE before Go 1.22 merges it into
            .data.rel.ro), it is found by its magic and the moduledata that
            points at it, and Go's own debug/gosym names the addresses
            (tests/e2e/gosym).
  C code    `eu-addr2line -f -i` (symbol table, DWARF, and separate debug
            files found by build id under /usr/lib/debug). The location's
            chain of Lines (innermost first) should equal eu-addr2line's
            inline chain; its outermost function must equal eu-addr2line's.

A name the oracle does not have is wrong (cgoprof must not invent names). A
location cgoprof left unnamed ("[file+0xOFF]") while the oracle has a name
is counted "unnamed" and listed: a failure too.

Return addresses: every location after the first user-space location of a
sample is a caller, whose address cgoprof writes as the return address - 1,
except the pcs that are not return addresses: a sigreturn trampoline's
first instruction (where the kernel makes a signal handler return; written
as itself, or as - 1) and the pc after it, which the signal interrupted;
the pc Go's signal handler makes asyncPreempt return to; Go's goexit + 1
and the pc Go saves where a goroutine leaves for g0 (systemstack_switch).
For the others, the instruction ending exactly at address+1 must be a call: found by
disassembling with objdump from the start of the ELF symbol that holds the
address, or, where the binary has no symbols, by decoding the x86-64 call
encodings that end at the return address.

Kernel locations (mapping "[kernel.kallsyms]") in the core kernel's text
are checked against /proc/kallsyms, read here with its own parse: the name
must be one of the text symbols at the highest address at or below the
location's. Those outside it (modules, BPF, which come and go) and all of
them where the addresses are hidden are skipped.

Locations not in an ELF file on disk ([vdso], anonymous memory, pseudo
frames such as "[truncated: ...]") are skipped, counted by kind.

Output: one summary line per binary, then one line per wrong name, unnamed
location or bad return address. Exit status 1 if there is any, else 0.
"""
import argparse
import bisect
import collections
import concurrent.futures
import gzip
import mmap
import os
import re
import struct
import subprocess
import sys
import tempfile

GO = os.environ.get("GO", "/usr/local/go/bin/go")
# a location cgoprof could not name: "[file+0xOFF]" (folded, SVG) or, in
# pprof, "file_with_dots_as_underscores+0xOFF" (docs/formats.md); no
# function name holds "+0x"
UNNAMED = re.compile(r"^(\[.+\+0x[0-9a-f]+\]|[^\s\[\]]+\+0x[0-9a-f]+)$")

# ---------------------------------------------------------------- protobuf


def varint(buf, i):
    """Decodes the base-128 varint at buf[i]; returns (value, next index)."""
    val = shift = 0
    while True:
        b = buf[i]
        i += 1
        val |= (b & 0x7F) << shift
        if b < 0x80:
            return val, i
        shift += 7


def fields(buf):
    """Yields (field number, wire type, value) of one protobuf message:
    value is an int for varint and fixed fields, bytes for length-delimited
    ones."""
    i, n = 0, len(buf)
    while i < n:
        key, i = varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(buf, i)
        elif wt == 1:
            v = struct.unpack_from("<Q", buf, i)[0]
            i += 8
        elif wt == 2:
            ln, i = varint(buf, i)
            v = bytes(buf[i:i + ln])
            if len(v) != ln:
                raise ValueError("truncated length-delimited field")
            i += ln
        elif wt == 5:
            v = struct.unpack_from("<I", buf, i)[0]
            i += 4
        else:
            raise ValueError(f"wire type {wt} (field {num}) not supported")
        yield num, wt, v
    if i != n:
        raise ValueError("message overruns its length")


def uints(wt, v):
    """The values of one occurrence of a repeated integer field: one value
    when unpacked (wire type 0), a run of varints when packed (type 2)."""
    if wt == 0:
        return [v]
    if wt != 2:
        raise ValueError(f"repeated integer with wire type {wt}")
    out, i = [], 0
    while i < len(v):
        x, i = varint(v, i)
        out.append(x)
    return out


def signed(v):
    """int64 fields travel as two's complement varints."""
    return v - (1 << 64) if v >= 1 << 63 else v


Mapping = collections.namedtuple(
    "Mapping", "id start limit offset filename build_id")
Location = collections.namedtuple("Location", "id mapping_id address lines")
Function = collections.namedtuple("Function", "id name system_name filename")


def decode_profile(data):
    """Returns (samples, mappings, locations, functions); samples are lists
    of location ids, innermost first; names are resolved strings."""
    samples, mraw, lraw, fraw, strings = [], [], [], [], []
    for num, wt, v in fields(data):
        if num == 2:
            ids = []
            for n2, w2, v2 in fields(v):
                if n2 == 1:
                    ids += uints(w2, v2)
            samples.append(ids)
        elif num == 3:
            mraw.append(v)
        elif num == 4:
            lraw.append(v)
        elif num == 5:
            fraw.append(v)
        elif num == 6:
            strings.append(v.decode("utf-8", "replace"))

    def s(i):
        if not 0 <= i < len(strings):
            raise ValueError(f"string index {i} out of range")
        return strings[i]

    mappings = {}
    for raw in mraw:
        m = dict.fromkeys(range(1, 7), 0)
        for num, wt, v in fields(raw):
            if num in m and wt == 0:
                m[num] = v
        mappings[m[1]] = Mapping(m[1], m[2], m[3], m[4], s(m[5]), s(m[6]))
    functions = {}
    for raw in fraw:
        f = dict.fromkeys(range(1, 5), 0)
        for num, wt, v in fields(raw):
            if num in f and wt == 0:
                f[num] = v
        functions[f[1]] = Function(f[1], s(f[2]), s(f[3]), s(f[4]))
    locations = {}
    for raw in lraw:
        lid = mid = addr = 0
        lines = []
        for num, wt, v in fields(raw):
            if num == 1:
                lid = v
            elif num == 2:
                mid = v
            elif num == 3:
                addr = v
            elif num == 4:
                fid = line = 0
                for n2, w2, v2 in fields(v):
                    if n2 == 1:
                        fid = v2
                    elif n2 == 2:
                        line = signed(v2)
                lines.append((fid, line))
        locations[lid] = Location(lid, mid, addr, lines)
    return samples, mappings, locations, functions

# --------------------------------------------------------------------- ELF


PT_LOAD, PT_NOTE = 1, 4
SHT_SYMTAB, SHT_NOTE, SHT_DYNSYM = 2, 7, 11
STT_FUNC, STT_GNU_IFUNC = 2, 10


class Elf:
    """The parts of an ELF64 little-endian file the checks need, parsed
    with struct: PT_LOAD segments, the GNU build id, function symbols."""

    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            self.data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        d = self.data
        if d[:4] != b"\x7fELF":
            raise ValueError("not an ELF file")
        if d[4] != 2 or d[5] != 1:
            raise ValueError("not ELF64 little-endian")
        (self.type, self.machine, _, _, phoff, shoff, _, _, phentsize,
         phnum, shentsize, shnum, shstrndx) = struct.unpack_from(
            "<HHIQQQIHHHHHH", d, 16)
        self.loads = []
        self.notes = []
        for k in range(phnum):
            (p_type, p_flags, p_offset, p_vaddr, _, p_filesz, _,
             _) = struct.unpack_from("<IIQQQQQQ", d, phoff + k * phentsize)
            if p_type == PT_LOAD:
                self.loads.append((p_offset, p_filesz, p_vaddr, p_flags))
            elif p_type == PT_NOTE:
                self.notes.append((p_offset, p_filesz))
        self.sections = []
        if shoff and shnum:
            for k in range(shnum):
                self.sections.append(struct.unpack_from(
                    "<IIQQQQIIQQ", d, shoff + k * shentsize))
            if shstrndx < len(self.sections):
                stroff = self.sections[shstrndx][4]
                self.section_names = [self.cstr(stroff + s[0])
                                      for s in self.sections]
            else:
                self.section_names = [""] * len(self.sections)
        else:
            self.section_names = []
        self._syms = None
        self._values = None

    def cstr(self, off):
        end = self.data.find(b"\0", off)
        return self.data[off:end].decode("utf-8", "replace")

    def offset_to_vaddr(self, off):
        """The PT_LOAD whose file bytes hold OFF maps it to p_vaddr."""
        for p_offset, p_filesz, p_vaddr, _ in self.loads:
            if p_offset <= off < p_offset + p_filesz:
                return off - p_offset + p_vaddr
        return None

    def build_id(self):
        """The NT_GNU_BUILD_ID note's descriptor, as hex; '' if none."""
        areas = list(self.notes) + [(s[4], s[5]) for s in self.sections
                                     if s[1] == SHT_NOTE]
        for off, size in areas:
            i, end = off, off + size
            while i + 12 <= end:
                namesz, descsz, ntype = struct.unpack_from("<III", self.data, i)
                name = self.data[i + 12:i + 12 + namesz]
                desc_at = i + 12 + ((namesz + 3) & ~3)
                if name == b"GNU\0" and ntype == 3:
                    return self.data[desc_at:desc_at + descsz].hex()
                i = desc_at + ((descsz + 3) & ~3)
        return ""

    def symbols(self):
        """Function symbols of .symtab and .dynsym: sorted (value, size,
        name) of STT_FUNC / STT_GNU_IFUNC with a section."""
        if self._syms is None:
            out, self._all_names = set(), set()
            for sh in self.sections:
                if sh[1] not in (SHT_SYMTAB, SHT_DYNSYM) or sh[9] != 24:
                    continue
                stroff = self.sections[sh[6]][4]
                for k in range(sh[5] // 24):
                    st_name, st_info, _, st_shndx, value, size = \
                        struct.unpack_from("<IBBHQQ", self.data, sh[4] + 24 * k)
                    name = self.cstr(stroff + st_name)
                    self._all_names.add(name)
                    if st_info & 0xF in (STT_FUNC, STT_GNU_IFUNC) and \
                            st_shndx != 0 and value:
                        out.add((value, size, name))
            self._syms = sorted(out)
        return self._syms

    def has_symbol(self, name):
        """True if .symtab or .dynsym has a symbol NAME, of any type."""
        self.symbols()
        return name in self._all_names

    def holding(self, vaddr):
        """Function symbols whose [value, value+size) holds VADDR, the
        highest start first."""
        syms = self.symbols()
        if self._values is None:
            self._values = [v for v, _, _ in syms]
        k = bisect.bisect_right(self._values, vaddr)
        # the symbol holding VADDR is among the last 64 starting at or
        # below it: only its aliases, zero-sized labels and symbols nested
        # in it can start in between
        return [syms[j] for j in range(k - 1, max(-1, k - 65), -1)
                if vaddr < syms[j][0] + syms[j][1]]

    def names_at(self, vaddr):
        """Names of every function symbol whose [value, value+size) holds
        VADDR (a function and its aliases)."""
        return {name for _, _, name in self.holding(vaddr)}

    def containing_symbol(self, vaddr):
        """(start, name) of the sized function symbol whose [value,
        value+size) holds VADDR; None if there is none. Zero-sized symbols
        do not count: in a stripped binary the nearest one below may be
        megabytes away, with unnamed functions in between."""
        h = self.holding(vaddr)
        return (h[0][0], h[0][2]) if h else None


def debug_file(elf):
    """The separate debug file of ELF, found by its build id."""
    bid = elf.build_id()
    if len(bid) > 2:
        p = f"/usr/lib/debug/.build-id/{bid[:2]}/{bid[2:]}.debug"
        if os.path.exists(p):
            return p
    return None

# ----------------------------------------------------------------- oracles


SHT_RELA = 4
R_X86_64_RELATIVE = 8


def relative_relocs(elf):
    """vaddr -> addend of every R_X86_64_RELATIVE relocation: where a PIE
    keeps a pointer the loader fills in (0 in the file)."""
    relative = {}
    for sh in elf.sections:
        if sh[1] != SHT_RELA or sh[9] != 24:
            continue
        for k in range(sh[5] // 24):
            r_offset, r_info, r_addend = struct.unpack_from(
                "<QQq", elf.data, sh[4] + 24 * k)
            if r_info & 0xFFFFFFFF == R_X86_64_RELATIVE:
                relative[r_offset] = r_addend
    return relative


def go_text_shift(elf):
    """How far `go tool addr2line` misplaces Go functions in ELF.

    Go 1.18+ pclntabs hold function entries as offsets from runtime.text.
    go tool addr2line takes runtime.text from the symbol table, and without
    one (a stripped binary) assumes the start of the .text section. In an
    externally linked binary the C linker puts C code (crt1.o's _start)
    first in .text, so runtime.text lies beyond .text's start and the tool
    names the function at the wrong address. runtime.text is also in the
    pclntab's header (runtime/symtab.go, pcHeader: magic uint32, 4 bytes,
    nfunc, nfiles, textStart), where the linker relocated it; in a PIE the
    file holds a dynamic R_X86_64_RELATIVE relocation there instead (0 in
    the file when the linker does not apply dynamic relocations), whose
    addend is the address. Returns runtime.text - .text start, or 0."""
    names = elf.section_names
    if elf.has_symbol("runtime.text"):
        return 0
    sec = {n: sh for n, sh in zip(names, elf.sections)}
    text = sec.get(".text")
    pcln = sec.get(".gopclntab") or sec.get(".data.rel.ro.gopclntab")
    if text is None or pcln is None:
        return 0
    magic, _, _, _, ptrsize = struct.unpack_from("<IBBBB", elf.data, pcln[4])
    if magic not in (0xFFFFFFF0, 0xFFFFFFF1) or ptrsize != 8:
        return 0  # before Go 1.18 entries are absolute addresses
    field = pcln[4] + 8 + 2 * ptrsize
    start = struct.unpack_from("<Q", elf.data, field)[0]
    field_vaddr = pcln[3] + 8 + 2 * ptrsize
    relative = relative_relocs(elf)
    start = relative.get(field_vaddr, start)
    if start == 0:
        # Go 1.25+ no longer stores textStart in the header (runtime/
        # symtab.go: "use the moduledata text field instead")
        start = moduledata_text(elf, pcln[3], relative)
    if not text[3] <= start < text[3] + text[5]:
        raise ValueError(f"{elf.path}: pclntab's runtime.text 0x{start:x} "
                         "is outside .text")
    return start - text[3]


def moduledata_text(elf, pcheader, relative):
    """runtime.text from the moduledata that points at the pcHeader at
    vaddr PCHEADER (runtime/symtab.go: pcHeader *pcHeader, six slices of
    24 bytes (funcnametab, cutab, filetab, pctab, pclntable, ftab),
    findfunctab, minpc, maxpc, then text at 176), its funcnametab checked
    against the header's funcnameOffset. Pointers are the file's words, or
    in a PIE the addends of their R_X86_64_RELATIVE relocations. 0 when
    none is found."""
    off = file_offset(elf, pcheader)
    funcname = pcheader + struct.unpack_from("<Q", elf.data, off + 32)[0]

    def word(vaddr):
        if vaddr in relative:
            return relative[vaddr]
        o = file_offset(elf, vaddr)
        return None if o is None else struct.unpack_from("<Q", elf.data, o)[0]

    cands = [v for v, a in relative.items() if a == pcheader]
    if not cands:
        needle = struct.pack("<Q", pcheader)
        for p_offset, p_filesz, p_vaddr, _ in elf.loads:
            seg = elf.data[p_offset:p_offset + p_filesz]
            i = seg.find(needle)
            while i >= 0:
                if i % 8 == 0:
                    cands.append(p_vaddr + i)
                i = seg.find(needle, i + 8)
    for md in cands:
        if word(md + 8) == funcname:
            return word(md + 176) or 0
    return 0


def scanned_pclntab(elf):
    """(file offset, runtime.text) of a Go 1.18+ pclntab that has no section
    or symbol of its own (a stripped PIE before Go 1.22 merges it into
    .data.rel.ro): a pcHeader magic (0,0 pad, minLC 1, ptrsize 8) that a
    moduledata refers to (see moduledata_text). None when there is none."""
    relative = relative_relocs(elf)
    for magic in (b"\xf1\xff\xff\xff", b"\xf0\xff\xff\xff"):
        needle = magic + b"\x00\x00\x01\x08"
        for p_offset, p_filesz, p_vaddr, _ in elf.loads:
            seg = elf.data[p_offset:p_offset + p_filesz]
            i = seg.find(needle)
            while i >= 0:
                if i % 8 == 0:
                    text = moduledata_text(elf, p_vaddr + i, relative)
                    if text:
                        return p_offset + i, text
                i = seg.find(needle, i + 8)
    return None


def gosym_names(path, at, addrs):
    """Outermost Go function names at ADDRS by Go's debug/gosym
    (tests/e2e/gosym) on the pclntab AT (see scanned_pclntab)."""
    if not addrs:
        return {}
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gosym")
    env = dict(os.environ, GOTOOLCHAIN="local", GOFLAGS="-mod=mod")
    p = subprocess.run([GO, "run", "main.go", path, str(at[0]), str(at[1])],
                       cwd=here, env=env, capture_output=True, text=True,
                       input="".join(f"{a}\n" for a in addrs))
    lines = p.stdout.splitlines()
    if p.returncode != 0 or len(lines) != len(addrs):
        raise RuntimeError(f"gosym on {path}: {p.stderr.strip()}")
    return dict(zip(addrs, lines))


def is_go(elf):
    """True if ELF holds a Go pclntab (where `go tool addr2line` looks)."""
    return bool({".gopclntab", ".data.rel.ro.gopclntab"} &
                set(elf.section_names)) or elf.has_symbol("runtime.pclntab")


_addr2line_tool = []


def go_addr2line_tool():
    """The addr2line program `go tool addr2line` runs (since Go 1.24 built
    on first use into the build cache): `go tool -n` prints its path, so it
    runs without the go command's start-up on every binary. $GO_ADDR2LINE,
    if set, is that path."""
    if not _addr2line_tool:
        tool = os.environ.get("GO_ADDR2LINE")
        if not tool:
            env = dict(os.environ, GOTOOLCHAIN="local")
            p = subprocess.run([GO, "tool", "-n", "addr2line"], cwd="/",
                               env=env, capture_output=True, text=True)
            if p.returncode != 0:
                raise RuntimeError(f"{GO} tool -n addr2line: {p.stderr}")
            tool = p.stdout.strip().split()[-1]
        _addr2line_tool.append(tool)
    return _addr2line_tool[0]


def go_addr2line(path, addrs, shift=0):
    """Outermost Go function names at ADDRS ('?' where not Go code), from
    one `go tool addr2line` process; all '?' if it cannot read the file.
    SHIFT: see go_text_shift."""
    if not addrs:
        return {}
    inp = "".join(f"0x{a - shift:x}\n" for a in addrs)
    p = subprocess.run([go_addr2line_tool(), path], input=inp,
                       capture_output=True, text=True)
    lines = p.stdout.splitlines()
    if p.returncode != 0 or len(lines) != 2 * len(addrs):
        return {a: "?" for a in addrs}
    return {a: lines[2 * k] for k, a in enumerate(addrs)}


def eu_addr2line(path, addrs):
    """Inline chains at ADDRS, innermost first ([] where no name), from one
    `eu-addr2line -a -f -i` process."""
    if not addrs:
        return {}
    inp = "".join(f"0x{a:x}\n" for a in addrs)
    p = subprocess.run(["eu-addr2line", "-a", "-f", "-i", "-e", path],
                       input=inp, capture_output=True, text=True)
    # exit status 1 only says some address had no name: the answers are
    # checked below, address by address
    out, cur, lines = {}, None, p.stdout.splitlines()
    k = 0
    while k < len(lines):
        line = lines[k]
        if re.match(r"^0x[0-9a-f]+$", line):
            cur = int(line, 16)
            out[cur] = []
            k += 1
            continue
        # a function line, then its file:line line
        name = line.split(" inlined at ")[0]
        if name != "??":
            out[cur].append(name)
        k += 2
    if set(out) != set(addrs):
        raise RuntimeError(f"eu-addr2line answered other addresses on {path}: "
                           f"{p.stderr}")
    return out


CALL_TEXT = re.compile(
    r"^(?:(?:rex(?:\.\w+)?|notrack|bnd|data16|addr32|cs|ds)\s+)*callq?\b")
OBJDUMP_LINE = re.compile(r"^\s*([0-9a-f]+):\t((?:[0-9a-f]{2} )*[0-9a-f]{2})\s*(?:\t(.*))?$")


def objdump_many(pieces):
    """objdump's linear disassembly of each code piece: PIECES are bytes
    (a function's code from its start); returns, per piece, {end offset of
    an instruction: is a call}. The pieces go to objdump as raw binary
    files, many per process: objdump reading the ELF file itself would load
    its symbol table every time (140,000 symbols in some Go programs)."""
    out = [dict() for _ in pieces]
    with tempfile.TemporaryDirectory(prefix="oracle-") as tmp:
        files = []
        for k, code in enumerate(pieces):
            files.append(os.path.join(tmp, str(k)))
            with open(files[-1], "wb") as f:
                f.write(code)
        chunks = [list(range(i, min(i + 400, len(files))))
                  for i in range(0, len(files), 400)]

        def run(chunk):
            p = subprocess.run(["objdump", "-D", "-z", "-w", "-b", "binary",
                                "-m", "i386:x86-64"] + [files[k] for k in chunk],
                               capture_output=True, text=True)
            if p.returncode != 0:
                raise RuntimeError(f"objdump failed: {p.stderr}")
            return p.stdout

        with concurrent.futures.ThreadPoolExecutor(2) as ex:
            for text in ex.map(run, chunks):
                cur = None
                for line in text.splitlines():
                    h = re.match(r"^(\S+):\s+file format binary$", line)
                    if h:
                        cur = out[int(os.path.basename(h.group(1)))]
                        continue
                    m = OBJDUMP_LINE.match(line)
                    if m and cur is not None:
                        at, n = int(m.group(1), 16), len(m.group(2).split())
                        cur[at + n] = bool(CALL_TEXT.match((m.group(3) or "").strip()))
    return out


def modrm_call_len(b, i):
    """Length of FF /2 (call r/m64) from its ModRM byte at b[i], counting
    from that byte; None if b[i] is not a /2 ModRM."""
    if i >= len(b):
        return None
    modrm = b[i]
    mod, reg, rm = modrm >> 6, (modrm >> 3) & 7, modrm & 7
    if reg != 2:
        return None
    if mod == 3:                       # call %reg
        return 1
    n = 1
    if rm == 4:                        # a SIB byte follows
        if i + 1 >= len(b):
            return None
        n += 1
        if mod == 0 and b[i + 1] & 7 == 5:
            return n + 4               # [index*s + disp32]
    if mod == 0:
        return n + 4 if rm == 5 else n  # RIP-relative disp32, else [reg]
    return n + (1 if mod == 1 else 4)  # disp8, disp32


def decodes_as_call(b):
    """True if the bytes B are exactly one x86-64 call: E8 rel32, or FF /2
    (register, [reg], disp8, disp32, SIB, RIP-relative), optionally behind a
    REX prefix."""
    i = 1 if b and 0x40 <= b[0] <= 0x4F else 0
    if i >= len(b):
        return False
    if b[i] == 0xE8:
        return len(b) - i == 5
    if b[i] == 0xFF:
        return modrm_call_len(b, i + 1) == len(b) - i - 1
    return False


def call_ends_at(data, off):
    """True if some call encoding ends exactly at file offset OFF."""
    return any(decodes_as_call(data[off - n:off]) for n in range(2, 9)
               if off - n >= 0)

# ------------------------------------------------------------------ checks


class Binary:
    def __init__(self, path, shown):
        self.path, self.shown = path, shown
        self.elf = Elf(path)
        dbg = debug_file(self.elf)
        self.dbg = Elf(dbg) if dbg else None
        self.queries = set()       # vaddrs to name
        self.returns = set()       # vaddrs whose +1 is a return address
        self.interrupted = set()   # vaddrs of pcs a signal interrupted
        self.locs = []             # (location, vaddr, cgoprof chain)
        self.names = {}            # vaddr -> ("go", [name]) / ("c", chain)
        self.count = collections.Counter()
        self.problems = []

    def symbol_at(self, vaddr):
        s = self.elf.containing_symbol(vaddr)
        if s is None and self.dbg is not None:
            s = self.dbg.containing_symbol(vaddr)
        return s

    def symbol_names_at(self, vaddr):
        names = self.elf.names_at(vaddr)
        if self.dbg is not None:
            names |= self.dbg.names_at(vaddr)
        return names

    def resolve(self):
        addrs = sorted(self.queries)
        if is_go(self.elf):
            go = go_addr2line(self.path, addrs, go_text_shift(self.elf))
        elif (at := scanned_pclntab(self.elf)) is not None:
            go = gosym_names(self.path, at, addrs)
        else:
            go = {a: "?" for a in addrs}
        c_addrs = [a for a in addrs if go[a] == "?"]
        c = eu_addr2line(self.path, c_addrs)
        for a in addrs:
            self.names[a] = ("go", [go[a]]) if go[a] != "?" else ("c", c[a])


def kernel_table(path="/proc/kallsyms"):
    """The core kernel's text symbols: (sorted addresses, {address: set of
    names}), or None where addresses are hidden or the file unreadable."""
    names = {}
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                # "addr type name" only: "\t[module]" lines come and go
                if len(parts) != 3 or parts[1] not in ("t", "T", "w", "W"):
                    continue
                addr = int(parts[0], 16)
                if not addr:
                    return None
                names.setdefault(addr, set()).add(parts[2])
    except OSError:
        return None
    return (sorted(names), names) if names else None


def check_kernel(locations, mappings, functions, kernel, verbose):
    """Counter of the kernel locations: checked, right, wrong, skipped;
    and the problem lines."""
    count, problems = collections.Counter(), []
    for loc in locations.values():
        m = mappings.get(loc.mapping_id)
        if m is None or not m.filename.startswith("[kernel"):
            continue
        chain = [functions[fid].name if fid in functions else "?"
                 for fid, _ in loc.lines]
        got = chain[-1] if chain else ""
        if kernel is None or not kernel[0] or \
                not kernel[0][0] <= loc.address <= kernel[0][-1]:
            count["skipped"] += 1
            continue
        addrs, names = kernel
        want = names[addrs[bisect.bisect_right(addrs, loc.address) - 1]]
        count["checked"] += 1
        if got in want:
            count["right"] += 1
        else:
            count["wrong"] += 1
            problems.append(f"WRONG    [kernel] 0x{loc.address:x} cgoprof "
                            f"{got or '(no name)'} oracle {','.join(sorted(want))}")
        if verbose:
            print(f"{'ok ' if got in want else 'BAD'} [kernel] "
                  f"0x{loc.address:x} {got} | {','.join(sorted(want))}")
    return count, problems


def run_checks(profile, root, verbose):
    with gzip.open(profile, "rb") as f:
        data = f.read()
    samples, mappings, locations, functions = decode_profile(data)
    skipped = collections.Counter()
    binaries = {}
    unusable = {}              # mapping id -> skip kind

    def binary_of(mid):
        if mid in unusable:
            return None
        m = mappings.get(mid)
        if m is None:
            unusable[mid] = "no mapping"
            return None
        fn = m.filename
        if not fn.startswith("/"):
            unusable[mid] = fn if fn.startswith("[") else "not a file: " + fn
            return None
        path = os.path.join(root, fn.lstrip("/")) if root else fn
        if path not in binaries:
            try:
                binaries[path] = Binary(path, fn)
            except (OSError, ValueError) as e:
                binaries[path] = f"{type(e).__name__}: {e}"
        if isinstance(binaries[path], str):
            unusable[mid] = binaries[path]
            return None
        b = binaries[path]
        # the file on disk must be the one profiled: a different build id
        # (a rebuilt file, or a wrong id in the profile) fails the check
        have = b.elf.build_id()
        if m.build_id and have and m.build_id != have:
            b.count["build-id mismatch"] += 1
            b.problems.append(f"BUILDID  {b.shown} mapping {mid}: profile "
                              f"{m.build_id}, file {have}")
            unusable[mid] = "build id differs from the file's"
            return None
        return b

    def vaddr_of(loc):
        m = mappings[loc.mapping_id]
        b = binaries_by_mapping[loc.mapping_id]
        off = loc.address - m.start + m.offset
        return b.elf.offset_to_vaddr(off), off

    def kind_of(loc):
        if loc.mapping_id in unusable:
            return unusable[loc.mapping_id]
        name = chain_of(loc)
        if name and name[-1].startswith("["):
            return name[-1].split(":")[0].rstrip("]") + "]"
        return "no mapping"

    def chain_of(loc):
        return [functions[fid].name if fid in functions else
                f"<function {fid}?>" for fid, _ in loc.lines]

    binaries_by_mapping = {}
    for mid in mappings:
        b = binary_of(mid)
        if b is not None:
            binaries_by_mapping[mid] = b

    def is_kernel(loc):
        m = mappings.get(loc.mapping_id)
        return m is not None and m.filename.startswith("[kernel")

    todo = {}                  # location id -> (binary, vaddr)
    for loc in locations.values():
        b = binaries_by_mapping.get(loc.mapping_id)
        if b is None:
            if not is_kernel(loc):  # counted by check_kernel
                skipped[kind_of(loc)] += 1
            continue
        vaddr, off = vaddr_of(loc)
        if vaddr is None:
            b.problems.append(f"NOLOAD   {b.shown} 0x{loc.address:x} (file "
                              f"offset 0x{off:x}) is in no PT_LOAD")
            b.count["wrong"] += 1
            continue
        todo[loc.id] = (b, vaddr)
        b.queries.add(vaddr)
        if sigreturn_at(b.elf, vaddr + 1):
            b.queries.add(vaddr + 1)
    for b in set(binaries_by_mapping.values()):
        b.resolve()

    # The role of each location in each sample. Kernel frames come first
    # (innermost first); the first user location is the sampled pc; every
    # later one is a caller, written as its return address - 1, except:
    #   - a "return address" at a sigreturn trampoline (mov $15, %rax;
    #     syscall): the kernel made a signal handler return there; the
    #     frame is the trampoline, so it is named at the return address, and
    #     the next location is the pc the signal interrupted;
    #   - the location after Go's runtime.asyncPreempt, runtime.sigpanic or
    #     runtime.debugCallV2: Go's signal handler pushed the interrupted pc
    #     as if it were a return address (Go's traceback does not back it
    #     up by one either).
    # Neither a trampoline nor an interrupted pc follows a call.
    roles = collections.defaultdict(set)

    def oracle_name(lid):
        b, vaddr = todo[lid]
        return b.names[vaddr][1]

    for ids in samples:
        user = [i for i in ids if i in locations and not is_kernel(locations[i])]
        prev = None
        for k, lid in enumerate(user):
            if lid not in todo:
                prev = None
                continue
            b, vaddr = todo[lid]
            if k == 0:
                # a sample in the trampoline itself: the next frame is the
                # interrupted one too
                role = "pc-trampoline" if sigreturn_covers(b.elf, vaddr) \
                    else "pc"
            elif prev in ("trampoline", "pc-trampoline") or (
                    prev is not None and
                    oracle_name(user[k - 1]) in INJECTED_CALLERS):
                role = "interrupted"
            elif sigreturn_at(b.elf, vaddr + 1) or sigreturn_at(b.elf, vaddr):
                role = "trampoline"
            else:
                role = "caller"
            roles[lid].add(role)
            prev = role
    for lid, rs in roles.items():
        b, vaddr = todo[lid]
        if "caller" in rs:
            b.returns.add(vaddr)
        if "interrupted" in rs:
            b.interrupted.add(vaddr)

    for lid, (b, vaddr) in todo.items():
        loc = locations[lid]
        if "trampoline" in roles[lid] and not sigreturn_at(b.elf, vaddr):
            vaddr += 1          # written as the return address - 1
        chain = chain_of(loc)
        kind, want = b.names[vaddr]
        b.count["checked"] += 1
        got = chain[-1] if chain else ""
        if not chain or (len(chain) == 1 and UNNAMED.match(got)):
            if want:
                b.count["unnamed"] += 1
                b.problems.append(f"unnamed  {b.shown} 0x{vaddr:x} "
                                  f"{got or '(no line)'} oracle {';'.join(want)}")
            else:
                b.count["right"] += 1
            continue
        if kind == "go":
            ok = got == want[0]
        else:
            # eu-addr2line says one name of several: an alias at the same
            # address (free, __GI___libc_free) or the symbol of a compiler
            # clone (tcache_init.part.0 of DWARF's tcache_init) names the
            # same code, so a name of a symbol holding the address is right
            ok = bool(want) and (got == want[-1] or
                                 got in b.symbol_names_at(vaddr))
            if ok and chain[:-1] != want[:-1]:
                b.count["inline differs"] += 1
                if verbose:
                    print(f"inline chain differs: {b.shown} 0x{vaddr:x} "
                          f"cgoprof {';'.join(chain)} oracle {';'.join(want)}")
        if ok:
            b.count["right"] += 1
        else:
            b.count["wrong"] += 1
            b.problems.append(f"WRONG    {b.shown} 0x{vaddr:x} cgoprof "
                              f"{';'.join(chain)} oracle "
                              f"{';'.join(want) or '(no name)'} [{kind}]")
        if verbose:
            print(f"{'ok ' if ok else 'BAD'} {b.shown} 0x{vaddr:x} "
                  f"{','.join(sorted(roles[lid])) or '-':11} {';'.join(chain)}"
                  f" | {';'.join(want)}")

    check_returns([b for b in set(binaries_by_mapping.values()) if b.returns])
    kernel = check_kernel(locations, mappings, functions, kernel_table(),
                          verbose)
    return binaries_by_mapping, skipped, kernel


INJECTED_CALLERS = (["runtime.asyncPreempt"], ["runtime.sigpanic"],
                    ["runtime.debugCallV2"])
SIGRETURN = (bytes.fromhex("48c7c00f0000000f05"),   # mov $15, %rax; syscall
             bytes.fromhex("b80f0000000f05"))       # mov $15, %eax; syscall


def sigreturn_at(elf, vaddr, code=SIGRETURN):
    """True if the code at VADDR is an rt_sigreturn trampoline."""
    off = file_offset(elf, vaddr)
    return off is not None and any(
        elf.data[off:off + len(t)] == t for t in code)


def sigreturn_covers(elf, vaddr):
    """True if VADDR is in the instructions of an rt_sigreturn trampoline,
    or right after its syscall (a sample taken in the system call)."""
    return any(sigreturn_at(elf, vaddr - k, (t,))
               for t in SIGRETURN for k in range(len(t) + 1))


def check_returns(bins):
    """Return address checks of every binary: objdump's disassembly from
    the start of the function symbol holding the address, or the call
    decoder where no symbol holds it.
    Also tells, for the pcs signals interrupted, whether the location's
    address is that pc (an instruction start) or the pc - 1."""
    jobs = []
    for b in bins:
        by_func = collections.defaultdict(lambda: ([], []))
        for vaddr in sorted(b.returns):
            b.count["returns"] += 1
            kind, want = b.names[vaddr]
            # Go starts every goroutine with runtime.goexit's entry + 1 (past
            # its one-byte NOP) as the return address of its first function,
            # as if goexit had called it: not a call, and the only such case.
            if kind == "go" and want == ["runtime.goexit"]:
                s = b.symbol_at(vaddr)
                if s is not None and s[0] == vaddr:
                    continue
                if s is None and goexit_nop(b, vaddr):
                    continue
            # Where a goroutine leaves its stack for g0, Go saves in g.sched
            # the pc of runtime.systemstack_switch (gosave_systemstack_switch
            # in runtime/asm_amd64.s: its entry before Go 1.21, entry + 8
            # from 1.21), and cgocallback pushes that as a return address;
            # Go's traceback names it at the entry itself. Not a call.
            if kind == "go" and want == ["runtime.systemstack_switch"]:
                s = b.symbol_at(vaddr)
                if s is not None and vaddr in (s[0], s[0] + 7):
                    continue
                if s is None and switch_marker_code(b, vaddr):
                    continue
            s = b.symbol_at(vaddr)
            if s is None:
                # the offset of the call's last byte, plus one: a call
                # that never returns can end its segment (musl's _dlstart)
                if not call_ends_at(b.elf.data, file_offset(b.elf, vaddr) + 1):
                    bad_return(b, vaddr, want, "no call encoding ends there")
            else:
                by_func[s][0].append(vaddr)
        for vaddr in sorted(b.interrupted):
            b.count["interrupted"] += 1
            s = b.symbol_at(vaddr)
            if s is None:
                b.count["interrupted unknown"] += 1
            else:
                by_func[s][1].append(vaddr)
        for (start, name), (rets, ints) in sorted(by_func.items()):
            # from the function's start to 15 bytes (the longest
            # instruction) past the last address of interest, so that no
            # instruction holding one is cut short
            off = file_offset(b.elf, start)
            stop = max(rets + ints) + 1 + 15
            jobs.append((b, start, name, rets, ints,
                         b.elf.data[off:off + stop - start]))
    results = objdump_many([j[5] for j in jobs])
    for (b, start, name, rets, ints, _), ends in zip(jobs, results):
        ends = {start + e: call for e, call in ends.items()}
        check_function(b, name, rets, ints, ends, set(ends) | {start})


def check_function(b, name, rets, ints, ends, starts):
    """Verdicts on the return addresses (RETS) and interrupted pcs (INTS)
    of function NAME, from objdump's instruction ENDS and STARTS."""
    for v in rets:
        if v + 1 not in ends:
            bad_return(b, v, b.names[v][1],
                       f"no instruction of {name} ends there")
        elif not ends[v + 1]:
            bad_return(b, v, b.names[v][1],
                       f"the instruction of {name} ending there is no call")
    for v in ints:
        b.count["interrupted at pc" if v in starts else
                "interrupted at pc-1" if v + 1 in starts else
                "interrupted unknown"] += 1


def switch_marker_code(b, vaddr):
    """Without symbols: runtime.systemstack_switch's code at VADDR, its
    entry (Go < 1.21: RET after the INT3 padding of the function before),
    or at its entry + 7 (Go >= 1.21: push %rbp; mov %rsp,%rbp; ud2; call)."""
    off = file_offset(b.elf, vaddr - 7)
    if off is not None and b.elf.data[off:off + 7] == bytes.fromhex("554889e50f0be8"):
        return True
    off = file_offset(b.elf, vaddr - 1)
    return off is not None and b.elf.data[off:off + 2] == b"\xcc\xc3"


def goexit_nop(b, vaddr):
    """Without symbols: runtime.goexit's fake return address sits right
    after the NOP (0x90) at its entry."""
    off = file_offset(b.elf, vaddr)
    return off is not None and b.elf.data[off] == 0x90


def file_offset(elf, vaddr):
    for p_offset, p_filesz, p_vaddr, _ in elf.loads:
        if p_vaddr <= vaddr < p_vaddr + p_filesz:
            return vaddr - p_vaddr + p_offset
    return None


def bad_return(b, vaddr, want, why):
    b.count["bad returns"] += 1
    b.problems.append(f"BADRET   {b.shown} 0x{vaddr:x} return address "
                      f"0x{vaddr + 1:x} in {';'.join(want) or '(no name)'}: {why}")


# Counts printed when not zero: mappings whose build id is not the file's
# (a failure); informational: C locations whose outermost
# name is right and whose inline chain differs from eu-addr2line's; pcs a
# signal interrupted, by whether the location holds the pc itself or pc - 1
# (or no symbol tells instruction starts).
EXTRA_COUNTS = ("build-id mismatch", "inline differs", "interrupted", "interrupted at pc",
                "interrupted at pc-1", "interrupted unknown")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("profile")
    ap.add_argument("--root", default="",
                    help="directory the mappings' file names are under")
    ap.add_argument("--report", help="append the summary lines to FILE")
    ap.add_argument("--verbose", action="store_true",
                    help="print every checked location")
    a = ap.parse_args()
    by_mapping, skipped, (kcount, kproblems) = run_checks(
        a.profile, a.root, a.verbose)
    lines, problems, failed = [], [], False
    if kcount:
        lines.append(f"{os.path.basename(a.profile)}: [kernel]: checked "
                     f"{kcount['checked']} right {kcount['right']} wrong "
                     f"{kcount['wrong']} skipped {kcount['skipped']}")
        problems += kproblems
        failed |= bool(kcount["wrong"])
    for b in sorted(set(by_mapping.values()), key=lambda b: b.shown):
        c = b.count
        lines.append(f"{os.path.basename(a.profile)}: {b.shown}: checked {c['checked']} "
                     f"right {c['right']} wrong {c['wrong']} unnamed {c['unnamed']} "
                     f"returns {c['returns']} bad-returns {c['bad returns']}"
                     + "".join(f", {k} {c[k]}" for k in EXTRA_COUNTS if c[k]))
        problems += b.problems
        # a location left unnamed where the oracle has a name is a failure
        # too: the name was there to be found
        failed |= bool(c["wrong"] or c["unnamed"] or c["bad returns"] or
                       c["build-id mismatch"])
    if skipped:
        lines.append(f"{os.path.basename(a.profile)}: skipped " + ", ".join(
            f"{k} {v}" for k, v in sorted(skipped.items())))
    print("\n".join(lines + problems))
    if a.report:
        with open(a.report, "a") as f:
            f.write("\n".join(lines) + "\n")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
