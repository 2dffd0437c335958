# Shared helpers for the CLI tests. Each test script is run by ctest as
#   sh SCRIPT.sh RECUR_BINARY SOURCE_DIR WORK_DIR PYTHON
# and sources this file. Every test runs on the reference backend (RECUR_BACKEND=ref, set by CMake).
set -u
RECUR=$1
SRC=$2
WORK=$3
PY=$4
MKST="$PY $SRC/mkst.py"
TEST=$(basename "$0" .sh)
DIR="$WORK/$TEST"
rm -rf "$DIR"
mkdir -p "$DIR"
cd "$DIR" || exit 1

fail() {
    echo "FAIL ($TEST): $*" >&2
    exit 1
}

# run_ok CMD...: run, stdout to out.txt and stderr to err.txt; must exit 0.
run_ok() {
    "$@" >out.txt 2>err.txt
    rc=$?
    [ $rc -eq 0 ] || fail "'$*' exited $rc: $(cat err.txt)"
}

# expect_error RC TEXT CMD...: CMD must exit RC and print exactly one line on stderr, containing TEXT.
expect_error() {
    want=$1
    text=$2
    shift 2
    "$@" >out.txt 2>err.txt
    rc=$?
    [ $rc -eq "$want" ] || fail "'$*' exited $rc, expected $want; stderr: $(cat err.txt)"
    grep -qF -- "$text" err.txt || fail "'$*': stderr lacks '$text': $(cat err.txt)"
    lines=$(wc -l <err.txt)
    [ "$lines" -eq 1 ] || fail "'$*': expected one line on stderr, got $lines: $(cat err.txt)"
    echo "ok: exit $rc: $(cat err.txt)"
}

# json_lines FILE: every line of FILE parses as JSON (and there is at least one).
json_lines() {
    $PY -c 'import json,sys; L=[json.loads(l) for l in sys.stdin]; assert L, "no JSON lines"' <"$1" ||
        fail "$1 is not JSON lines: $(head -c 400 "$1")"
}

# final KEY [FILE]: the value of KEY in the last JSON line of FILE (default out.txt).
final() {
    $PY -c 'import json,sys; print(json.loads(sys.stdin.readlines()[-1])[sys.argv[1]])' "$1" <"${2:-out.txt}"
}

# epoch_value N KEY [FILE]: KEY of the JSON line of epoch N.
epoch_value() {
    $PY -c 'import json,sys
for l in sys.stdin:
    o = json.loads(l)
    if o.get("epoch") == int(sys.argv[1]): print(o[sys.argv[2]])' "$1" "$2" <"${3:-out.txt}"
}

# check X OP Y: a numeric comparison (OP one of < <= > >=), failing with a message.
check() {
    $PY -c 'import sys; x, op, y = float(sys.argv[1]), sys.argv[2], float(sys.argv[3]); sys.exit(0 if eval("x %s y" % op) else 1)' \
        "$1" "$2" "$3" || fail "expected $4 $2 $3, got $1"
    echo "ok: $4 = $1 ($2 $3)"
}

# svg_ok FILE: exists and is well-formed XML with an <svg> root.
svg_ok() {
    [ -s "$1" ] || fail "$1 missing"
    $PY -c 'import sys, xml.dom.minidom as m; d = m.parse(sys.argv[1]); assert d.documentElement.tagName == "svg"' "$1" ||
        fail "$1 is not well-formed SVG"
    echo "ok: $1"
}
