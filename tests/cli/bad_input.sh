# Bad input: each case fails with one line on stderr naming the problem and a non-zero exit status
# (2 for usage errors, 1 for runtime errors); a failed run leaves an existing checkpoint untouched.
. "$(dirname "$0")/lib.sh"
# Usage errors.
expect_error 2 "unknown task 'magik'" "$RECUR" train magik
expect_error 2 "unknown flag '--bogus'" "$RECUR" train magic --bogus
expect_error 2 "unknown flag '--hiden'" "$RECUR" train magic --hiden=4
expect_error 2 "'--epochs' needs a value" "$RECUR" train magic --epochs
expect_error 2 "--lr: 'fast' is not a finite number" "$RECUR" train magic --lr fast
expect_error 2 "--epochs: '2.5' is not an integer" "$RECUR" train magic --epochs 2.5
expect_error 2 "--hidden: 0 is outside" "$RECUR" train magic --hidden 0
expect_error 2 "--cell: 'lstmm' is not one of" "$RECUR" train magic --cell lstmm
expect_error 2 "--optimizer: 'adagrad' is not one of" "$RECUR" train magic --optimizer adagrad
expect_error 2 "name a task" "$RECUR" train
expect_error 2 "the chars task needs --text FILE" "$RECUR" train chars
expect_error 2 "unknown flag '--bogus'" "$RECUR" infer --bogus
expect_error 2 "needs --model M, --input X and --output Y" "$RECUR" infer --model x.safetensors
expect_error 2 "needs --model" "$RECUR" sample
expect_error 2 "unknown verb 'trian'" "$RECUR" trian
# Task / flag combinations.
expect_error 2 "the sine task predicts every step; --attention additive needs a per-sequence task" "$RECUR" train sine --attention additive
expect_error 2 "--text is for the chars task" "$RECUR" train magic --text "$SRC/data/rnn_notes.txt"
expect_error 2 "--dropout: 1 is outside" "$RECUR" train magic --dropout 1
# Missing and malformed files.
expect_error 1 "nope.txt: cannot open" "$RECUR" train chars --text nope.txt
printf 'ab\377cd\n' >bad.txt
expect_error 1 "bad.txt: byte 2 is not valid UTF-8" "$RECUR" train chars --text bad.txt
printf 'abcabc' >short.txt
expect_error 1 "short.txt: 6 characters make 0 sample(s)" "$RECUR" train chars --text short.txt
expect_error 1 "missing.safetensors: cannot open" "$RECUR" infer --model missing.safetensors --input x.safetensors --output y.safetensors
echo "not a safetensors file at all" >garbage.safetensors
expect_error 1 "garbage.safetensors: header length" "$RECUR" infer --model garbage.safetensors --input x.safetensors --output y.safetensors
run_ok "$RECUR" train parity --epochs 2 --save p.safetensors
head -c 300 p.safetensors >trunc.safetensors
expect_error 1 "trunc.safetensors" "$RECUR" infer --model trunc.safetensors --input x.safetensors --output y.safetensors
expect_error 1 "missing.safetensors: cannot open" "$RECUR" train --data missing.safetensors --model p.safetensors --save o.safetensors
expect_error 2 "needs --save" "$RECUR" train --data d.safetensors --model p.safetensors
expect_error 1 "not a character model (no 'recur.chars'" "$RECUR" sample --model p.safetensors
# Wrong dtypes and shapes (p.safetensors reads features (B, T, 1)).
$MKST ids.safetensors input I32 2,4 "1"
expect_error 1 "tensor 'input' is I32 (2, 4); this model reads float32 features (B, T, 1)" "$RECUR" infer --model p.safetensors --input ids.safetensors --output y.safetensors
$MKST wide.safetensors input F32 2,4,3 "0.5"
expect_error 1 "tensor 'input' is F32 (2, 4, 3); this model reads float32 features (B, T, 1)" "$RECUR" infer --model p.safetensors --input wide.safetensors --output y.safetensors
$MKST noinput.safetensors inputs F32 2,4,1 "0.5"
expect_error 1 "no tensor 'input'" "$RECUR" infer --model p.safetensors --input noinput.safetensors --output y.safetensors
$MKST nan.safetensors input F32 2,4,1 "float('nan') if i == 5 else 0.5"
expect_error 1 "tensor 'input' holds NaN at [1, 1, 0]" "$RECUR" infer --model p.safetensors --input nan.safetensors --output y.safetensors
$MKST h0.safetensors input F32 2,4,1 "0.5" h0 F32 1,3,16 "0"
expect_error 1 "tensor 'h0' has shape (1, 3, 16); expected (1, 2, 16)" "$RECUR" infer --model p.safetensors --input h0.safetensors --output y.safetensors
$MKST len.safetensors input F32 2,4,1 "0.5" lengths I32 2 "5"
expect_error 1 "lengths[0] = 5 is outside [1, 4]" "$RECUR" infer --model p.safetensors --input len.safetensors --output y.safetensors
run_ok "$RECUR" train magic --epochs 1 --save m.safetensors
$MKST big.safetensors input I64 2,20 "2**40 if i == 23 else 3"
expect_error 1 "value 1099511627776 at [1, 3] does not fit in int32" "$RECUR" infer --model m.safetensors --input big.safetensors --output y.safetensors
$MKST oov.safetensors input I64 2,20 "20 if i == 23 else 3"
expect_error 1 "input[1, 3] = 20 is outside the model's vocabulary [0, 20)" "$RECUR" infer --model m.safetensors --input oov.safetensors --output y.safetensors
$MKST c0.safetensors input I32 2,20 "3" c0 F32 1,2,64 "0"
expect_error 1 "tensor 'c0' is for LSTM models; this one is gru" "$RECUR" infer --model m.safetensors --input c0.safetensors --output y.safetensors
$MKST d1.safetensors input I64 10,20 "3" target F32 10 "1.0"
expect_error 1 "tensor 'target' is F32; cross_entropy needs integer class ids (N)" "$RECUR" train --data d1.safetensors --model m.safetensors --save o.safetensors --loss cross_entropy
$MKST d2.safetensors input I64 10,20 "3" target I64 10,2 "1"
expect_error 1 "tensor 'target' has shape (10, 2); expected (10) class ids" "$RECUR" train --data d2.safetensors --model m.safetensors --save o.safetensors
$MKST d3.safetensors input I64 10,20 "3" target I64 10 "2"
expect_error 1 "target value 2 (element 0) is not a class of this model [0, 2)" "$RECUR" train --data d3.safetensors --model m.safetensors --save o.safetensors
$MKST d4.safetensors input F32 10,20,1 "3" target I64 10 "1"
expect_error 1 "tensor 'input' is F32 (10, 20, 1); this model embeds token ids" "$RECUR" train --data d4.safetensors --model m.safetensors --save o.safetensors
$MKST d5.safetensors target I64 10 "1"
expect_error 1 "no tensor 'input'" "$RECUR" train --data d5.safetensors --model m.safetensors --save o.safetensors
expect_error 2 "the model file fixes the architecture" "$RECUR" train --data d3.safetensors --model m.safetensors --save o.safetensors --hidden 8

# A loss that turns infinite or NaN: one line naming the epoch and batch (infinite on one backend, NaN on another: overflow order differs); the checkpoint on disk from
# an earlier run is left as it was (the library writes checkpoints atomically, and none is written here).
cp p.safetensors keep.safetensors
before=$(cksum <keep.safetensors)
expect_error 1 "epoch 1, batch 3 of 3: loss is" "$RECUR" train sine --optimizer sgd --lr 1e18 --train-size 96 --epochs 2 --save keep.safetensors
[ "$(cksum <keep.safetensors)" = "$before" ] || fail "a failed run changed the checkpoint"
ls -a | grep -q '^\.keep\.safetensors\..*tmp\|keep.safetensors.tmp' && fail "temporary checkpoint left behind"
# --json: the failure still goes to stderr, stdout stays empty.
"$RECUR" train sine --optimizer sgd --lr 1e18 --train-size 96 --epochs 2 --save keep.safetensors --json >out.txt 2>err.txt
[ $? -eq 1 ] || fail "diverging --json run should exit 1"
[ ! -s out.txt ] || fail "--json printed on stdout before failing: $(cat out.txt)"
grep -q "training diverged" err.txt || fail "no divergence message with --json"
echo "PASS $TEST"
