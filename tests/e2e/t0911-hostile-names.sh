#!/usr/bin/env bash
# Issue 16 item 5: names from the target (its path, its comm) that are not
# valid UTF-8 and hold control characters: every JSON output is still valid
# JSON (strict UTF-8, each byte that starts no UTF-8 sequence as \u00XX),
# the SVG is still XML, folded lines hold no control character, and the
# name can still be read back from the JSON.
. "$(dirname "$0")/lib.sh"
require_perf

cat > "$WORK/weird.c" <<'EOF'
#include <sys/prctl.h>
#include <time.h>
int main(void)
{
	struct timespec t0, t;
	volatile unsigned long x = 0;

	prctl(PR_SET_NAME, "w\xff\xfe\x01\"\\\n\tz", 0, 0, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		for (int i = 0; i < 100000; i++)
			x += i;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000000000L + t.tv_nsec - t0.tv_nsec <
		 300000000L);
	return 0;
}
EOF
bin="$WORK/$(printf 'we\xffird\x02\x1b[31m"bin\\')"
cc -O1 -o "$bin" "$WORK/weird.c" || fail "cannot build the fixture"
cd "$WORK"

timeout 60 "$CGOPROF" record --pid-root -o r.json -o r.folded -o r.svg \
	-o r.pb.gz -- "$bin" > record.log 2>&1 || { cat record.log; fail "record"; }
timeout 60 "$CGOPROF" mem -o m.json -- "$bin" > mem.log 2>&1 ||
	{ cat mem.log; fail "mem"; }
timeout 120 "$CGOPROF" coldstart -n 2 -o c.json -o c.folded -- "$bin" \
	> coldstart.log 2>&1 || { cat coldstart.log; fail "coldstart"; }
rc=0
timeout 60 "$CGOPROF" audit -o a.json "$bin" > audit.log 2>&1 || rc=$?
[ $rc = 0 ] || { cat audit.log; fail "audit: exit status $rc"; }

python3 - "$bin" <<'EOF' || fail "an output is not what a reader can take"
import json, sys, xml.dom.minidom

raw = sys.argv[1].encode("utf-8", "surrogateescape")

def as_json_text(b):
    """the bytes as cgoprof's JSON carries them: valid UTF-8 as it is, any
    other byte as the code point of its value"""
    out, i = [], 0
    while i < len(b):
        for n in (4, 3, 2, 1):
            try:
                out.append(b[i:i + n].decode("utf-8"))
                i += n
                break
            except UnicodeDecodeError:
                pass
        else:
            out.append(chr(b[i]))
            i += 1
    return "".join(out)

want = as_json_text(raw)

def strings(v):
    if isinstance(v, str):
        yield v
    elif isinstance(v, dict):
        for k, x in v.items():
            yield k
            yield from strings(x)
    elif isinstance(v, list):
        for x in v:
            yield from strings(x)

for name in ("r.json", "m.json", "c.json", "a.json"):
    data = open(name, "rb").read()
    text = data.decode("utf-8")          # strict: fails on a raw 0xff
    doc = json.loads(text)               # strict: fails on a raw control byte
    found = [s for s in strings(doc) if want in s]
    print("%s: valid JSON, %d strings hold the path" % (name, len(found)))
    if not found:
        sys.exit("%s: the program's path is not in it as %r" % (name, want))

xml.dom.minidom.parse("r.svg")
print("r.svg: valid XML")
for name in ("r.folded", "c.folded"):
    for n, line in enumerate(open(name, "rb"), 1):
        body = line.rstrip(b"\n")
        bad = [c for c in body if c < 0x20 or c == 0x7f]
        if bad:
            sys.exit("%s:%d: control bytes %r in %r" % (name, n, bad, body[:80]))
    print("%s: no control byte in a line" % name)
for name in ("record.log", "mem.log", "coldstart.log", "audit.log"):
    data = open(name, "rb").read()
    bad = sorted(set(c for c in data if (c < 0x20 and c not in b"\n\t") or c == 0x7f))
    if bad or b"\xc2\x9b" in data:
        sys.exit("%s: control bytes %r reach the terminal" % (name, bad))
    print("%s: no control byte" % name)
EOF
echo "PASS: hostile names survive every output"
