#!/usr/bin/python3
"""Run recur's benchmark cases in PyTorch and print recur's throughput relative to PyTorch's, per case.

    bench/compare_pytorch.py [options] [-- recur bench arguments]
    recur bench --pytorch [recur bench arguments]          (runs this script)

Steps:
 1. Run `recur bench --json ARGS` (or read --recur-json FILE, or with --torch-only just list the cases with
    `recur bench --list --json ARGS`).
 2. Run every case found there in PyTorch, once per configuration, each in its own subprocess so that the
    thread environment is set before torch starts:
      1t          one thread (OMP_NUM_THREADS=1): PyTorch's best at small sizes such as seeds/001
      Nt-passive  all N cores with OMP_WAIT_POLICY=PASSIVE (without PASSIVE, OpenMP's spinning threads
                  fight the BLAS's own and training slows several-fold): best at medium and large sizes
      cuda        the GPU, when torch sees one (torch.cuda.synchronize() before the clock stops)
 3. Run the inference cases (models in "infer" mode, forward-only layers) in oneDNN too, through the
    recur-bench-onednn program (bench/onednn_rnn.c, built when CMake finds libdnnl-dev; looked for next to
    the recur program, or --onednn PATH; skipped, saying why, where absent), once per configuration:
      onednn-1t   OMP_NUM_THREADS=1
      onednn-Nt   all N cores, OpenMP's default (active) waiting: faster for oneDNN's RNN than PASSIVE here
    oneDNN runs the recurrent layers only (a model's fc head is not in its time: the "note" field says so).
 4. Compare each recur result against the best PyTorch configuration for that case, and say which it was;
    and, in a column of its own, against the best oneDNN configuration.
    ratio = PyTorch's best time / recur's time = recur's throughput relative to PyTorch (> 1: recur faster);
    likewise oneDNN's best time / recur's time.

The timing method is recur bench's: warm-up runs, short runs repeated inside a sample until it lasts
--min-sample-ms, the median of --repeat samples, a per-case time budget (--max-time).

--rounds N (default 1) runs steps 1-3 N times in turn — recur, each PyTorch configuration, each oneDNN
configuration, then again — so that a slow phase of a shared machine falls on every side alike, and then
keeps, for each side, configuration and case, the round with the median time (the lower middle one for even
N); its line gets "round_medians_ms", every round's median, and "rounds". With --json, every
line is a recur-bench/1 object: recur's own lines, then one per PyTorch configuration and case (backend
"pytorch", with "pytorch_config" and "best": true on the fastest configuration of each case), then oneDNN's
(backend "onednn", with "onednn_config", "note", the program's own view of the case in "onednn_case", and
"best": true likewise).
"""
import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time

CELLS = {"rnn_tanh": ("RNN", "tanh"), "rnn_relu": ("RNN", "relu"), "lstm": ("LSTM", None), "gru": ("GRU", None)}


# ---- the worker: runs in a subprocess with the configuration's environment ------------------------------
def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "cpu model", "Hardware"):
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def build(case, torch, dev):
    """Return (run, note): run() does one run of the case on device dev."""
    nn, F = torch.nn, torch.nn.functional
    gen = torch.Generator().manual_seed(1)

    def randn(*shape, scale=1.0):
        return (torch.rand(*shape, generator=gen) * 2 - 1).mul_(scale).to(dev)

    if case["kind"] == "gemm":
        M, N, K = case["M"], case["N"], case["K"]
        a = randn(K, M) if case["trans_a"] else randn(M, K)
        b = randn(N, K) if case["trans_b"] else randn(K, N)
        a_op = a.t() if case["trans_a"] else a
        b_op = b.t() if case["trans_b"] else b
        c = torch.empty(M, N, device=dev)

        def run():
            torch.mm(a_op, b_op, out=c)

        return run, "torch.mm(out=)"

    cell = case["cell"]
    if cell not in CELLS:
        raise NotImplementedError("PyTorch has no %s cell" % cell)
    cls_name, nonlin = CELLS[cell]
    B, T, I, H, L = case["batch"], case["seq"], case["input"], case["hidden"], case["layers"]
    bidir = bool(case["bidirectional"])
    kwargs = {"nonlinearity": nonlin} if nonlin else {}

    if case["kind"] == "layer":
        rnn = getattr(nn, cls_name)(I, H, num_layers=L, bidirectional=bidir, **kwargs).to(dev)
        x = randn(T, B, I)
        if case["mode"] == "infer":
            rnn.eval()

            def run():
                with torch.no_grad():
                    rnn(x)

            return run, "no_grad forward"
        x.requires_grad_(True)
        dy = randn(T, B, (2 if bidir else 1) * H, scale=0.01)

        def run():
            rnn.zero_grad()
            x.grad = None
            y, _ = rnn(x)
            y.backward(dy)

        return run, "forward + backward incl. dx"

    # A model as seeds/001's BaseRNNClassifier: emb -> rnn (batch_first) -> last state or attention -> fc.
    vocab, head, C = case.get("vocab", 0), case.get("head", "last"), case["classes"]
    F_out = (2 if bidir else 1) * H

    class Attention(nn.Module):
        def __init__(self, d):
            super().__init__()
            self.project = nn.Linear(d, d)
            self.v = nn.Linear(d, 1, bias=False)

        def forward(self, h):
            w = F.softmax(self.v(torch.tanh(self.project(h))).squeeze(-1), dim=1)
            return torch.sum(h * w.unsqueeze(-1), dim=1)

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(vocab, case["embed"], padding_idx=0) if vocab else None
            self.rnn = getattr(nn, cls_name)(I, H, num_layers=L, bidirectional=bidir, batch_first=True, **kwargs)
            self.attn = Attention(F_out) if head == "additive_attention" else None
            self.fc = nn.Linear(F_out, C)

        def forward(self, x):
            if self.emb is not None:
                x = self.emb(x)
            y, h = self.rnn(x)
            if self.attn is not None:
                return self.fc(self.attn(y))
            h_n = h[0] if isinstance(h, tuple) else h
            return self.fc(torch.cat([h_n[-2], h_n[-1]], dim=1) if bidir else h_n[-1])

    if head not in ("last", "additive_attention"):
        raise NotImplementedError("head %s" % head)
    model = Model().to(dev)
    if vocab:
        x = torch.randint(1, vocab, (B, T), generator=gen).to(dev)
    else:
        x = randn(B, T, I)
    target = torch.randint(0, C, (B,), generator=gen).to(dev)
    if case["mode"] == "infer":
        model.eval()

        def run():
            with torch.no_grad():
                model(x)

        return run, "no_grad forward"
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def run():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), target)
        loss.backward()
        opt.step()
        loss.item()  # recur's step reads its loss back too

    return run, "zero_grad, forward, cross_entropy, backward, Adam, loss.item()"


def measure(run, sync, opts):
    """recur bench's method: warm-ups, inner repetitions, median of samples, a time budget (ms)."""
    budget = opts["max_time"] * 1e3

    def timed(n):
        t0 = time.perf_counter()
        for _ in range(n):
            run()
        sync()
        return (time.perf_counter() - t0) * 1e3 / n

    first, spent, est, warm = None, 0.0, 0.0, 0
    while warm < opts["warmup"]:
        ms = timed(1)
        first = ms if first is None else first
        spent += ms
        est = ms
        warm += 1
        if budget > 0 and spent > budget / 3:
            break
    if budget > 0 and warm == 1 and first > budget:
        return {"warmup": 0, "runs": 1, "inner": 1, "cold": True, "first_ms": first, "samples": [first]}
    inner = 1
    if 0 < est < opts["min_sample_ms"]:
        inner = min(100000, int(-(-opts["min_sample_ms"] // est)))
    runs = opts["repeat"]
    if est > 0 and budget > 0:
        left, per = budget - spent, est * inner
        if per * runs > left:
            runs = int(left / per) if left > per else 1
    samples = [timed(inner) for _ in range(runs)]
    if first is None:
        first = samples[0]
    return {"warmup": warm, "runs": runs, "inner": inner, "cold": False, "first_ms": first, "samples": samples}


def quantile(v, q):
    pos = q * (len(v) - 1)
    lo = int(pos)
    return v[-1] if lo >= len(v) - 1 else v[lo] + (pos - lo) * (v[lo + 1] - v[lo])


def worker(config):
    import torch

    threads = int(os.environ.get("OMP_NUM_THREADS", "1"))
    dev = "cuda" if config == "cuda" else "cpu"
    if dev == "cpu":
        torch.set_num_threads(threads)
    else:
        torch.backends.cudnn.benchmark = True
    sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
    job = json.load(sys.stdin)
    if dev == "cuda":
        dname, dvendor, dkind = torch.cuda.get_device_name(0), "NVIDIA", "gpu"
        driver = "CUDA %s, cuDNN %s" % (torch.version.cuda, torch.backends.cudnn.version())
    else:
        dname, dvendor, dkind = cpu_model(), "", "cpu"
        driver = "%d thread%s%s, mkldnn %s" % (
            torch.get_num_threads(), "" if torch.get_num_threads() == 1 else "s",
            ", OMP_WAIT_POLICY=" + os.environ["OMP_WAIT_POLICY"] if "OMP_WAIT_POLICY" in os.environ else "",
            "on" if torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled else "off")
    for case in job["cases"]:
        out = {"schema": "recur-bench/1", "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "machine": job["machine"],
               "backend": {"name": "pytorch", "version": torch.__version__, "path": os.path.dirname(torch.__file__)},
               "device": {"index": 0, "name": dname, "vendor": dvendor, "kind": dkind, "driver": driver,
                          "threads": str(torch.get_num_threads()) if dev == "cpu" else None},
               "pytorch_config": config, "case": case}
        try:
            run, note = build(case, torch, dev)
            m = measure(run, sync, job["opts"])
            v = sorted(m.pop("samples"))
            med = statistics.median(v)
            m.update({"median_ms": med, "min_ms": v[0], "max_ms": v[-1], "q1_ms": quantile(v, 0.25),
                      "q3_ms": quantile(v, 0.75), "mean_ms": sum(v) / len(v)})
            out["timing"] = m
            out["pytorch_what"] = note
            gflop = case.get("gflop")
            out["throughput"] = {"gflop": gflop, "gflop_per_s": gflop / (med * 1e-3) if gflop else None,
                                 "seq_per_s": case["batch"] / (med * 1e-3) if case["kind"] != "gemm" else None}
            del run
        except NotImplementedError as e:
            out["skipped"] = str(e)
        except Exception as e:  # report, go on with the next case
            out["error"] = "%s: %s" % (type(e).__name__, e)
        print(json.dumps(out), flush=True)


# ---- the driver -----------------------------------------------------------------------------------------
def configs(wanted):
    n = os.cpu_count() or 1
    cfgs = {"1t": {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}}
    if n > 1:
        cfgs["%dt-passive" % n] = {"OMP_NUM_THREADS": str(n), "MKL_NUM_THREADS": str(n), "OMP_WAIT_POLICY": "PASSIVE"}
    if wanted == "auto":
        try:
            has_cuda = subprocess.run([sys.executable, "-c", "import torch,sys; sys.exit(0 if torch.cuda.is_available() else 1)"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
        except OSError:
            has_cuda = False
        if has_cuda:
            cfgs["cuda"] = {}
        return cfgs
    out = {}
    for name in wanted.split(","):
        if name.startswith("onednn-"):
            continue  # onednn_configs()
        if name == "cuda":
            out[name] = {}
        elif name.endswith("t-passive") or name.endswith("t"):
            k = int(name.split("t")[0])
            env = {"OMP_NUM_THREADS": str(k), "MKL_NUM_THREADS": str(k)}
            if name.endswith("passive"):
                env["OMP_WAIT_POLICY"] = "PASSIVE"
            out[name] = env
        else:
            sys.exit("compare_pytorch: unknown configuration '%s' (1t, 2t, 2t-passive, cuda, ...)" % name)
    return out


# ---- oneDNN: recur-bench-onednn (bench/onednn_rnn.c), run per case and configuration ----------------------
ONEDNN_PROG = "recur-bench-onednn"
ONEDNN_CELLS = ("lstm", "gru", "gru_original", "rnn_tanh", "rnn_relu")


def onednn_configs(wanted):
    """onednn-1t and onednn-Nt (N = all cores). Measured on the 2-core development machine (docs/bench.md):
    oneDNN's RNN primitive opens a parallel region per time step, so OpenMP's default active waiting beats
    OMP_WAIT_POLICY=PASSIVE (medium LSTM 33 vs 41-48 ms, large 250-260 vs 300-330 ms): N threads run with
    the default policy. By hand: onednn-Kt, onednn-Kt-passive in --configs."""
    n = os.cpu_count() or 1
    if wanted == "auto":
        cfgs = {"onednn-1t": {"OMP_NUM_THREADS": "1"}}
        if n > 1:
            cfgs["onednn-%dt" % n] = {"OMP_NUM_THREADS": str(n)}
        return cfgs
    out = {}
    for name in wanted.split(","):
        if not name.startswith("onednn-"):
            continue
        rest = name[len("onednn-"):]
        k = rest.split("t")[0]
        if not k.isdigit() or rest not in (k + "t", k + "t-passive"):
            sys.exit("compare_pytorch: unknown configuration '%s' (onednn-1t, onednn-2t, onednn-2t-passive, ...)" % name)
        out[name] = {"OMP_NUM_THREADS": k}
        if rest.endswith("passive"):
            out[name]["OMP_WAIT_POLICY"] = "PASSIVE"
    return out


def onednn_eligible(case):
    """oneDNN is run for inference only: models in infer mode, forward-only layers; cells it has."""
    return (case.get("kind") in ("model", "layer") and case.get("mode") == "infer"
            and case.get("cell") in ONEDNN_CELLS)


def find_onednn(path, recur):
    """(program, None), or (None, why not)."""
    if path:
        return (path, None) if os.access(path, os.X_OK) else (None, "--onednn %s is not an executable" % path)
    if not recur:
        return None, "no recur program to look beside (pass --onednn PATH)"
    places = []
    for r in (recur, os.path.realpath(recur)):
        cand = os.path.join(os.path.dirname(os.path.abspath(r)), ONEDNN_PROG)
        if cand not in places:
            places.append(cand)
    for cand in places:
        if os.access(cand, os.X_OK):
            return cand, None
    return None, ("%s not found beside recur (%s): built only where CMake finds oneDNN (apt install libdnnl-dev, "
                  "then rebuild), or pass --onednn PATH" % (ONEDNN_PROG, " or ".join(places)))


def run_onednn(prog, name, env, case, opts, machine):
    """One case in one oneDNN configuration: the program's JSON line, with recur's case put in."""
    cmd = [prog, "--cell", case["cell"], "--batch", str(case["batch"]), "--seq", str(case["seq"]),
           "--input", str(case["input"]), "--hidden", str(case["hidden"]), "--layers", str(case["layers"]),
           "--repeat", str(opts["repeat"]), "--warmup", str(opts["warmup"]),
           "--min-sample-ms", repr(float(opts["min_sample_ms"])), "--max-time", repr(float(opts["max_time"]))]
    if case.get("bidirectional"):
        cmd.append("--bidirectional")
    full_env = dict(os.environ)
    full_env.pop("OMP_WAIT_POLICY", None)
    full_env.update(env)
    out = {"schema": "recur-bench/1", "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "machine": machine, "backend": {"name": "onednn", "version": None, "path": prog}}
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, env=full_env)
        lines = [line for line in p.stdout.splitlines() if line.strip()]
        if p.returncode or not lines:
            why = (p.stderr.strip().splitlines() or ["exit status %d" % p.returncode])[-1]
            raise RuntimeError(why)
        out = json.loads(lines[-1])
    except (OSError, RuntimeError, ValueError) as e:
        out["error"] = "%s: %s" % (ONEDNN_PROG, e)
    out["machine"] = machine
    out["onednn_config"] = name
    out["onednn_case"] = out.get("case")
    out["case"] = case
    share = ""
    if out.get("onednn_case") and case.get("gflop"):
        share = " (%.1f%% of the case's counted GEMM work)" % (100.0 * out["onednn_case"]["gflop"] / case["gflop"])
    if case["kind"] == "model":
        left_out = (["the embedding lookup"] if case.get("vocab") else []) + (
            ["the additive attention"] if case.get("head") == "additive_attention" else []) + [
            "the fc head", "recur's upload of the batch-first host data"]
        out["note"] = ("oneDNN runs the recurrent layers only%s, on sequence-first (tnc) input already in place: "
                       "%s and %s are not in its time" % (share, ", ".join(left_out[:-1]), left_out[-1]))
    else:
        out["note"] = "the same work as recur's layer forward: the recurrent layers, sequence-first (tnc) input"
    return out


def run_recur(recur, args, list_only):
    cmd = [recur, "bench", "--json"] + (["--list"] if list_only else []) + args
    print("# running: %s" % " ".join(cmd), file=sys.stderr, flush=True)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, universal_newlines=True)
    if p.returncode not in (0, 1):  # 1: some case failed; its line says why
        sys.exit("compare_pytorch: %s exited with %d" % (" ".join(cmd), p.returncode))
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


def middle_rounds(rounds, key):
    """One line per key from the lines of every round: the round whose median time is the median of the
    rounds' (statistics.median_low: an actual measurement), with every round's median added, indexed by
    round (None where that round has no time: the case failed or was skipped)."""
    if len(rounds) == 1:
        return rounds[0]
    groups, order = {}, []
    for r, lines in enumerate(rounds):
        for t in lines:
            k = key(t)
            if k not in groups:
                groups[k] = {}
                order.append(k)
            groups[k].setdefault(r, t)
    out = []
    for k in order:
        meds = [groups[k][r]["timing"]["median_ms"] if "timing" in groups[k].get(r, {}) else None
                for r in range(len(rounds))]
        timed = [m for m in meds if m is not None]
        if not timed:
            out.append(next(iter(groups[k].values())))
            continue
        mid = statistics.median_low(timed)
        line = dict(groups[k][meds.index(mid)])
        line["timing"] = dict(line["timing"], rounds=len(timed), round_medians_ms=meds)
        out.append(line)
    return out


def case_key(t):
    return t["case"]["name"] + "|" + t["case"]["shape"]


def case_opts(args):
    """The timing options recur bench used (its defaults, or what was passed through)."""
    opts = {"repeat": 3 if "--quick" in args else 5, "warmup": 1 if "--quick" in args else 2,
            "min_sample_ms": 1.0 if "--quick" in args else 50.0, "max_time": 20.0}
    for flag, key, conv in (("--repeat", "repeat", int), ("--warmup", "warmup", int),
                            ("--min-sample-ms", "min_sample_ms", float), ("--max-time", "max_time", float)):
        if flag in args and args.index(flag) + 1 < len(args):
            opts[key] = conv(args[args.index(flag) + 1])
    return opts


def fmt_ms(ms):
    if ms is None:
        return "-"
    return "%.0f" % ms if ms >= 100 else "%.1f" % ms if ms >= 10 else "%.2f" % ms if ms >= 1 else "%.3g" % ms


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--recur", default=None, help="the recur program (default: recur on PATH, or ./build/bin/recur)")
    ap.add_argument("--recur-json", help="read recur bench --json output from this file instead of running it "
                    "(a file from this script's --json: PyTorch's results are read from it too)")
    ap.add_argument("--torch-only", action="store_true", help="only the references, PyTorch and oneDNN, no recur timings "
                    "(cases from recur bench --list --json)")
    ap.add_argument("--configs", default="auto", help="configurations: auto, or a list such as "
                    "1t,2t-passive,cuda,onednn-1t,onednn-2t (a list without onednn-* runs no oneDNN)")
    ap.add_argument("--onednn", metavar="PATH", help="the %s program (default: next to the recur program)" % ONEDNN_PROG)
    ap.add_argument("--json", action="store_true", help="JSON lines: recur's results, then PyTorch's")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--rounds", type=int, default=1, help="measure every side this many times in turn and keep "
                    "each one's median round (also accepted among the recur bench arguments)")
    ns, rest = ap.parse_known_args()
    if ns.worker:
        return worker(ns.worker)
    bench_args = [a for a in rest if a != "--"]
    if "--rounds" in bench_args:  # recur bench --pytorch --rounds N hands it over among its own arguments
        i = bench_args.index("--rounds")
        if i + 1 >= len(bench_args):
            sys.exit("compare_pytorch: --rounds needs a number")
        ns.rounds = int(bench_args[i + 1])
        del bench_args[i:i + 2]
    if ns.rounds < 1:
        sys.exit("compare_pytorch: --rounds must be at least 1")
    dnnl_cfgs = onednn_configs(ns.configs)  # checks the onednn-* names before anything runs
    if "--json" in bench_args:
        bench_args.remove("--json")
        ns.json = True

    recur = ns.recur or shutil.which("recur")
    if not recur:
        recur = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "bin", "recur")
        if not os.access(recur, os.X_OK):
            recur = None
    if ns.recur_json:
        with open(ns.recur_json) as f:
            recur_lines = [json.loads(line) for line in f if line.strip()]
    else:
        if not recur:
            sys.exit("compare_pytorch: no recur program found: pass --recur PATH")
        recur_lines = run_recur(recur, bench_args, ns.torch_only)
    # A file written by this script's --json holds PyTorch's and oneDNN's lines too: then show them, run nothing.
    saved_torch = [r for r in recur_lines if r.get("backend", {}).get("name") == "pytorch"]
    saved_onednn = [r for r in recur_lines if r.get("backend", {}).get("name") == "onednn"]
    saved = saved_torch or saved_onednn
    recur_lines = [r for r in recur_lines if r.get("backend", {}).get("name") not in ("pytorch", "onednn")]
    results = [r for r in recur_lines if "timing" in r or "error" in r or "skipped" in r]
    cases, order = {}, []
    for r in recur_lines:
        key = r["case"]["name"] + "|" + r["case"]["shape"]
        if key not in cases:
            cases[key] = r["case"]
            order.append(key)
    machine = results[0]["machine"] if results else {
        "hostname": socket.gethostname(), "cpu": cpu_model(), "cores": os.cpu_count(), "os": " ".join(platform.uname()[0:3:2])}

    opts = case_opts(bench_args)
    config_names = sorted({t["pytorch_config"] for t in saved_torch}) or list(configs(ns.configs))
    dnnl_names = sorted({t["onednn_config"] for t in saved_onednn}) or list(dnnl_cfgs)
    dnnl_cases = [k for k in order if onednn_eligible(cases[k])]
    dnnl_prog, dnnl_why = None, None
    if not saved and dnnl_cfgs and dnnl_cases:
        dnnl_prog, dnnl_why = find_onednn(ns.onednn, recur)
        if dnnl_why:
            print("# oneDNN skipped: %s" % dnnl_why, file=sys.stderr, flush=True)
            dnnl_names = []

    def run_torch():
        lines = []
        for name, env in configs(ns.configs).items():
            print("# PyTorch, configuration %s ..." % name, file=sys.stderr, flush=True)
            full_env = dict(os.environ)
            for k in ("OMP_WAIT_POLICY",):
                full_env.pop(k, None)
            full_env.update(env)
            job = json.dumps({"cases": [cases[k] for k in order], "opts": opts, "machine": machine})
            p = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", name], input=job,
                               stdout=subprocess.PIPE, universal_newlines=True, env=full_env)
            if p.returncode:
                print("# PyTorch configuration %s failed (exit %d)" % (name, p.returncode), file=sys.stderr)
            lines += [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
        return lines

    def run_dnnl():
        lines = []
        for name, env in (dnnl_cfgs.items() if dnnl_prog else []):
            print("# oneDNN (%s), configuration %s ..." % (dnnl_prog, name), file=sys.stderr, flush=True)
            for k in dnnl_cases:
                lines.append(run_onednn(dnnl_prog, name, env, cases[k], opts, machine))
        return lines

    if saved:
        torch_lines, onednn_lines = saved_torch, saved_onednn
    else:
        recur_rounds, torch_rounds, dnnl_rounds = [recur_lines], [], []
        for rnd in range(ns.rounds):
            if rnd:
                print("# round %d of %d" % (rnd + 1, ns.rounds), file=sys.stderr, flush=True)
                if not ns.recur_json:
                    recur_rounds.append([r for r in run_recur(recur, bench_args, ns.torch_only)
                                         if r.get("backend", {}).get("name") not in ("pytorch", "onednn")])
            torch_rounds.append(run_torch())
            dnnl_rounds.append(run_dnnl())
        side = lambda t: "%s|%s" % (t.get("backend", {}).get("name"), t.get("device", {}).get("index"))
        recur_lines = middle_rounds(recur_rounds, lambda t: side(t) + "|" + case_key(t))
        results = [r for r in recur_lines if "timing" in r or "error" in r or "skipped" in r]
        torch_lines = middle_rounds(torch_rounds, lambda t: t.get("pytorch_config", "") + "|" + case_key(t))
        onednn_lines = middle_rounds(dnnl_rounds, lambda t: t.get("onednn_config", "") + "|" + case_key(t))

    def pick_best(lines):
        best = {}
        for t in lines:
            if "timing" not in t:
                continue
            key = t["case"]["name"] + "|" + t["case"]["shape"]
            if key not in best or t["timing"]["median_ms"] < best[key]["timing"]["median_ms"]:
                best[key] = t
        for t in lines:
            t["best"] = "timing" in t and best.get(t["case"]["name"] + "|" + t["case"]["shape"]) is t
        return best

    best = pick_best(torch_lines)
    dbest = pick_best(onednn_lines)

    if ns.json:
        for line in recur_lines + torch_lines + onednn_lines:
            print(json.dumps(line))
        return 0

    # The table: one row per case; per recur backend/device its time and the ratio to PyTorch's best.
    columns = []
    for r in results:
        col = "%s[%s]" % (r["backend"]["name"], r["device"]["index"])
        if col not in columns:
            columns.append(col)
    show_dnnl = bool(onednn_lines)
    ident = "; ".join(machine[k] for k in ("cpu_id", "caches") if machine.get(k))  # absent in older files
    print("machine: %s, %s%s, %s cores; PyTorch configurations: %s; oneDNN configurations: %s" % (
        machine.get("hostname"), machine.get("cpu"), " (%s)" % ident if ident else "", machine.get("cores"),
        ", ".join(config_names) or "none",
        ", ".join(dnnl_names) if show_dnnl else "none" + (" (%s)" % dnnl_why if dnnl_why else "")))
    if show_dnnl:
        d0 = next((t for t in onednn_lines if "onednn" in t), onednn_lines[0]).get("onednn", {})
        print("  %-12s oneDNN %s (%s), ISA %s, %s" % ("oneDNN", d0.get("version", "?"), d0.get("cpu_runtime", "?"),
                                                     d0.get("isa", "?"), onednn_lines[0]["backend"].get("path")))
    seen = set()
    for r in results:
        col = "%s[%s]" % (r["backend"]["name"], r["device"]["index"])
        if col not in seen:
            seen.add(col)
            isa = r["device"].get("isa")
            print("  %-12s %s (%s%s), %s" % (col, r["device"]["name"], r["device"]["driver"],
                                             ", isa in use " + isa if isa else "", r["backend"]["path"]))
    print("ratio = PyTorch's best time / recur's time: recur's throughput relative to PyTorch (> 1: recur faster)")
    if show_dnnl:
        print("/oneDNN = oneDNN's best time / recur's time, likewise (oneDNN: inference cases only, recurrent layers only)")
    print()
    head = "%-22s %-31s %18s" % ("case", "shape", "PyTorch best ms")
    if show_dnnl:
        head += " %20s" % "oneDNN best ms"
    for col in columns:
        head += " %16s %6s" % (col + " ms", "ratio") + (" %7s" % "/oneDNN" if show_dnnl else "")
    print(head)
    for key in order:
        c = cases[key]
        b = best.get(key)
        db = dbest.get(key)
        row = "%-22s %-31s %18s" % (c["name"], c["shape"],
                                     "%s (%s)" % (fmt_ms(b["timing"]["median_ms"]), b["pytorch_config"]) if b else "-")
        if show_dnnl:
            row += " %20s" % ("%s (%s)" % (fmt_ms(db["timing"]["median_ms"]), db["onednn_config"]) if db else "-")
        for col in columns:
            r = next((r for r in results if r["case"]["name"] + "|" + r["case"]["shape"] == key
                      and "%s[%s]" % (r["backend"]["name"], r["device"]["index"]) == col), None)
            if r is None or "timing" not in r:
                row += " %16s %6s" % ("-" if r is None else ("failed" if "error" in r else "skipped"), "")
                row += (" %7s" % "") if show_dnnl else ""
                continue
            ms = r["timing"]["median_ms"]
            ratio = b["timing"]["median_ms"] / ms if b else None
            row += " %16s %6s" % (fmt_ms(ms) + ("*" if r["timing"].get("cold") else ""),
                                  "%.2f" % ratio if ratio else "-")
            if show_dnnl:
                dratio = db["timing"]["median_ms"] / ms if db else None
                row += " %7s" % ("%.2f" % dratio if dratio else "-")
        print(row)
    print("\nPyTorch per configuration (median ms):")
    for key in order:
        per = ["%s %s" % (t["pytorch_config"], fmt_ms(t["timing"]["median_ms"]) if "timing" in t
                          else t.get("skipped") or t.get("error"))
               for t in torch_lines if t["case"]["name"] + "|" + t["case"]["shape"] == key]
        print("  %-22s %s" % (cases[key]["name"], ", ".join(per)))
    if show_dnnl:
        print("\noneDNN per configuration (median ms; recurrent layers only, weights reordered before timing):")
        for key in order:
            per = ["%s %s" % (t["onednn_config"], fmt_ms(t["timing"]["median_ms"]) if "timing" in t
                              else t.get("skipped") or t.get("error"))
                   for t in onednn_lines if t["case"]["name"] + "|" + t["case"]["shape"] == key]
            if per:
                print("  %-22s %s" % (cases[key]["name"], ", ".join(per)))
    if any(r.get("timing", {}).get("round_medians_ms") for r in results):
        print("\nRatio in each round (the reference's best configuration in that round / recur's time in that "
              "round; the table above shows each side's median round):")

        def per_round(ref_lines, key, rm):
            per_cfg = [t["timing"].get("round_medians_ms") or [] for t in ref_lines
                       if "timing" in t and case_key(t) == key]
            if not per_cfg:
                return ""
            ratios = []
            for i, mine in enumerate(rm):
                refs = [m[i] for m in per_cfg if i < len(m) and m[i] is not None]
                ratios.append("%.2f" % (min(refs) / mine) if refs and mine else "-")
            return " ".join(ratios)

        for key in order:
            for r in results:
                rm = r.get("timing", {}).get("round_medians_ms")
                if case_key(r) != key or not rm:
                    continue
                vs_t, vs_d = per_round(torch_lines, key, rm), per_round(onednn_lines, key, rm)
                print("  %-22s %-10s PyTorch %s%s" % (cases[key]["name"], "%s[%s]" % (r["backend"]["name"], r["device"]["index"]),
                                                      vs_t or "-", ";  oneDNN " + vs_d if vs_d else ""))
    if any(r.get("timing", {}).get("cold") for r in results):
        print("* one cold run only (over --max-time)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
