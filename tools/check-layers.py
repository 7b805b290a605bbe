#!/usr/bin/env python3
"""The shape check `make check` runs first (docs/architecture.md).

Fails, naming each offence, when:
- a file includes a header of a layer above its own (layers, bottom up:
  base, symbolizer, profiler, export, cli), reaches into another folder
  ("../x/y.h"), or includes a public header this table does not place;
- a unit test includes anything but public headers and its own helpers;
- a production source file is longer than MAX_LINES;
- docs/architecture.md does not mention a production source file.
"""
import os
import re
import sys

LAYERS = ["base", "symbolizer", "profiler", "export", "cli"]

# Each public header's layer: the layer of the code that implements it.
HEADERS = {
    "log.h": "base",
    "cache.h": "base",
    "filemap.h": "base",
    "procfs.h": "base",
    "htab.h": "base",
    "arena.h": "base",
    "clock.h": "base",
    "profile.h": "base",
    "perf.h": "base",
    "golayout.h": "symbolizer",
    "elfobj.h": "symbolizer",
    "pclntab.h": "symbolizer",
    "procmap.h": "symbolizer",
    "kallsyms.h": "symbolizer",
    "buildinfo.h": "symbolizer",
    "linkage.h": "symbolizer",
    "unwind.h": "symbolizer",
    "uprobe.h": "profiler",
    "gosnap.h": "profiler",
    "execwatch.h": "profiler",
    "btf_min.h": "profiler",
    "bpf_log.h": "profiler",
    "stacks.h": "profiler",
    "record.h": "profiler",
    "mem.h": "profiler",
    "coldstart.h": "profiler",
    "audit.h": "profiler",
    "export.h": "export",
    "protobuf.h": "export",
    "mem_report.h": "export",
    "audit_report.h": "export",
}

# Headers a build generates or a system provides, by the folder allowed to
# include them with quotes.
GENERATED = {
    "profiler": {"gosnap.skel.h", "execwatch.skel.h", "vmlinux.h"},
}

MAX_LINES = 950  # "about 900"
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def rank(layer):
    return LAYERS.index(layer)


def sources(root):
    for layer in LAYERS:
        d = os.path.join(root, layer)
        for dirpath, _, files in os.walk(d):
            for f in sorted(files):
                if f.endswith((".c", ".h")):
                    yield layer, os.path.relpath(os.path.join(dirpath, f), root)
    inc = os.path.join(root, "include", "cgoprof")
    for f in sorted(os.listdir(inc)):
        if f.endswith(".h"):
            yield HEADERS.get(f), os.path.join("include", "cgoprof", f)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    errors = []
    with open(os.path.join(root, "docs", "architecture.md")) as f:
        doc = f.read()
    for f in sorted(os.listdir(os.path.join(root, "include", "cgoprof"))):
        if f.endswith(".h") and f not in HEADERS:
            errors.append(f"include/cgoprof/{f}: no layer: add it to "
                          "tools/check-layers.py and docs/architecture.md")
    for layer, path in sources(root):
        if layer is None:
            continue
        folder = os.path.dirname(path)
        with open(os.path.join(root, path), errors="replace") as f:
            lines = f.read().split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        if not path.startswith("include/") and len(lines) > MAX_LINES:
            errors.append(f"{path}: {len(lines)} lines (at most {MAX_LINES})")
        if not path.startswith("include/") and path not in doc:
            errors.append(f"{path}: not in docs/architecture.md")
        for n, line in enumerate(lines, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            inc = m.group(1)
            where = f"{path}:{n}: #include \"{inc}\""
            if inc.startswith("cgoprof/"):
                name = inc[len("cgoprof/"):]
                hl = HEADERS.get(name)
                if hl is None:
                    errors.append(f"{where}: a header with no layer")
                elif rank(hl) > rank(layer):
                    errors.append(f"{where}: {layer} includes {hl}, a layer "
                                  "above it")
            elif "/" in inc:
                errors.append(f"{where}: reaches into another folder")
            elif inc in GENERATED.get(layer, set()):
                pass
            elif not os.path.exists(os.path.join(root, folder, inc)):
                errors.append(f"{where}: not a header of {folder}/")
    for f in sorted(os.listdir(os.path.join(root, "tests", "unit"))):
        if not f.endswith((".c", ".h")):
            continue
        path = os.path.join("tests", "unit", f)
        with open(os.path.join(root, path)) as fh:
            for n, line in enumerate(fh, 1):
                m = INCLUDE.match(line)
                if m and not m.group(1).startswith("cgoprof/") and (
                        "/" in m.group(1) or not os.path.exists(
                            os.path.join(root, "tests", "unit", m.group(1)))):
                    errors.append(f"{path}:{n}: #include \"{m.group(1)}\": "
                                  "tests use the public headers")
    for e in errors:
        print(e)
    print(f"layers: {len(errors)} problem(s)" if errors else
          "layers: every include points down, every file is placed")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
