/*
 * `recur bench`: time SGEMM at the recurrent shapes, single layers, whole training steps and inference on
 * every backend and device found (or those named), honestly: start-up and kernel compilation are timed
 * apart, warm-up runs come first, the queue is synchronised before the clock stops, and each result is
 * the median of several samples with its spread. See docs/bench.md.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define MAX_CASES 64
#define MAX_BACKENDS 16

typedef struct options {
    const char *cases, *backends, *device, *threads, *mode;
    long repeat, warmup, seed, rounds;
    double max_time_s, min_sample_ms;
    int json, quick, list, pytorch, help;
    /* a custom case */
    const char *cell;
    long batch, seq, input, hidden, layers, classes;
    int bidirectional, custom;
} options;

static void usage(FILE *f) {
    fprintf(f,
            "usage: recur bench [options]\n"
            "Times SGEMM at the recurrent shapes, single layers, training steps and inference on every backend\n"
            "and device found (see docs/bench.md).\n"
            "  --case LIST        cases to run: names or shell patterns, comma-separated; a bare prefix such\n"
            "                     as 'gemm' or 'train' selects that group (default: all; --list shows them)\n"
            "  --backend LIST     backends by name or path, comma-separated (default: every one found)\n"
            "  --device SEL       device index or name substring in each backend (default: every device)\n"
            "  --repeat N         samples per case (default 5, --quick 3)\n"
            "  --warmup N         warm-up runs per case before measuring (default 2, --quick 1)\n"
            "  --max-time S       time budget per case and device in seconds (default 20; 0: none): fewer\n"
            "                     samples when a run is slow; a case whose first run alone exceeds it reports\n"
            "                     that one run, flagged cold; a case that the GFLOP/s seen so far on the\n"
            "                     device put over it is skipped, saying so\n"
            "  --min-sample-ms X  repeat short runs inside one sample until it lasts this long (default 50)\n"
            "  --threads N        set the backends' \"threads\" option where they have one\n"
            "  --json             one JSON object per result line (machine, backend, device, case, timings)\n"
            "  --quick            tiny sizes (smoke tests)\n"
            "  --list             list the cases and exit (with --json: one JSON object per case)\n"
            "  --pytorch          run bench/compare_pytorch.py instead: the same cases in PyTorch, side by side\n"
            "  --rounds N         with --pytorch: measure recur, PyTorch and oneDNN N times in turn and keep each\n"
            "                     side's median round (a slow phase of a shared machine then hits all sides)\n"
            "  --seed N           data and initialisation seed (default 1)\n"
            "A custom case (a model: features -> RNN -> last state -> fc, 10 classes; runs alone unless --case\n"
            "is given too), from any of:\n"
            "  --cell rnn_tanh|rnn_relu|lstm|gru|gru_original  --batch N  --seq N  --input N  --hidden N\n"
            "  --layers N  --bidirectional  --mode train|infer  --classes N   (defaults: the medium case)\n");
}

static int parse_long(const char *flag, const char *s, long min, long max, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < min || v > max) {
        fprintf(stderr, "recur bench: %s expects an integer in [%ld, %ld], got '%s'\n", flag, min, max, s);
        return 2;
    }
    *out = v;
    return 0;
}

static int parse_double(const char *flag, const char *s, double min, double max, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || end == s || !(v >= min && v <= max)) {
        fprintf(stderr, "recur bench: %s expects a number in [%g, %g], got '%s'\n", flag, min, max, s);
        return 2;
    }
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    o->repeat = o->warmup = -1;
    o->seed = 1;
    o->max_time_s = 20.0;
    o->min_sample_ms = -1.0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int st = 0, takes = 1;
#define STR(flag, field) else if (!strcmp(a, flag)) o->field = v
#define INT(flag, field, lo, hi) else if (!strcmp(a, flag)) st = v ? parse_long(flag, v, lo, hi, &o->field) : 0
#define CUSTOM_INT(flag, field) else if (!strcmp(a, flag)) st = v ? parse_long(flag, v, 1, 1L << 20, &o->field) : 0, o->custom = 1
        if (!strcmp(a, "--json")) o->json = 1, takes = 0;
        else if (!strcmp(a, "--quick")) o->quick = 1, takes = 0;
        else if (!strcmp(a, "--list")) o->list = 1, takes = 0;
        else if (!strcmp(a, "--pytorch")) o->pytorch = 1, takes = 0;
        else if (!strcmp(a, "--bidirectional")) o->bidirectional = 1, o->custom = 1, takes = 0;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) o->help = 1, takes = 0;
        STR("--case", cases);
        STR("--backend", backends);
        STR("--device", device);
        STR("--threads", threads);
        INT("--repeat", repeat, 1, 100000);
        INT("--warmup", warmup, 0, 100000);
        INT("--seed", seed, 0, 0x7fffffffL);
        INT("--rounds", rounds, 1, 1000);
        else if (!strcmp(a, "--max-time")) st = v ? parse_double(a, v, 0.0, 1e6, &o->max_time_s) : 0;
        else if (!strcmp(a, "--min-sample-ms")) st = v ? parse_double(a, v, 0.0, 1e6, &o->min_sample_ms) : 0;
        else if (!strcmp(a, "--cell")) o->cell = v, o->custom = 1;
        else if (!strcmp(a, "--mode")) o->mode = v, o->custom = 1;
        CUSTOM_INT("--batch", batch);
        CUSTOM_INT("--seq", seq);
        CUSTOM_INT("--input", input);
        CUSTOM_INT("--hidden", hidden);
        CUSTOM_INT("--layers", layers);
        CUSTOM_INT("--classes", classes);
        else {
            fprintf(stderr, "recur bench: unknown argument '%s' (see recur bench --help)\n", a);
            return 2;
        }
#undef STR
#undef INT
#undef CUSTOM_INT
        if (st) return st;
        if (takes) {
            if (!v) {
                fprintf(stderr, "recur bench: %s needs a value (see recur bench --help)\n", a);
                return 2;
            }
            i++;
        }
    }
    if (o->mode && strcmp(o->mode, "train") && strcmp(o->mode, "infer")) {
        fprintf(stderr, "recur bench: --mode is train or infer, got '%s'\n", o->mode);
        return 2;
    }
    if (o->cell && recur_cell_from_name(o->cell) < 0) {
        fprintf(stderr, "recur bench: unknown --cell '%s' (rnn_tanh, rnn_relu, lstm, gru, gru_original)\n", o->cell);
        return 2;
    }
    if (o->rounds && !o->pytorch) {
        fprintf(stderr, "recur bench: --rounds is for --pytorch (recur bench alone measures one side)\n");
        return 2;
    }
    if (o->repeat < 0) o->repeat = o->quick ? 3 : 5;
    if (o->warmup < 0) o->warmup = o->quick ? 1 : 2;
    if (o->min_sample_ms < 0) o->min_sample_ms = o->quick ? 1.0 : 50.0;
    return 0;
}

/* ---- choosing cases ------------------------------------------------------------------------------------ */
/* Does `name` match one comma-separated item of `list` (exact, shell pattern, or group prefix)? */
static int case_selected(const char *list, const char *name) {
    if (!list) return 1;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (!*tok) continue;
        if (!strcmp(tok, name) || fnmatch(tok, name, 0) == 0) return 1;
        size_t n = strlen(tok);
        if (!strncmp(tok, name, n) && name[n] == '.') return 1;
    }
    return 0;
}

static void custom_case(const options *o, bench_case *c) {
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "custom");
    c->kind = BENCH_MODEL;
    c->train = !o->mode || !strcmp(o->mode, "train");
    c->cell = o->cell ? recur_cell_from_name(o->cell) : RECUR_CELL_LSTM;
    c->batch = o->batch ? (size_t)o->batch : o->quick ? 4 : 64;
    c->seq = o->seq ? (size_t)o->seq : o->quick ? 6 : 100;
    c->input = o->input ? (size_t)o->input : o->quick ? 8 : 256;
    c->hidden = o->hidden ? (size_t)o->hidden : o->quick ? 8 : 256;
    c->layers = o->layers ? (size_t)o->layers : 1;
    c->bidirectional = o->bidirectional;
    c->head = RECUR_HEAD_LAST;
    c->classes = o->classes ? (size_t)o->classes : 10;
    snprintf(c->what, sizeof c->what, "custom %s: %s%s, last state -> fc", c->train ? "training step" : "inference",
             c->bidirectional ? "bidirectional " : "", recur_cell_name(c->cell));
}

/* ---- backends and devices ------------------------------------------------------------------------------ */
typedef struct found {
    char name[64];
    char path[1024];
} found;

typedef struct found_list {
    found b[MAX_BACKENDS];
    int n;
    int quiet;
} found_list;

static void on_backend(const char *name, const char *path, recur_backend *b, int status, const char *message,
                       void *user) {
    found_list *l = user;
    if (!b) {
        if (!l->quiet) fprintf(stderr, "recur bench: backend %s skipped: %s (%s)\n", name, message, recur_strerror(status));
        return;
    }
    if (l->n < MAX_BACKENDS && recur_backend_device_count(b) > 0) {
        snprintf(l->b[l->n].name, sizeof l->b[l->n].name, "%s", recur_backend_name(b));
        snprintf(l->b[l->n].path, sizeof l->b[l->n].path, "%s", path ? path : recur_backend_path(b));
        l->n++;
    } else if (!l->quiet) {
        fprintf(stderr, "recur bench: backend %s has no device here: %s\n", name, message ? message : "");
    }
    recur_backend_unload(b);
}

/* The option's value in buf, "" if the backend has no such option. */
static void option_str(recur_device *d, const char *key, char *buf, size_t size) {
    if (recur_device_get_option(d, key, buf, size) != RECUR_OK) {
        buf[0] = 0;
        recur_clear_error();
    }
}

/* A numeric option: -1 where the backend has none (or gives an empty value). */
static double option_ms(recur_device *d, const char *key) {
    char buf[64];
    option_str(d, key, buf, sizeof buf);
    return buf[0] ? strtod(buf, NULL) : -1.0;
}

static long option_long(recur_device *d, const char *key) {
    char buf[64];
    option_str(d, key, buf, sizeof buf);
    return buf[0] ? strtol(buf, NULL, 10) : -1;
}

/* ---- measuring one case: the method is bench_measure's (bench_common.c) --------------------------------- */
typedef struct timed {
    bench_runner *r;
    recur_device *d;
} timed;

/* n runs enqueued, the queue synchronised, then the clock read: ms per run. */
static int time_runs(void *ctx, int n, double *ms) {
    timed *t = ctx;
    double t0 = bench_now_ms();
    for (int i = 0; i < n; i++) {
        int st = bench_runner_run(t->r);
        if (st) return st;
    }
    int st = recur_sync(t->d);
    *ms = (bench_now_ms() - t0) / n;
    return st;
}

static int measure(recur_device *d, const bench_case *c, const options *o, bench_stats *s) {
    memset(s, 0, sizeof *s);
    timed t = {NULL, d};
    int st = bench_runner_new(d, c, (uint64_t)o->seed, &t.r);
    if (st) return st;
    const bench_method method = {(int)o->warmup, (int)o->repeat, o->max_time_s, o->min_sample_ms};
    st = bench_measure(time_runs, &t, &method, s);
    if (st == BENCH_E_NOMEM) st = recur_set_error(RECUR_E_NOMEM, "bench: out of memory");
    bench_runner_free(t.r);
    return st;
}

/* ---- one device ------------------------------------------------------------------------------------------ */
static void run_device(recur_backend *b, recur_device *d, double load_ms, double open_ms, const options *o,
                       const bench_machine *m, const bench_case *cases, size_t ncases, int *failures) {
    bench_device_ctx dc;
    memset(&dc, 0, sizeof dc);
    dc.dev = d;
    dc.index = recur_device_index(d);
    dc.backend_name = recur_backend_name(b);
    dc.backend_version = recur_backend_version(b);
    dc.backend_path = recur_backend_path(b);
    dc.info = recur_device_get_info(d);
    bench_startup *su = &dc.startup;
    su->load_ms = load_ms;
    su->open_ms = open_ms;
    su->backend_ms = option_ms(d, "startup_ms");
    su->cache_hits = option_long(d, "cache_hits");
    su->cache_misses = option_long(d, "cache_misses");
    su->warmup_ms = -1.0;
    if (o->threads && recur_device_set_option(d, "threads", o->threads) != RECUR_OK) {
        fprintf(stderr, "recur bench: %s: --threads %s not applied: %s\n", dc.backend_name, o->threads,
                recur_last_error());
        recur_clear_error();
    }
    option_str(d, "threads", su->threads, sizeof su->threads);
    /* The kernels in use, which RECUR_CPU_ISA may have set below the best the driver string names. */
    option_str(d, "isa", su->isa, sizeof su->isa);
    /* The backend's own warm-up (OpenCL: every kernel once, GEMM paths), timed apart from the cases. */
    int has_warmup = 0;
    double t0 = bench_now_ms();
    int st = recur_device_warmup(d, &has_warmup);
    if (has_warmup) su->warmup_ms = bench_now_ms() - t0;
    if (st) {
        fprintf(stderr, "recur bench: %s: warm-up failed: %s\n", dc.backend_name, recur_last_error());
        recur_clear_error();
    }

    if (!o->json) {
        bench_print_device_header(stdout, &dc);
        bench_print_table_header(stdout);
        fflush(stdout);
    }
    double best_rate = 0.0; /* the highest GFLOP/s measured on this device so far */
    for (size_t i = 0; i < ncases; i++) {
        const bench_case *c = &cases[i];
        bench_stats s;
        double flops = bench_case_flops(c);
        if (o->max_time_s > 0.0 && best_rate > 0.0 && flops * 1e-9 / best_rate > o->max_time_s) {
            char why[256];
            snprintf(why, sizeof why, "skipped: about %.0f s per run at the %.1f GFLOP/s seen so far on this device, "
                     "over --max-time %g s", flops * 1e-9 / best_rate, best_rate, o->max_time_s);
            memset(&s, 0, sizeof s);
            if (o->json) bench_print_json(stdout, m, &dc, c, &s, NULL, why);
            else bench_print_row(stdout, c, &s, NULL, why);
            fflush(stdout);
            continue;
        }
        int progress = !o->json && isatty(STDERR_FILENO);
        if (progress) fprintf(stderr, "  running %s on %s ...\r", c->name, dc.backend_name);
        recur_clear_error();
        st = measure(d, c, o, &s);
        if (progress) fprintf(stderr, "%60s\r", "");
        char err[1024] = "";
        if (st) {
            snprintf(err, sizeof err, "%s (%s)", recur_last_error(), recur_strerror(st));
            (*failures)++;
        }
        if (!st && s.median_ms > 0.0 && flops * 1e-6 / s.median_ms > best_rate) best_rate = flops * 1e-6 / s.median_ms;
        if (o->json) bench_print_json(stdout, m, &dc, c, &s, st ? err : NULL, NULL);
        else bench_print_row(stdout, c, &s, st ? err : NULL, NULL);
        fflush(stdout);
    }
    if (!o->json) {
        const char *fb[64];
        int nfb = recur_device_fallback_ops(d, fb, 63);
        if (nfb) {
            printf("   ops that ran on the reference kernels on this device:");
            for (int i = 0; i < nfb; i++) printf(" %s", fb[i]);
            printf("\n");
        }
    }
}

static int run_backend(const char *name_or_path, const options *o, const bench_machine *m, const bench_case *cases,
                       size_t ncases, int *failures) {
    recur_backend *b = NULL;
    double t0 = bench_now_ms();
    int st = recur_backend_load(name_or_path, &b);
    double load_ms = bench_now_ms() - t0;
    if (st) {
        fprintf(stderr, "recur bench: backend %s: %s (%s)\n", name_or_path, recur_last_error(), recur_strerror(st));
        (*failures)++;
        return st;
    }
    int ndev = o->device ? 1 : recur_backend_device_count(b);
    for (int i = 0; i < ndev; i++) {
        char sel[16];
        snprintf(sel, sizeof sel, "%d", i);
        recur_device *d = NULL;
        t0 = bench_now_ms();
        st = recur_device_open(b, o->device ? o->device : sel, &d);
        double open_ms = bench_now_ms() - t0;
        if (st) {
            fprintf(stderr, "recur bench: backend %s: %s (%s)\n", name_or_path, recur_last_error(), recur_strerror(st));
            (*failures)++;
            continue;
        }
        run_device(b, d, load_ms, open_ms, o, m, cases, ncases, failures);
        recur_device_close(d);
    }
    recur_backend_unload(b);
    return RECUR_OK;
}

/* ---- --pytorch: hand over to the comparison script ------------------------------------------------------ */
#ifndef RECUR_BENCH_SCRIPT
#define RECUR_BENCH_SCRIPT ""
#endif
#ifndef RECUR_BENCH_SCRIPT_INSTALLED
#define RECUR_BENCH_SCRIPT_INSTALLED ""
#endif

static int run_pytorch(int argc, char **argv) {
    const char *script = recur_getenv("RECUR_BENCH_PYTORCH_SCRIPT");
    const char *candidates[] = {script, RECUR_BENCH_SCRIPT, RECUR_BENCH_SCRIPT_INSTALLED};
    script = NULL;
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++)
        if (candidates[i] && candidates[i][0] && access(candidates[i], R_OK) == 0) {
            script = candidates[i];
            break;
        }
    if (!script) {
        fprintf(stderr, "recur bench: --pytorch: compare_pytorch.py not found (looked in '%s', '%s'; set "
                        "RECUR_BENCH_PYTORCH_SCRIPT)\n", RECUR_BENCH_SCRIPT, RECUR_BENCH_SCRIPT_INSTALLED);
        return 1;
    }
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        fprintf(stderr, "recur bench: --pytorch: cannot find this program's path: %s\n", strerror(errno));
        return 1;
    }
    self[n] = 0;
    const char *python = recur_getenv("RECUR_PYTHON");
    if (!python || !*python) python = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
    char **args = calloc((size_t)argc + 6, sizeof *args);
    if (!args) return 1;
    int k = 0;
    args[k++] = (char *)python;
    args[k++] = (char *)script;
    args[k++] = "--recur";
    args[k++] = self;
    args[k++] = "--";
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--pytorch")) args[k++] = argv[i];
    args[k] = NULL;
    fflush(NULL);
    execvp(python, args);
    fprintf(stderr, "recur bench: --pytorch: cannot run %s: %s\n", python, strerror(errno));
    free(args);
    return 1;
}

/* ---- the verb --------------------------------------------------------------------------------------------- */
int cli_bench(int argc, char **argv) {
    options o;
    int st = parse_args(argc, argv, &o);
    if (st) return st;
    if (o.help) {
        usage(stdout);
        return 0;
    }
    if (o.pytorch) return run_pytorch(argc, argv);

    static bench_case all[MAX_CASES], cases[MAX_CASES];
    size_t nall = bench_builtin_cases(o.quick, all, MAX_CASES), ncases = 0;
    if (o.custom && nall < MAX_CASES) custom_case(&o, &all[nall++]);
    for (size_t i = 0; i < nall; i++) {
        int is_custom = !strcmp(all[i].name, "custom");
        int want = o.cases ? case_selected(o.cases, all[i].name) : o.custom ? is_custom : 1;
        if (is_custom && o.custom) want = 1;
        if (want) cases[ncases++] = all[i];
    }
    if (o.list) {
        for (size_t i = 0; i < ncases && o.json; i++) {
            fputs("{\"schema\":\"recur-bench/1\",\"case\":", stdout);
            bench_print_case_json(stdout, &cases[i]);
            fputs("}\n", stdout);
        }
        for (size_t i = 0; i < ncases && !o.json; i++) {
            char shape[96];
            bench_case_shape(&cases[i], shape, sizeof shape);
            printf("%-22s %-5s %-32s %8.3f GFLOP  %s\n", cases[i].name,
                   cases[i].kind == BENCH_GEMM ? "-" : cases[i].train ? "train" : "infer", shape,
                   bench_case_flops(&cases[i]) * 1e-9, cases[i].what);
        }
        return 0;
    }
    if (!ncases) {
        fprintf(stderr, "recur bench: --case '%s' matches no case (see recur bench --list)\n", o.cases);
        return 2;
    }

    bench_machine m;
    bench_machine_probe(&m);
    if (!o.json)
        printf("recur bench %s on %s: %s (%s; %s), %ld core%s, %s\ntimes are per run: median of --repeat samples "
               "after --warmup runs, queue synchronised; GFLOP/s counts GEMM work (training: 3x forward)\n",
               RECUR_VERSION_STRING, m.hostname, m.cpu, m.cpu_id, m.caches, m.cores, m.cores == 1 ? "" : "s", m.os);

    int failures = 0;
    if (o.backends) {
        char buf[1024];
        snprintf(buf, sizeof buf, "%s", o.backends);
        for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
            if (*tok) run_backend(tok, &o, &m, cases, ncases, &failures);
    } else {
        found_list fl;
        memset(&fl, 0, sizeof fl);
        recur_backend_discover(on_backend, &fl);
        if (!fl.n) {
            fprintf(stderr, "recur bench: no backend with a usable device was found (see recur devices)\n");
            return 1;
        }
        for (int i = 0; i < fl.n; i++) run_backend(fl.b[i].path, &o, &m, cases, ncases, &failures);
    }
    return failures ? 1 : 0;
}
