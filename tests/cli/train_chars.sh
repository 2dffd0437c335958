# chars (seeds/004 exercise 2): a character model of a text file; perplexity far below the vocabulary;
# the vocabulary is stored as recur.chars; `recur sample` generates from it, reproducibly.
. "$(dirname "$0")/lib.sh"
run_ok "$RECUR" train chars --text "$SRC/data/rnn_notes.txt" --json --save chars.safetensors
json_lines out.txt
vocab=$($PY -c 'import sys; print(len(set(open(sys.argv[1], encoding="utf-8").read())))' "$SRC/data/rnn_notes.txt")
check "$(final val_ppl)" "<" 15 "validation perplexity (vocabulary $vocab)"
check "$(epoch_value 1 val_ppl)" ">" "$(final val_ppl)" "first epoch's perplexity vs the last:"
$PY "$SRC/mkst.py" --dump chars.safetensors >dump.json
$PY -c 'import json, sys; m = json.load(open("dump.json"))["metadata"]
assert m["recur.chars"] == "".join(sorted(set(open(sys.argv[1], encoding="utf-8").read()))), m["recur.chars"]' \
    "$SRC/data/rnn_notes.txt" || fail "recur.chars is not the sorted vocabulary"
run_ok "$RECUR" sample --model chars.safetensors --length 120 --prime "The cell" --seed 3
cp out.txt s1.txt
$PY -c 'import sys; t = open("s1.txt", encoding="utf-8").read(); assert t.startswith("The cell") and len(t) == 8 + 120 + 1, len(t)' ||
    fail "sample output: $(cat s1.txt)"
run_ok "$RECUR" sample --model chars.safetensors --length 120 --prime "The cell" --seed 3
cmp -s out.txt s1.txt || fail "sampling with the same seed differs"
run_ok "$RECUR" sample --model chars.safetensors --length 60 --temperature 0
echo "greedy: $(cat out.txt)"
expect_error 1 "not in the model's vocabulary" "$RECUR" sample --model chars.safetensors --prime "Q#"
echo "PASS $TEST"
