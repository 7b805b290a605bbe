#!/usr/bin/env python3
"""Checks one `cgoprof audit -o X.json` report against independent tools
(tests/e2e/t0800-audit.sh):

  - the parts of "sizes" add up to the file's size exactly (os.stat);
  - "go": version, settings, main module and dependencies as `go version -m`
    prints them;
  - "linkage.needed" as `readelf -d` lists NEEDED; "linkage.kind" by
    PT_INTERP / PT_DYNAMIC in `readelf -lW`; "glibc_min" the newest GLIBC_x.y
    of `readelf -V`; each library the loader's cache resolves as
    `ldconfig -p` does;
  - "libc_imports": the undefined symbols of `readelf --dyn-syms -W`, each
    with the version readelf shows;
  - with --nm (an unstripped binary): Go text per package (top 10) between
    the sum of `go tool nm -size` and that plus 32 bytes (the function
    alignment) per function;
    and every _Cfunc_ / _cgoexp_ of nm in "cgo.packages".
Usage: auditcheck.py REPORT.json BINARY GO [--nm] [--expect KEY=VALUE ...]
  expectations: cgo=net,os/user (the packages, sorted, or "none"),
  kind=static|static-pie|dynamic, finding=ID, no-finding=ID, avoid=PKG:TAG,
  cfunc=PKG:NAME, callback=PKG:NAME, needs_cgo=PKG, setting=KEY:VALUE,
  libc=glibc|musl|null, go=null.
"""
import json
import os
import re
import subprocess
import sys

PARTS = ["go_text", "c_text", "rodata", "pclntab", "data", "symbols_debug",
         "other"]
problems = []


def bad(msg):
    problems.append(msg)


def run(*cmd):
    return subprocess.run(cmd, capture_output=True, text=True,
                          check=False).stdout


def go_unquote(s):
    if len(s) >= 2 and s[0] == '"' and s[-1] == '"':
        return json.loads(s)
    return s


def check_go(d, binary, go):
    out = run(go, "version", "-m", binary)
    if not out.strip() or "not executable" in out or \
            "could not read Go build info" in out:
        if d["go"] is not None and d["go"]["version_source"] == "buildinfo":
            bad("go version -m reads no build info, the report does")
        return
    lines = out.splitlines()
    version = lines[0].split(": ", 1)[1].strip()
    g = d["go"]
    if g is None:
        bad("go version -m sees a Go binary, the report says not Go")
        return
    if g["version"] != version:
        bad(f"version {g['version']} != go version -m {version}")
    settings, deps, main = {}, [], None
    for line in lines[1:]:
        f = line.strip("\t").split("\t")
        if f[0] == "build":
            k, v = f[1].split("=", 1) if not f[1].startswith('"') else \
                re.match(r'("(?:[^"\\]|\\.)*")=(.*)', f[1]).groups()
            settings[go_unquote(k)] = go_unquote(v)
        elif f[0] == "mod":
            main = f[1]
        elif f[0] == "dep":
            deps.append((f[1], f[2] if len(f) > 2 else ""))
    if g["settings"] != settings:
        diff = set(g["settings"].items()) ^ set(settings.items())
        bad(f"settings differ from go version -m: {sorted(diff)[:6]}")
    if g["main"] != main:
        bad(f"main {g['main']} != go version -m {main}")
    got = [(x["path"], x["version"]) for x in g["deps"]]
    if got != deps:
        bad(f"deps {got[:4]} != go version -m {deps[:4]}")


def readelf(args, binary):
    return run("readelf", *args, binary)


def check_linkage(d, binary):
    lk = d["linkage"]
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]",
                        readelf(["-dW"], binary))
    if lk["needed"] != needed:
        bad(f"needed {lk['needed']} != readelf -d {needed}")
    ph = readelf(["-lW"], binary)
    interp = "INTERP" in ph
    dyn = re.search(r"^\s+DYNAMIC\s", ph, re.M) is not None
    etype = re.search(r"Type:\s+(\w+)", readelf(["-hW"], binary)).group(1)
    kind = "dynamic" if interp else \
        "static-pie" if dyn and etype == "DYN" else "static"
    if lk["kind"] != kind:
        bad(f"kind {lk['kind']} != readelf -l {kind}")
    vers = re.findall(r"Name: GLIBC_([0-9][0-9.]*)\s", readelf(["-VW"], binary))
    newest = max(vers, key=lambda v: [int(x) for x in v.split(".")]) \
        if vers else None
    if lk["glibc_min"] != newest:
        bad(f"glibc_min {lk['glibc_min']} != readelf -V {newest}")
    cache = {}
    for m in re.finditer(r"^\s+(\S+) \(([^)]*)\) => (\S+)$",
                         run("ldconfig", "-p"), re.M):
        if "x86-64" in m.group(2) and "hwcap" not in m.group(2):
            cache.setdefault(m.group(1), m.group(3))
    for lib in lk["libraries"]:
        if lib["path"] is None:
            bad(f"library {lib['name']} not found")
            continue
        if lib["size"] != os.stat(lib["path"]).st_size:
            bad(f"library {lib['name']}: size {lib['size']}")
        want = cache.get(lib["name"])
        if want and os.path.realpath(want) != os.path.realpath(lib["path"]):
            bad(f"library {lib['name']}: {lib['path']} != ldconfig -p {want}")
    names = {x["name"] for x in lk["libraries"]}
    if not set(needed) <= names:
        bad(f"libraries {sorted(names)} miss some of {needed}")


def check_imports(d, binary):
    want = {}
    for line in readelf(["--dyn-syms", "-W"], binary).splitlines():
        f = line.split()
        if len(f) >= 8 and f[6] == "UND" and f[0].rstrip(":").isdigit():
            name, _, ver = f[7].partition("@")
            ver = ver.lstrip("@").split(" ")[0] or None
            want[name] = ver
    got = {x["symbol"]: x["version"] for x in d["libc_imports"]}
    if got != want:
        diff = set(got.items()) ^ set(want.items())
        bad(f"imports differ from readelf --dyn-syms: {sorted(diff, key=str)[:6]}")


def package(name):
    end = name.find("[")
    end = len(name) if end < 0 else end
    slash = name.rfind("/", 0, end)
    dot = name.find(".", slash + 1 if slash >= 0 else 0, end)
    return name[:dot] if dot >= 0 else name[:end]


def check_nm(d, binary, go):
    sums, count = {}, {}
    cfuncs, exports = set(), set()
    for line in run(go, "tool", "nm", "-size", "-sort", "address",
                    binary).splitlines():
        f = line.split(None, 3)
        if len(f) < 4 or f[2] not in "Tt":
            continue
        name = f[3]
        if re.search(r"\._C2?func_", name) and not name.startswith("_"):
            cfuncs.add(package(name.split("._C")[0] + ".x"))
        if name.startswith("_cgoexp_"):
            exports.add(name.split("_", 3)[3])
        p = package(name)
        sums[p] = sums.get(p, 0) + int(f[1])
        count[p] = count.get(p, 0) + 1
    # the pclntab's extent of a function runs to the next one: its size
    # as nm gives it plus the padding to the 32-byte function alignment
    ours = {x["package"]: x["text_bytes"] for x in d["go_packages"]}
    for p, v in sorted(ours.items(), key=lambda x: -x[1])[:10]:
        nm = sums.get(p, 0)
        if not nm <= v < nm + 32 * count.get(p, 1):
            bad(f"Go text of {p}: {v}, go tool nm {nm} in "
                f"{count.get(p, 0)} functions")
    pk = {x["package"] for x in d["cgo"]["packages"]}
    if not cfuncs <= pk:
        bad(f"cgo packages {sorted(pk)} miss nm's {sorted(cfuncs)}")
    cbs = {c for x in d["cgo"]["packages"] for c in x["callbacks"]}
    if exports != cbs:
        bad(f"callbacks {sorted(cbs)} != nm's _cgoexp_ {sorted(exports)}")


def check_expect(d, exp):
    pk = {x["package"]: x for x in d["cgo"]["packages"]}
    ids = {x["id"] for x in d["findings"]}
    for e in exp:
        k, _, v = e.partition("=")
        if k == "cgo":
            want = [] if v == "none" else v.split(",")
            if sorted(pk) != sorted(want):
                bad(f"cgo packages {sorted(pk)} != expected {want}")
            if d["cgo"]["enabled"] != bool(want):
                bad(f"cgo.enabled {d['cgo']['enabled']}")
        elif k == "kind" and d["linkage"]["kind"] != v:
            bad(f"kind {d['linkage']['kind']} != expected {v}")
        elif k == "finding" and v not in ids:
            bad(f"no finding {v} in {sorted(ids)}")
        elif k == "no-finding" and v in ids:
            bad(f"finding {v}")
        elif k == "avoid":
            p, t = v.split(":", 1)
            if p not in pk or pk[p]["avoid"] != t or not pk[p]["implicit"]:
                bad(f"{p}: avoid {pk.get(p, {}).get('avoid')} != {t}")
        elif k == "cfunc":
            p, c = v.split(":", 1)
            if p not in pk or c not in pk[p]["c_functions"]:
                bad(f"{p} does not call {c}")
        elif k == "callback":
            p, c = v.split(":", 1)
            if p not in pk or c not in pk[p]["callbacks"]:
                bad(f"{p} does not export {c}")
        elif k == "needs_cgo":
            if v not in pk or not pk[v]["needs_cgo"]:
                bad(f"{v} not needs_cgo")
        elif k == "setting":
            s, val = v.split(":", 1)
            if (d["go"] or {}).get("settings", {}).get(s) != val:
                bad(f"setting {s} != {val}")
        elif k == "libc" and str(d["linkage"]["libc"]).lower() != v:
            bad(f"libc {d['linkage']['libc']} != {v}")
        elif k == "go" and v == "null" and d["go"] is not None:
            bad("go is not null")


def main():
    report, binary, go = sys.argv[1:4]
    rest = sys.argv[4:]
    nm = "--nm" in rest
    exp = [x for x in rest if x != "--nm" and x != "--expect"]
    d = json.load(open(report))
    for k in ("path", "size", "arch", "go", "linkage", "cgo", "sizes",
              "libc_imports", "findings"):
        if k not in d:
            bad(f"no key {k}")
    size = os.stat(binary).st_size
    if d["size"] != size:
        bad(f"size {d['size']} != stat {size}")
    if sorted(d["sizes"]) != sorted(PARTS):
        bad(f"size parts {sorted(d['sizes'])}")
    total = sum(d["sizes"].values())
    if total != size:
        bad(f"parts add up to {total}, the file has {size}")
    if d["cgo"]["c_text_bytes"] != d["sizes"]["c_text"]:
        bad("c_text_bytes != sizes.c_text")
    check_go(d, binary, go)
    check_linkage(d, binary)
    check_imports(d, binary)
    if nm:
        check_nm(d, binary, go)
    check_expect(d, exp)
    name = os.path.basename(binary)
    if problems:
        for p in problems:
            print(f"FAIL {name}: {p}")
        return 1
    s = d["sizes"]
    print(f"ok {name}: {size} bytes = " +
          " + ".join(f"{k} {s[k]}" for k in PARTS) +
          f"; cgo {[x['package'] for x in d['cgo']['packages']]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
