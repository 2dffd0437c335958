/* The clock, the measuring method, statistics, the machine and JSON keys that `recur bench` and
 * recur-bench-onednn share (bench_common.h). */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"

double bench_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* ---- statistics --------------------------------------------------------------------------------------- */
static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Quantile q of sorted v by linear interpolation between closest ranks. */
static double quantile(const double *v, int n, double q) {
    double pos = q * (double)(n - 1);
    int lo = (int)pos;
    if (lo >= n - 1) return v[n - 1];
    return v[lo] + (pos - (double)lo) * (v[lo + 1] - v[lo]);
}

void bench_stats_compute(double *v, int n, bench_stats *s) {
    s->runs = n;
    if (n <= 0) return;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    double sum = 0.0;
    for (int i = 0; i < n; i++) sum += v[i];
    s->mean_ms = sum / n;
    s->min_ms = v[0];
    s->max_ms = v[n - 1];
    s->median_ms = quantile(v, n, 0.5);
    s->q1_ms = quantile(v, n, 0.25);
    s->q3_ms = quantile(v, n, 0.75);
}

/* ---- the measuring method ------------------------------------------------------------------------------- */
int bench_measure(bench_run_fn run, void *ctx, const bench_method *o, bench_stats *s) {
    memset(s, 0, sizeof *s);
    const double budget = o->max_time_s * 1e3;
    double spent = 0.0, est = 0.0, ms = 0.0;
    int st = 0, warm = 0;
    for (; warm < o->warmup; warm++) {
        if ((st = run(ctx, 1, &ms))) return st;
        if (warm == 0) s->first_ms = ms;
        spent += ms;
        est = ms;
        /* Slow cases: one warm-up is enough once it has used a third of the budget. */
        if (budget > 0.0 && spent > budget / 3.0) {
            warm++;
            break;
        }
    }
    s->warmup = warm;
    if (budget > 0.0 && warm == 1 && s->first_ms > budget) {
        /* One run alone is over the budget: report it, flagged, rather than spend minutes more. */
        s->cold = 1;
        s->inner = 1;
        s->warmup = 0;
        double v = s->first_ms;
        bench_stats_compute(&v, 1, s);
        return 0;
    }
    int inner = 1;
    if (est > 0.0 && est < o->min_sample_ms) inner = (int)fmin(ceil(o->min_sample_ms / est), 100000.0);
    int runs = o->repeat;
    if (est > 0.0 && budget > 0.0) {
        double left = budget - spent, per = est * inner;
        if (per * runs > left) runs = left > per ? (int)(left / per) : 1;
    }
    s->inner = inner;
    double samples[256];
    double *v = runs <= 256 ? samples : malloc(sizeof(double) * (size_t)runs);
    if (!v) return BENCH_E_NOMEM;
    for (int i = 0; i < runs && !st; i++) {
        st = run(ctx, inner, &v[i]);
        if (!st && o->warmup == 0 && i == 0) s->first_ms = v[i];
    }
    if (!st) bench_stats_compute(v, runs, s);
    if (v != samples) free(v);
    return st;
}

/* ---- the machine ------------------------------------------------------------------------------------- */
static void trim(char *s) {
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = 0;
    size_t i = 0;
    while (s[i] && isspace((unsigned char)s[i])) i++;
    memmove(s, s + i, strlen(s + i) + 1);
}

/* The /proc/cpuinfo keys read, for the first processor listed: those that name the CPU, in order of
 * preference ("model name" on x86, else "cpu model"/"Hardware"/"cpu"/"Processor"), then those that say which
 * design it is (x86's family, model and stepping; Arm's implementer and part). */
static const char *const CPUINFO_KEYS[] = {"model name", "cpu model",  "Hardware",        "cpu",     "Processor",
                                           "cpu family", "model",      "stepping",        "CPU implementer",
                                           "CPU part"};
enum { NAME_KEYS = 5, FAMILY = 5, MODEL, STEPPING, IMPLEMENTER, PART, CPUINFO_N };

/* values[k] gets CPUINFO_KEYS[k]'s value, "" where /proc/cpuinfo has none. */
static void cpuinfo_values(char (*values)[160]) {
    for (size_t k = 0; k < CPUINFO_N; k++) values[k][0] = 0;
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (!colon) continue;
        *colon = 0;
        trim(line);
        for (size_t k = 0; k < CPUINFO_N; k++)
            if (!values[k][0] && !strcmp(line, CPUINFO_KEYS[k])) {
                snprintf(values[k], sizeof values[k], "%s", colon + 1);
                trim(values[k]);
            }
    }
    fclose(f);
}

/* The CPU's name: the first of the naming keys present. */
static void cpu_model(char (*v)[160], char *out, size_t size) {
    for (size_t k = 0; k < NAME_KEYS; k++)
        if (v[k][0]) {
            snprintf(out, size, "%.159s", v[k]); /* values are at most 159 characters */
            return;
        }
    snprintf(out, size, "unknown");
}

/* The design behind the name: x86's family, model and stepping (decimal, as /proc/cpuinfo gives them), or
 * Arm's implementer and part. */
static void cpu_id(char (*v)[160], char *out, size_t size) {
    if (v[FAMILY][0] && v[MODEL][0])
        snprintf(out, size, "family %.16s model %.16s stepping %.16s", v[FAMILY], v[MODEL],
                 v[STEPPING][0] ? v[STEPPING] : "?");
    else if (v[IMPLEMENTER][0] && v[PART][0])
        snprintf(out, size, "implementer %.16s part %.16s", v[IMPLEMENTER], v[PART]);
    else
        snprintf(out, size, "unknown");
}

/* Attribute `name` of cpu0's cache number `index` (sysfs), one line trimmed; "" if unreadable. */
static void cache_attr(int index, const char *name, char *out, size_t size) {
    char path[96];
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/%s", index, name);
    out[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f) return;
    if (!fgets(out, (int)size, f)) out[0] = 0;
    fclose(f);
    trim(out);
}

/* cpu0's caches: level, type and size of each data or unified cache, in index order
 * ("L1d 48K, L2 1024K, L3 32768K"). */
static void cpu_caches(char *out, size_t size) {
    size_t used = 0;
    out[0] = 0;
    for (int i = 0; i < 16; i++) {
        char level[16], type[32], sz[32];
        cache_attr(i, "level", level, sizeof level);
        if (!level[0]) break;
        cache_attr(i, "type", type, sizeof type);
        cache_attr(i, "size", sz, sizeof sz);
        if (!strcmp(type, "Instruction") || !sz[0]) continue;
        int n = snprintf(out + used, size - used, "%sL%s%s %s", used ? ", " : "", level, strcmp(type, "Data") ? "" : "d",
                         sz);
        if (n < 0 || (size_t)n >= size - used) break;
        used += (size_t)n;
    }
    if (!used) snprintf(out, size, "unknown");
}

void bench_machine_probe(bench_machine *m) {
    memset(m, 0, sizeof *m);
    if (gethostname(m->hostname, sizeof m->hostname - 1) != 0) snprintf(m->hostname, sizeof m->hostname, "unknown");
    char cpuinfo[CPUINFO_N][160];
    cpuinfo_values(cpuinfo);
    cpu_model(cpuinfo, m->cpu, sizeof m->cpu);
    cpu_id(cpuinfo, m->cpu_id, sizeof m->cpu_id);
    cpu_caches(m->caches, sizeof m->caches);
    struct utsname u;
    if (uname(&u) == 0) snprintf(m->os, sizeof m->os, "%s %s %s", u.sysname, u.release, u.machine);
    m->cores = sysconf(_SC_NPROCESSORS_ONLN);
}

void bench_utc_time(char *buf, size_t size) {
    time_t now = time(NULL);
    struct tm tm;
    if (!size) return;
    buf[0] = 0;
    if (gmtime_r(&now, &tm) && !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm)) buf[0] = 0;
}

/* ---- JSON keys ------------------------------------------------------------------------------------------ */
void bench_json_str(FILE *f, const char *key, const char *value, int comma) {
    fprintf(f, "%s\"%s\":", comma ? "," : "", key);
    json_write_string(f, value);
}

void bench_json_machine(FILE *f, const bench_machine *m) {
    fputs(",\"machine\":{", f);
    bench_json_str(f, "hostname", m->hostname, 0);
    bench_json_str(f, "cpu", m->cpu, 1);
    bench_json_str(f, "cpu_id", m->cpu_id, 1);
    bench_json_str(f, "caches", m->caches, 1);
    bench_json_num(f, "cores", (double)m->cores, 1);
    bench_json_str(f, "os", m->os, 1);
    fputc('}', f);
}

void bench_json_num(FILE *f, const char *key, double v, int comma) {
    fprintf(f, "%s\"%s\":", comma ? "," : "", key);
    if (v < 0 || v != v || v > 1e300) fputs("null", f);
    else if (v == (double)(int64_t)v && v < 9007199254740992.0) fprintf(f, "%lld", (long long)v);
    else fprintf(f, "%.6g", v);
}
