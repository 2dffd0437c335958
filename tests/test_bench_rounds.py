#!/usr/bin/python3
"""bench/compare_pytorch.py --rounds: each side keeps its median round (an actual measurement), with every
round's median listed; `recur bench --rounds` without --pytorch is refused. Needs no PyTorch.

    test_bench_rounds.py SOURCE_DIR RECUR_BINARY
"""
import importlib.util
import subprocess
import sys

src, recur = sys.argv[1], sys.argv[2]
spec = importlib.util.spec_from_file_location("compare_pytorch", src + "/bench/compare_pytorch.py")
cp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cp)


def line(case, cfg, median, extra=0.0):
    return {"case": {"name": case, "shape": "s"}, "pytorch_config": cfg,
            "timing": {"median_ms": median, "min_ms": median - 1 + extra}}


rounds = [
    [line("a", "1t", 5.0), line("a", "2t", 9.0), line("b", "1t", 1.0)],
    [line("a", "1t", 7.0, 0.5), line("a", "2t", 3.0), line("b", "1t", 2.0)],
    [line("a", "1t", 6.0, 0.25), line("a", "2t", 4.0), {"case": {"name": "b", "shape": "s"}, "pytorch_config": "1t",
                                                       "error": "failed"}],
    [line("a", "1t", 8.0), line("a", "2t", 5.0), line("b", "1t", 3.0)],
]
out = cp.middle_rounds(rounds, lambda t: t["pytorch_config"] + "|" + cp.case_key(t))
got = {(t["case"]["name"], t["pytorch_config"]): t for t in out}
fails = []


def check(cond, what):
    if not cond:
        fails.append(what)


check(len(out) == 3, "one line per configuration and case, got %d" % len(out))
a1 = got[("a", "1t")]["timing"]
# medians 5, 7, 6, 8: the lower middle is 6 — round 3's line, whole (its own min_ms)
check(a1["median_ms"] == 6.0 and a1["min_ms"] == 5.25, "a/1t keeps round 3: %s" % a1)
check(a1["round_medians_ms"] == [5.0, 7.0, 6.0, 8.0] and a1["rounds"] == 4, "a/1t lists every round: %s" % a1)
a2 = got[("a", "2t")]["timing"]
check(a2["median_ms"] == 4.0, "a/2t: medians 9, 3, 4, 5 keep 4: %s" % a2)
b1 = got[("b", "1t")]["timing"]
check(b1["median_ms"] == 2.0 and b1["round_medians_ms"] == [1.0, 2.0, None, 3.0] and b1["rounds"] == 3,
      "b/1t: the failed round is None, the others keep their round: %s" % b1)
check(cp.middle_rounds(rounds[:1], lambda t: t["pytorch_config"]) is rounds[0], "one round: the lines as they are")
check(rounds[0][0]["timing"].get("rounds") is None, "the input lines are not modified")

p = subprocess.run([recur, "bench", "--rounds", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                   universal_newlines=True)
check(p.returncode == 2 and "--rounds is for --pytorch" in p.stderr, "recur bench --rounds alone: %d %s" % (
    p.returncode, p.stderr.strip()))

for f in fails:
    print("FAIL:", f)
print("%d checks failed" % len(fails) if fails else "ok")
sys.exit(1 if fails else 0)
