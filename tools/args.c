/* Option parsing and small helpers shared by the verbs (see args.h). */
#define _POSIX_C_SOURCE 200809L
#include "args.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "recur/recur.h"

int cli_error(const char *verb, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "recur %s: ", verb);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

int cli_lib_error(const char *verb, const char *context) {
    const char *msg = recur_last_error();
    /* Keep it to one line: the library's messages may carry a build log after a newline. */
    const char *nl = strchr(msg, '\n');
    int n = nl ? (int)(nl - msg) : (int)strlen(msg);
    if (!n) msg = "unknown error", n = (int)strlen(msg);
    if (context && *context) fprintf(stderr, "recur %s: %s: %.*s\n", verb, context, n, msg);
    else fprintf(stderr, "recur %s: %.*s\n", verb, n, msg);
    return 1;
}

static const arg_spec *find(const arg_spec *specs, size_t n, const char *name, size_t len) {
    for (size_t i = 0; i < n; i++)
        if (strlen(specs[i].name) == len && !strncmp(specs[i].name, name, len)) return &specs[i];
    return NULL;
}

static int in_choices(const char *choices, const char *v) {
    size_t n = strlen(v);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && !strncmp(p, v, n)) return 1;
        if (!bar) break;
        p = bar + 1;
    }
    return 0;
}

int args_parse(const char *verb, int argc, char **argv, int first, const arg_spec *specs, size_t nspecs,
               const char **pos, int max_pos, int *npos, int *help) {
    *npos = 0;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (help && (!strcmp(a, "--help") || !strcmp(a, "-h"))) {
            *help = 1;
            continue;
        }
        if (a[0] != '-' || a[1] != '-' || !a[2]) {
            if (a[0] == '-' && a[1]) {
                fprintf(stderr, "recur %s: unknown flag '%s' (see recur %s --help)\n", verb, a, verb);
                return 2;
            }
            if (*npos >= max_pos) {
                fprintf(stderr, "recur %s: unexpected argument '%s' (see recur %s --help)\n", verb, a, verb);
                return 2;
            }
            pos[(*npos)++] = a;
            continue;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const arg_spec *s = find(specs, nspecs, name, len);
        if (!s) {
            fprintf(stderr, "recur %s: unknown flag '--%.*s' (see recur %s --help)\n", verb, (int)len, name, verb);
            return 2;
        }
        if (s->seen) *s->seen = 1;
        if (s->kind == ARG_FLAG || s->kind == ARG_NOFLAG) {
            if (eq) {
                fprintf(stderr, "recur %s: flag '--%s' takes no value\n", verb, s->name);
                return 2;
            }
            *(int *)s->dst = s->kind == ARG_FLAG;
            continue;
        }
        const char *v;
        if (eq) v = eq + 1;
        else if (i + 1 < argc) v = argv[++i];
        else {
            fprintf(stderr, "recur %s: flag '--%s' needs a value (%s)\n", verb, s->name, s->metavar ? s->metavar : "value");
            return 2;
        }
        char *end = NULL;
        errno = 0;
        switch (s->kind) {
        case ARG_INT: {
            long long x = strtoll(v, &end, 10);
            if (!*v || *end || errno) {
                fprintf(stderr, "recur %s: --%s: '%s' is not an integer\n", verb, s->name, v);
                return 2;
            }
            if (s->min != s->max && ((double)x < s->min || (double)x > s->max)) {
                fprintf(stderr, "recur %s: --%s: %lld is outside [%.0f, %.0f]\n", verb, s->name, x, s->min, s->max);
                return 2;
            }
            *(long long *)s->dst = x;
            break;
        }
        case ARG_FLOAT: {
            double x = strtod(v, &end);
            if (!*v || *end || !isfinite(x)) {
                fprintf(stderr, "recur %s: --%s: '%s' is not a finite number\n", verb, s->name, v);
                return 2;
            }
            if (s->min != s->max && (x < s->min || x > s->max)) {
                fprintf(stderr, "recur %s: --%s: %g is outside [%g, %g]\n", verb, s->name, x, s->min, s->max);
                return 2;
            }
            *(double *)s->dst = x;
            break;
        }
        case ARG_CHOICE:
            if (!in_choices(s->choices, v)) {
                fprintf(stderr, "recur %s: --%s: '%s' is not one of %s\n", verb, s->name, v, s->choices);
                return 2;
            }
            *(const char **)s->dst = v;
            break;
        default:
            *(const char **)s->dst = v;
            break;
        }
    }
    return 0;
}

void args_print_help(FILE *f, const arg_spec *specs, size_t nspecs) {
    for (size_t i = 0; i < nspecs; i++) {
        char left[64];
        const char *mv = specs[i].kind == ARG_CHOICE ? specs[i].choices : specs[i].metavar;
        if (specs[i].kind == ARG_FLAG || specs[i].kind == ARG_NOFLAG || !mv) snprintf(left, sizeof left, "--%s", specs[i].name);
        else snprintf(left, sizeof left, "--%s %s", specs[i].name, mv);
        if (strlen(left) > 26) fprintf(f, "  %s\n  %-26s %s\n", left, "", specs[i].help);
        else fprintf(f, "  %-26s %s\n", left, specs[i].help);
    }
}

/* ---- random numbers: SplitMix64 (Steele, Lea, Flood 2014) ---------------------------------------------- */
cli_rng cli_rng_new(uint64_t seed, uint64_t stream) {
    cli_rng r = {seed * 0x9e3779b97f4a7c15ull ^ (stream + 1) * 0xd1b54a32d192ed03ull};
    cli_rng_next(&r);
    return r;
}

uint64_t cli_rng_next(cli_rng *r) {
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double cli_rng_uniform(cli_rng *r) { return (double)(cli_rng_next(r) >> 11) * (1.0 / 9007199254740992.0); }

uint32_t cli_rng_below(cli_rng *r, uint32_t n) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = cli_rng_next(r);
    while (x >= limit);
    return (uint32_t)(x % n);
}

void cli_shuffle(cli_rng *r, size_t *idx, size_t n) {
    for (size_t i = n; i > 1; i--) {
        size_t j = cli_rng_below(r, (uint32_t)i);
        size_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}


double cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
