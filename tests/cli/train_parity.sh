# parity (seeds/000): an LSTM on raw numbers learns the parity of the sum within the default epochs; the
# checkpoint, run by `recur infer` on all 16 sequences of four 0/1 values, gives each one's parity; --plot
# draws the LSTM gates.
. "$(dirname "$0")/lib.sh"
run_ok "$RECUR" train parity --json --plot plots
json_lines out.txt
check "$(final val_acc)" ">=" 0.95 "validation accuracy"
check "$(final test_acc)" ">=" 0.95 "test accuracy"
svg_ok plots/loss.svg
svg_ok plots/gates.svg
[ ! -e plots/attention.svg ] || fail "attention plot for a model without attention"
$MKST x.safetensors input F32 16,4,1 "(ix[0] >> ix[1]) & 1"
run_ok "$RECUR" infer --model parity.safetensors --input x.safetensors --output y.safetensors --json
want=$($PY -c 'print([bin(s).count("1") % 2 for s in range(16)])')
[ "$(final argmax)" = "$want" ] || fail "infer argmax $(final argmax), expected $want"
$PY "$SRC/mkst.py" --dump y.safetensors >y.json
$PY -c 'import json; t = json.load(open("y.json"))["tensors"]
assert t["logits"]["shape"] == [16, 2] and t["output"]["shape"] == [16, 4, 16]
assert t["h_n"]["shape"] == [1, 16, 16] and t["c_n"]["shape"] == [1, 16, 16] and "attention" not in t
# the last step of the output is h_n
o, h = t["output"]["values"], t["h_n"]["values"]
assert all(abs(o[s * 64 + 3 * 16 + k] - h[s * 16 + k]) < 1e-6 for s in range(16) for k in range(16))' ||
    fail "infer output tensors"
echo "PASS $TEST"
