# sine (seeds/004 exercise 4): a 2-layer LSTM predicting the next value at every step. The default 50
# epochs take ~100 s on the reference backend, so this test runs 10: the MSE (~0.01) is then already
# below the notebook's own final quality (50 full-batch Adam steps end near 0.055) and below the 0.031
# of "repeat the current value".
. "$(dirname "$0")/lib.sh"
run_ok "$RECUR" train sine --epochs 10 --json --plot plots --save sine.safetensors
json_lines out.txt
check "$(final val_mse)" "<" 0.02 "validation MSE after 10 epochs"
check "$(final test_mse)" "<" 0.02 "test MSE after 10 epochs"
check "$(epoch_value 10 train_loss)" "<" "$(epoch_value 1 train_loss)" "training loss at epoch 10 vs epoch 1:"
svg_ok plots/loss.svg
svg_ok plots/predictions.svg
svg_ok plots/gates.svg
# infer with initial states: h0/c0 of zeros equal no states; per-step logits (B, T, 1).
$MKST x.safetensors input F32 2,50,1 "math.sin(0.3 + ix[0] + 4 * math.pi * ix[1] / 50)"
$MKST x0.safetensors input@x.safetensors F32 2,50,1 "" h0 F32 2,2,32 "0" c0 F32 2,2,32 "0"
run_ok "$RECUR" infer --model sine.safetensors --input x.safetensors --output y.safetensors
run_ok "$RECUR" infer --model sine.safetensors --input x0.safetensors --output y0.safetensors
$PY "$SRC/mkst.py" --dump y.safetensors >y.json
$PY "$SRC/mkst.py" --dump y0.safetensors >y0.json
$PY -c 'import json, math; a = json.load(open("y.json"))["tensors"]; b = json.load(open("y0.json"))["tensors"]
assert a["logits"]["shape"] == [2, 50, 1] and a["c_n"]["shape"] == [2, 2, 32]
assert a["logits"]["values"] == b["logits"]["values"]
# the prediction follows the wave: small error after the first steps
err = [(a["logits"]["values"][s * 50 + t] - math.sin(0.3 + s + 4 * math.pi * (t + 1) / 50)) ** 2 for s in range(2) for t in range(10, 50)]
assert sum(err) / len(err) < 0.02, sum(err) / len(err)' || fail "infer on the sine model"
echo "PASS $TEST"
