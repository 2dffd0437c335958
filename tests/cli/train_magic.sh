# magic (seeds/001): GRU + additive attention reaches validation accuracy >= 0.95 within the default 5
# epochs; --json lines parse; --trace prints the shapes; the attention display and plots appear; the
# checkpoint loads in `recur infer`, which tells sequences with and without the magic token apart.
. "$(dirname "$0")/lib.sh"
run_ok "$RECUR" train magic --json --trace --plot plots
json_lines out.txt
[ "$(final final)" = "True" ] || fail "last JSON line is not the final summary"
[ "$(final epochs)" = "5" ] || fail "expected 5 epochs"
check "$(epoch_value 5 val_acc)" ">=" 0.95 "validation accuracy after 5 epochs"
check "$(final test_acc)" ">=" 0.95 "test accuracy"
check "$(final test_f1)" ">=" 0.95 "test macro-F1"
grep -qF "attention weights    (B, T)         = (64, 20)" err.txt || fail "--trace lacks the attention shape: $(cat err.txt)"
grep -qF "context              (B, D*H)       = (64, 64)" err.txt || fail "--trace lacks the context shape"
grep -q "^attention over test sample" err.txt || fail "no attention display"
grep -q "confusion" out.txt || fail "final JSON lacks the confusion matrix"
svg_ok plots/loss.svg
svg_ok plots/attention.svg
[ -s magic.safetensors ] || fail "no checkpoint magic.safetensors"
$PY "$SRC/mkst.py" --dump magic.safetensors >dump.json
$PY -c 'import json; d = json.load(open("dump.json")); m = d["metadata"]
assert m["recur.task"] == "magic" and m["recur.head"] == "additive_attention" and m["recur.optim"] == "adam", m
assert "optim.exp_avg.fc.weight" in d["tensors"]' || fail "checkpoint metadata"

# infer: sequences 0..3 hold the magic token 7 (one each, at steps 0, 5, 12, 19), sequences 4..7 do not.
$MKST x.safetensors input I64 8,20 "7 if ix[0] < 4 and ix[1] == [0, 5, 12, 19][ix[0]] else 1 + (ix[0] * 5 + ix[1] * 3) % 18 + ((1 + (ix[0] * 5 + ix[1] * 3) % 18) >= 7)"
run_ok "$RECUR" infer --model magic.safetensors --input x.safetensors --output y.safetensors --json
json_lines out.txt
[ "$(final argmax)" = "[1, 1, 1, 1, 0, 0, 0, 0]" ] || fail "infer argmax $(final argmax), expected [1, 1, 1, 1, 0, 0, 0, 0]"
$PY "$SRC/mkst.py" --dump y.safetensors >y.json
$PY -c 'import json; t = json.load(open("y.json"))["tensors"]
assert t["logits"]["shape"] == [8, 2] and t["output"]["shape"] == [8, 20, 64] and t["h_n"]["shape"] == [1, 8, 64]
assert t["attention"]["shape"] == [8, 20] and "c_n" not in t
a = t["attention"]["values"]
for r in range(8): assert abs(sum(a[r * 20:(r + 1) * 20]) - 1) < 1e-4
for r, pos in enumerate([0, 5, 12, 19]): assert max(range(20), key=lambda k: a[r * 20 + k]) in (pos, pos + 1, pos + 2), r' ||
    fail "infer output tensors"
echo "PASS $TEST"
