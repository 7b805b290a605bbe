#!/usr/bin/env bash
# When goroutine snapshots cannot work, the summary says so, why, and what
# the user loses (issue 16, item 14), in the text summary (without -v) and
# in the JSON's "notes". Here: root without CAP_BPF and CAP_SYS_ADMIN (BPF
# maps cannot be created) on a cgo program. With them, no such note.
# (Per process, a Go process whose cgo samples got no snapshot gets
# "goroutine stack snapshots: off for PID (comm): why; N% ...".)
. "$(dirname "$0")/lib.sh"
require_perf
command -v setpriv > /dev/null || fail "no setpriv"
bin="$FIXTURES/go/cgo-rbp-go1.26-default"
[ -x "$bin" ] || fail "no fixture $bin"

timeout 120 setpriv --bounding-set=-bpf,-sys_admin --inh-caps=-bpf,-sys_admin -- \
	"$CGOPROF" record -o "$WORK/off.folded" -o "$WORK/off.json" -- "$bin" -d 1s \
	> /dev/null 2> "$WORK/off.err" || { cat "$WORK/off.err"; fail "record without CAP_BPF failed"; }
grep -q "^goroutine stack snapshots: off: .*CAP_BPF.*; the Go callers of samples in cgo calls may be truncated" \
	"$WORK/off.err" || { cat "$WORK/off.err"; fail "the summary does not say the snapshots were off"; }
python3 - "$WORK/off.json" <<'PY' || fail "the JSON has no note on the snapshots"
import json, sys
notes = json.load(open(sys.argv[1]))["notes"]
assert any(n.startswith("goroutine stack snapshots: off") for n in notes), notes
PY

timeout 120 "$CGOPROF" record -o "$WORK/on.folded" -o "$WORK/on.json" -- "$bin" -d 1s \
	> /dev/null 2> "$WORK/on.err" || { cat "$WORK/on.err"; fail "record failed"; }
! grep -q "goroutine stack snapshots: off" "$WORK/on.err" ||
	{ cat "$WORK/on.err"; fail "a note on snapshots though they worked"; }
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["notes"] == []' "$WORK/on.json" ||
	fail "notes in the JSON though snapshots worked"
echo PASS
