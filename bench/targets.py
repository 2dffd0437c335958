#!/usr/bin/python3
"""Measure the cpu backend's performance targets in one run and say, for each, its ratio and whether it is met.

    bench/targets.py [--bin DIR] [--rounds N] [--out DIR]   measure (about 5 minutes on 2 cores), write the
                                                             raw results to DIR and print the summary
    bench/targets.py --from DIR                              print the summary of results written earlier

The targets (docs/bench.md, "Targets"), each a ratio of times taken in turn within this one run, so that a
slow phase of a shared machine falls on both sides alike:

  sgemm    recur-bench-sgemm 2 N: cpu_sgemm over OpenBLAS's cblas_sgemm, every recurrent shape   >= 0.9
  train    train.medium, train.large (LSTM), layer.gru.fwd_bwd (GRU, forward + backward):
           PyTorch's best configuration over recur                                               >= 1.3
  seed001  train.seed001 (the seeds/001 model's training step): PyTorch's best over recur        >= 4
  infer    infer.medium, infer.large: oneDNN's best configuration over recur                     >= 1
  scaling  train.medium, infer.medium: recur on 1 thread over recur on 2, alternating runs       >= 1.8

PyTorch and oneDNN are run through bench/compare_pytorch.py (--rounds N: recur, every PyTorch and oneDNN
configuration, then again); a side that is missing (no python3-torch, no recur-bench-onednn, no
recur-bench-sgemm) leaves its targets unmeasured, and the summary says so. "measured" is the median over the
rounds of the per-round ratio; the rounds follow.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys

TRAIN = ["train.medium", "train.large", "layer.gru.fwd_bwd"]
INFER = ["infer.medium", "infer.large"]
SCALING = ["train.medium", "infer.medium"]
CASES = ["train.seed001"] + TRAIN + INFER


def run(cmd, out, env=None):
    print("# running: %s" % " ".join(cmd), file=sys.stderr, flush=True)
    with open(out, "a") as f:
        p = subprocess.run(cmd, stdout=f, env=env, universal_newlines=True)
    return p.returncode


def measure(ns):
    recur = os.path.join(ns.bin, "recur")
    if not os.access(recur, os.X_OK):
        sys.exit("targets: no recur program at %s (--bin DIR)" % recur)
    os.makedirs(ns.out, exist_ok=True)
    for name in ("compare.jsonl", "sgemm.txt", "scaling.jsonl"):
        if os.path.exists(os.path.join(ns.out, name)):
            os.remove(os.path.join(ns.out, name))
    here = os.path.dirname(os.path.abspath(__file__))
    run([sys.executable, os.path.join(here, "compare_pytorch.py"), "--recur", recur, "--json", "--rounds",
         str(ns.rounds), "--", "--backend", "cpu", "--case", ",".join(CASES), "--max-time", "6", "--repeat", "5"],
        os.path.join(ns.out, "compare.jsonl"))
    sgemm = os.path.join(ns.bin, "recur-bench-sgemm")
    if os.access(sgemm, os.X_OK):
        run([sgemm, "2", str(max(ns.rounds, 5))], os.path.join(ns.out, "sgemm.txt"))
    for r in range(ns.rounds):
        for threads in (1, 2):
            env = dict(os.environ, RECUR_NUM_THREADS=str(threads))
            lines = os.path.join(ns.out, "scaling.tmp")
            if os.path.exists(lines):
                os.remove(lines)
            run([recur, "bench", "--json", "--backend", "cpu", "--case", ",".join(SCALING), "--repeat", "5",
                 "--max-time", "8"], lines, env)
            with open(lines) as f, open(os.path.join(ns.out, "scaling.jsonl"), "a") as o:
                for line in f:
                    if line.strip():
                        t = json.loads(line)
                        t["round"], t["threads_run"] = r, threads
                        o.write(json.dumps(t) + "\n")
            os.remove(lines)


def read_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def round_ratios(ref_lines, recur_line):
    """Per round: the fastest reference configuration's time in that round over recur's time in that round
    (compare_pytorch's --rounds lines carry every round's median; a single round has just its median)."""
    def rounds(t):
        return t["timing"].get("round_medians_ms") or [t["timing"]["median_ms"]]
    mine = rounds(recur_line)
    out = []
    for i, m in enumerate(mine):
        refs = [rounds(t)[i] for t in ref_lines if "timing" in t and i < len(rounds(t)) and rounds(t)[i]]
        if m and refs:
            out.append(min(refs) / m)
    return out


def summarise(d):
    rows = []  # (target, case, ratios, required, note)
    lines = read_jsonl(os.path.join(d, "compare.jsonl"))
    mine = {t["case"]["name"]: t for t in lines if t.get("backend", {}).get("name") == "cpu" and "timing" in t}
    torch = [t for t in lines if t.get("backend", {}).get("name") == "pytorch"]
    dnnl = [t for t in lines if t.get("backend", {}).get("name") == "onednn"]

    def vs(target, case, refs, required, what):
        refs = [t for t in refs if t["case"]["name"] == case]
        if case not in mine or not refs:
            rows.append((target, case, [], required, "not measured (%s)" % ("no recur result" if case not in mine
                                                                            else "no %s result" % what)))
            return
        best = next((t for t in refs if t.get("best")), refs[0])
        cfg = best.get("pytorch_config") or best.get("onednn_config") or "?"
        rows.append((target, case, round_ratios(refs, mine[case]), required, "%s best: %s" % (what, cfg)))

    for case in TRAIN:
        vs("train", case, torch, 1.3, "PyTorch")
    vs("seed001", "train.seed001", torch, 4.0, "PyTorch")
    for case in INFER:
        vs("infer", case, dnnl, 1.0, "oneDNN")

    sgemm = os.path.join(d, "sgemm.txt")
    if os.path.exists(sgemm):
        with open(sgemm) as f:
            for line in f:
                m = re.match(r"^(.*?)\s+(\d+x\d+x\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*$", line)
                if m:
                    rows.append(("sgemm", "%s %s" % (m.group(1).strip(), m.group(2)), [float(m.group(5))], 0.9,
                                 "best of the rounds, each side"))
    else:
        rows.append(("sgemm", "-", [], 0.9, "not measured (no recur-bench-sgemm: libopenblas-dev)"))

    scal = read_jsonl(os.path.join(d, "scaling.jsonl"))
    for case in SCALING:
        per = {}
        for t in scal:
            if t["case"]["name"] == case and "timing" in t:
                per.setdefault(t["round"], {})[t["threads_run"]] = t["timing"]["median_ms"]
        ratios = [p[1] / p[2] for _, p in sorted(per.items()) if 1 in p and 2 in p and p[2] > 0]
        rows.append(("scaling", case, ratios, 1.8, "1 thread / 2 threads" if ratios else "not measured"))

    machine = (lines or scal or [{}])[0].get("machine", {})
    print("machine: %s, %s (%s; %s), %s cores" % (machine.get("hostname", "?"), machine.get("cpu", "?"),
                                                 machine.get("cpu_id", "?"), machine.get("caches", "?"),
                                                 machine.get("cores", "?")))
    print("%-8s %-34s %9s %9s  %-5s %s" % ("target", "case", "measured", "required", "met", "rounds; note"))
    unmet = 0
    for target, case, ratios, required, note in rows:
        if not ratios:
            print("%-8s %-34s %9s %9.2f  %-5s %s" % (target, case, "-", required, "-", note))
            unmet += 1
            continue
        med = statistics.median(ratios)
        met = med >= required
        unmet += not met
        print("%-8s %-34s %9.3f %9.2f  %-5s %s; %s" % (target, case, med, required, "yes" if met else "NO",
                                                      " ".join("%.3f" % r for r in ratios), note))
    return unmet


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "bin"),
                    help="where recur, recur-bench-sgemm and recur-bench-onednn are (default: build/bin)")
    ap.add_argument("--rounds", type=int, default=5, help="rounds of every side, taken in turn (default 5)")
    ap.add_argument("--out", default="targets", help="directory for the raw results (default: ./targets)")
    ap.add_argument("--from", dest="src", metavar="DIR", help="summarise results measured earlier; run nothing")
    ns = ap.parse_args()
    if ns.rounds < 1:
        sys.exit("targets: --rounds must be at least 1")
    if not ns.src:
        measure(ns)
    # exit status: 0 when every target was measured and met, 1 otherwise
    return 1 if summarise(ns.src or ns.out) else 0


if __name__ == "__main__":
    sys.exit(main())
