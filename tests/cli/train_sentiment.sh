# sentiment (seeds/004 mini-challenge): embedding 16, LSTM 32, BCE, full batch, 100 epochs: accuracy 1.
. "$(dirname "$0")/lib.sh"
run_ok "$RECUR" train sentiment
grep -q "^epoch 100/100 " out.txt || fail "expected 100 epochs: $(tail -3 out.txt)"
acc=$(sed -n 's/^test set.*test_acc \([0-9.]*\).*/\1/p' out.txt)
check "$acc" ">=" 0.95 "test accuracy"
grep -q "confusion matrix" out.txt || fail "no confusion matrix"
grep -A3 "confusion matrix" out.txt | grep -q "positive" || fail "confusion matrix lacks class names"
# Words 1..20 in the seed's sorted order: great = 10, love = 13, awful = 3, worst = 20; padding 0.
$MKST x.safetensors input I32 2,10 "[10, 13, 10, 10, 13, 0, 0, 0, 0, 0, 3, 20, 3, 3, 20, 0, 0, 0, 0, 0][i]" lengths I32 2 "5"
run_ok "$RECUR" infer --model sentiment.safetensors --input x.safetensors --output y.safetensors
$PY "$SRC/mkst.py" --dump y.safetensors >y.json
$PY -c 'import json; l = json.load(open("y.json"))["tensors"]["logits"]
assert l["shape"] == [2, 1] and l["values"][0] > 0 > l["values"][1], l' || fail "positive/negative sentences"
echo "PASS $TEST"
