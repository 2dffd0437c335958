# recur train --data D --model M --save OUT: a model file trained on user data. Token ids as int64 with
# variable lengths (a magic model), --resume from the checkpoint, float features with MSE (a sine model,
# targets (N, T) for C = 1), per-step cross-entropy that keeps a chars model's vocabulary, BCE.
. "$(dirname "$0")/lib.sh"
gen() { $PY -c "import sys, random; sys.path.insert(0, '$SRC'); import mkst, math; r = random.Random(5); $1"; }

# 1. magic-style data: 12 steps, lengths 6..12 (0-padded), label = 7 occurs within the length.
run_ok "$RECUR" train magic --epochs 1 --save m.safetensors
gen '
N, T = 400, 12
ids, lens, ys = [], [], []
for s in range(N):
    L = r.randint(6, T)
    seq = [r.choice([v for v in range(1, 20) if v != 7]) for _ in range(L)]
    y = r.random() < 0.4
    if y: seq[r.randrange(L)] = 7
    ids += seq + [0] * (T - L); lens.append(L); ys.append(int(y))
mkst.write("d.safetensors", {"input": ("I64", (N, T), ids), "lengths": ("I64", (N,), lens), "target": ("I64", (N,), ys)})'
run_ok "$RECUR" train --data d.safetensors --model m.safetensors --save o.safetensors --epochs 6 --json
json_lines out.txt
check "$(final val_acc)" ">=" 0.9 "validation accuracy on user data"
[ "$(final epochs)" = "6" ] || fail "expected 6 epochs"
$PY "$SRC/mkst.py" --dump o.safetensors >o.json
steps=$($PY -c 'import json; m = json.load(open("o.json"))["metadata"]; assert m["recur.task"] == "magic"; print(m["recur.optim.step"])')
[ "$steps" = "72" ] || fail "6 epochs of 12 batches should be 72 steps, got $steps"
# --resume restores the optimizer's state and step count.
run_ok "$RECUR" train --data d.safetensors --model o.safetensors --save o2.safetensors --epochs 1 --resume
$PY "$SRC/mkst.py" --dump o2.safetensors >o2.json
steps=$($PY -c 'import json; print(json.load(open("o2.json"))["metadata"]["recur.optim.step"])')
[ "$steps" = "84" ] || fail "resumed step count: expected 84, got $steps"
expect_error 1 "checkpoint holds adam state; the optimizer is sgd" "$RECUR" train --data d.safetensors --model o.safetensors --save o3.safetensors --resume --optimizer sgd

# 2. float features, MSE, targets (N, T): a sine model learns cosines.
run_ok "$RECUR" train sine --epochs 1 --train-size 64 --save s.safetensors
gen '
N, T = 128, 30
x, y = [], []
for s in range(N):
    a = r.random() * 6.283
    w = [math.cos(a + 0.3 * t) for t in range(T + 1)]
    x += w[:-1]; y += w[1:]
mkst.write("c.safetensors", {"input": ("F32", (N, T, 1), x), "target": ("F32", (N, T), y)})'
run_ok "$RECUR" train --data c.safetensors --model s.safetensors --save s2.safetensors --epochs 8 --batch 16 --json
json_lines out.txt
check "$(final val_mse)" "<" "$(epoch_value 1 val_mse)" "validation MSE after 8 epochs vs after 1:"
[ "$($PY -c 'import json,sys; print(json.loads(sys.stdin.readline())["train_loss"] > 0)' <out.txt)" = "True" ] || fail "train_loss"

# 3. per-step cross-entropy on a chars model keeps recur.chars; `recur sample` reads the result.
run_ok "$RECUR" train chars --text "$SRC/data/rnn_notes.txt" --epochs 2 --save ch.safetensors
gen '
d = mkst.read("ch.safetensors")[1]["recur.chars"]
text = open("'"$SRC"'/data/rnn_notes.txt", encoding="utf-8").read()
ids = [d.index(c) for c in text]
T, N = 16, 100
x = [ids[s * T + t] for s in range(N) for t in range(T)]
y = [ids[s * T + t + 1] for s in range(N) for t in range(T)]
mkst.write("t.safetensors", {"input": ("I32", (N, T), x), "target": ("I64", (N, T), y)})'
run_ok "$RECUR" train --data t.safetensors --model ch.safetensors --save ch2.safetensors --epochs 2 --json
json_lines out.txt
final val_ppl >/dev/null || fail "per-step cross-entropy reports no perplexity"
run_ok "$RECUR" sample --model ch2.safetensors --length 40 --prime "The"

# 4. BCE with logits, targets (N, 1), on a sentiment model.
run_ok "$RECUR" train sentiment --epochs 1 --save se.safetensors
gen '
pos, neg = [10, 13, 1, 2, 5, 6, 8, 9, 15, 19], [3, 4, 7, 11, 12, 14, 16, 17, 18, 20]
N, x, y = 200, [], []
for s in range(N):
    p = s % 2 == 0
    x += [r.choice(pos if p else neg) for _ in range(5)]; y.append(float(p))
mkst.write("b.safetensors", {"input": ("I32", (N, 5), x), "target": ("F32", (N, 1), y)})'
run_ok "$RECUR" train --data b.safetensors --model se.safetensors --save se2.safetensors --loss bce_with_logits --epochs 30 --batch 50 --lr 0.01 --json
json_lines out.txt
check "$(final val_acc)" ">=" 0.95 "BCE validation accuracy"
echo "PASS $TEST"
