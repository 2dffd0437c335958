#!/usr/bin/python3
"""bench/targets.py's summary, on results written by hand: per-round ratios against the fastest reference
configuration of that round, the median over rounds, the SGEMM table parsed, 1-thread over 2-thread time per
round, "not measured" where a side is missing, and the count of targets not met. Needs no PyTorch.

    test_bench_targets.py SOURCE_DIR
"""
import contextlib
import importlib.util
import io
import json
import os
import re
import sys
import tempfile

src = sys.argv[1]
spec = importlib.util.spec_from_file_location("targets", src + "/bench/targets.py")
tg = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tg)
fails = []


def check(cond, what):
    if not cond:
        fails.append(what)


def line(backend, case, rounds, **extra):
    t = {"backend": {"name": backend}, "case": {"name": case, "shape": "s"},
         "timing": {"median_ms": sorted(rounds)[(len(rounds) - 1) // 2], "round_medians_ms": rounds},
         "machine": {"hostname": "h", "cpu": "c", "cpu_id": "i", "caches": "k", "cores": 2}}
    t.update(extra)
    return t


compare = [
    line("cpu", "train.medium", [10.0, 20.0, 10.0]),
    line("cpu", "train.large", [100.0, 100.0, 100.0]),
    line("cpu", "layer.gru.fwd_bwd", [10.0, 10.0, 10.0]),
    line("cpu", "train.seed001", [1.0, 1.0, 1.0]),
    line("cpu", "infer.medium", [10.0, 10.0, 10.0]),
    line("cpu", "infer.large", [100.0, 100.0, 100.0]),
    # round 1: 2t is the faster configuration (30 / 20 = 1.5); rounds 0 and 2: 1t (35 / 10, 40 / 10)
    line("pytorch", "train.medium", [35.0, 45.0, 40.0], pytorch_config="1t"),
    line("pytorch", "train.medium", [50.0, 30.0, 50.0], pytorch_config="2t-passive", best=True),
    line("pytorch", "train.large", [120.0, 110.0, 100.0], pytorch_config="2t-passive", best=True),
    line("pytorch", "layer.gru.fwd_bwd", [20.0, 20.0, 20.0], pytorch_config="2t-passive", best=True),
    line("pytorch", "train.seed001", [5.0, 3.0, 4.5], pytorch_config="1t", best=True),
    line("onednn", "infer.medium", [11.0, 9.0, 10.5], onednn_config="onednn-2t", best=True),
    # infer.large: no oneDNN line -> not measured
]
sgemm = """cpu_sgemm (avx512) vs OpenBLAS x, 2 threads, best of 5 interleaved rounds
shape                M x N x K            recur GF/s     OpenBLAS    ratio
medium xproj NT      6400x1024x256             413.2        187.9     2.20
large step NN        64x2048x512               150.0        180.0     0.83
"""
scaling = []
for r, (t1, t2) in enumerate([(90.0, 50.0), (90.0, 45.0), (88.0, 55.0)]):
    scaling.append(dict(line("cpu", "train.medium", [t1]), round=r, threads_run=1))
    scaling.append(dict(line("cpu", "train.medium", [t2]), round=r, threads_run=2))
    scaling.append(dict(line("cpu", "infer.medium", [36.0]), round=r, threads_run=1))
    scaling.append(dict(line("cpu", "infer.medium", [18.0]), round=r, threads_run=2))

with tempfile.TemporaryDirectory() as d:
    with open(os.path.join(d, "compare.jsonl"), "w") as f:
        f.write("".join(json.dumps(t) + "\n" for t in compare))
    with open(os.path.join(d, "sgemm.txt"), "w") as f:
        f.write(sgemm)
    with open(os.path.join(d, "scaling.jsonl"), "w") as f:
        f.write("".join(json.dumps(t) + "\n" for t in scaling))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        unmet = tg.summarise(d)
text = out.getvalue()
rows = {}  # (target, case) -> (measured, met, rest)
for row in text.splitlines()[2:]:
    m = re.match(r"^(\S+)\s+(.*?)\s+([\d.]+|-)\s+([\d.]+)\s+(yes|NO|-)\s+(.*)$", row)
    check(m is not None, "row not parsed: %s" % row)
    if m:
        rows[(m.group(1), m.group(2))] = (m.group(3), m.group(5), m.group(6))
print(text)


def row(target, case):
    return rows.get((target, case), ("?", "?", "?"))


# train.medium rounds: 35/10, 30/20, 40/10 -> 3.5 1.5 4.0 (each round's fastest configuration), median 3.5
check(row("train", "train.medium")[:2] == ("3.500", "yes"), "train.medium: %s" % (row("train", "train.medium"),))
check(row("train", "train.medium")[2].startswith("3.500 1.500 4.000;"), "train.medium per-round ratios")
check(row("train", "train.large")[:2] == ("1.100", "NO"), "train.large 1.1 < 1.3: not met")
check(row("seed001", "train.seed001")[:2] == ("4.500", "yes"), "seed001 5 3 4.5 -> 4.5, met")
check(row("infer", "infer.medium")[:2] == ("1.050", "yes"), "infer.medium: %s" % (row("infer", "infer.medium"),))
check(row("infer", "infer.large")[:2] == ("-", "-") and "no oneDNN result" in row("infer", "infer.large")[2],
      "infer.large without oneDNN is not measured")
check(row("sgemm", "large step NN 64x2048x512")[:2] == ("0.830", "NO"), "sgemm large step 0.83: not met")
check(row("sgemm", "medium xproj NT 6400x1024x256")[:2] == ("2.200", "yes"), "sgemm xproj parsed")
# train.medium 90/50, 90/45, 88/55 -> 1.8 2.0 1.6, median 1.8: met (>= 1.8); infer.medium 2.0
check(row("scaling", "train.medium")[:2] == ("1.800", "yes"), "scaling train.medium: %s" % (row("scaling", "train.medium"),))
check(row("scaling", "infer.medium")[:2] == ("2.000", "yes"), "scaling infer.medium")
# not met: train.large, sgemm large step; not measured: infer.large
check(unmet == 3, "targets not met or not measured: %d, expected 3" % unmet)

if fails:
    print("FAIL:\n  " + "\n  ".join(fails))
    sys.exit(1)
print("ok")
