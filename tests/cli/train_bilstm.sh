# bilstm (seeds/002 stand-in): the label is the polarity of the first word, so the reverse direction's
# final state holds it. Sizes 32/32 instead of the seed's 256/256 (minutes on the reference backend).
# Bidirectional: accuracy >= 0.95 within the default 5 epochs; forward-only: far behind after 2.
. "$(dirname "$0")/lib.sh"
run_ok "$RECUR" train bilstm --embed 32 --hidden 32 --json --trace
json_lines out.txt
check "$(final test_acc)" ">=" 0.95 "bidirectional test accuracy"
grep -qF "h_n[-2] ++ h_n[-1]   (B, D*H)       = (64, 64)" err.txt || fail "--trace lacks the concatenated final states: $(cat err.txt)"
grep -qF "h_n                  (L*D, B, H)    = (2, 64, 32)" err.txt || fail "--trace lacks h_n (2, 64, 32)"
bi2=$(epoch_value 2 val_acc)
run_ok "$RECUR" train bilstm --embed 32 --hidden 32 --no-bidirectional --epochs 2 --json --save uni.safetensors
uni2=$(final val_acc)
check "$bi2" ">=" 0.95 "bidirectional validation accuracy after 2 epochs"
check "$uni2" "<" 0.8 "forward-only validation accuracy after 2 epochs"
echo "PASS $TEST"
