/*
 * recur-conform NAME_OR_PATH [--device SEL] [--op NAME[,NAME...]] [--list] [--verbose]
 *
 * Runs every compute op of a backend against the reference backend `ref` on identical inputs and prints a
 * per-op table. Exit status: 0 all cases pass, 1 some case failed, 2 the backend (or ref) cannot be
 * loaded or the command line is wrong, 77 the backend has no device here (ctest: skipped).
 */
#define _POSIX_C_SOURCE 200809L
#include <CUnit/CUnit.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conform_util.h"

#define EXIT_FAILED 1
#define EXIT_ERROR 2
#define EXIT_SKIP 77

static CU_SuiteInfo suites[] = {
    {.pName = "memory", .pTests = ct_memory_tests}, {.pName = "gemm", .pTests = ct_gemm_tests},
    {.pName = "reduce", .pTests = ct_reduce_tests}, {.pName = "act", .pTests = ct_act_tests},
    {.pName = "cells", .pTests = ct_cells_tests},   {.pName = "embed", .pTests = ct_embed_tests},
    {.pName = "losses", .pTests = ct_losses_tests}, {.pName = "optim", .pTests = ct_optim_tests},
    CU_SUITE_INFO_NULL,
};

/* A backend that corrupts memory or faults takes the process down; say which op and case it was in. */
static void say(const char *s) {
    size_t n = strlen(s);
    while (n) {
        ssize_t w = write(STDOUT_FILENO, s, n);
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

static void on_crash(int sig) {
    const char *op = ct_running_op, *cs = ct_running_case;
    say("\nCRASH: ");
    say(sig == SIGSEGV ? "SIGSEGV" : sig == SIGBUS ? "SIGBUS" : sig == SIGFPE ? "SIGFPE" : sig == SIGILL ? "SIGILL"
                                                                                                   : "SIGABRT");
    say(op ? " while running op " : " outside any op");
    if (op) say(op);
    if (op && cs) {
        say(" [");
        say(cs);
        say("]");
    }
    say("\n");
    signal(sig, SIG_DFL);
    raise(sig);
}

static void catch_crashes(void) {
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_crash;
        sa.sa_flags = SA_RESETHAND;
        sigemptyset(&sa.sa_mask);
        sigaction(sigs[i], &sa, NULL);
    }
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: recur-conform [NAME_OR_PATH] [--device SEL] [--op NAME[,NAME...]] [--list] [--verbose]\n"
            "\n"
            "Checks every op of a recur backend against the reference backend 'ref'.\n"
            "  NAME_OR_PATH    backend name (cpu, opencl, ...) or path to a librecur-NAME.so;\n"
            "                  default: $RECUR_BACKEND\n"
            "  --device SEL    device index or name substring (default: $RECUR_DEVICE, else 0)\n"
            "  --op NAME       run only these ops (comma-separated, may repeat)\n"
            "  --list          list the ops, their suites and tolerances, and exit\n"
            "  --verbose       print every case, and every failure in full\n"
            "Exit status: 0 pass, 1 a case failed, 2 cannot load / bad usage, 77 no device (skip).\n");
}

/* "a,b" lists of op names given with --op. */
static char op_filter[1024];

static int op_selected(const char *name) {
    if (!op_filter[0]) return 1;
    size_t n = strlen(name);
    for (const char *p = op_filter; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !strncmp(p, name, n)) return 1;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

static int check_filter(void) {
    int ok = 1;
    for (const char *p = op_filter; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        int found = 0;
        for (size_t i = 0; i < ct_op_count; i++)
            if (strlen(ct_ops[i].name) == len && !strncmp(ct_ops[i].name, p, len)) found = 1;
        if (!found && len) {
            fprintf(stderr, "recur-conform: no op named '%.*s' (see --list)\n", (int)len, p);
            ok = 0;
        }
        if (!e) break;
        p = e + 1;
    }
    return ok;
}

static void add_filter(const char *names) {
    size_t used = strlen(op_filter);
    snprintf(op_filter + used, sizeof op_filter - used, "%s%s", used ? "," : "", names);
}

static void tol_text(char *out, size_t size, double rtol) {
    if (rtol == 0)
        snprintf(out, size, "exact");
    else
        snprintf(out, size, "%.0e", rtol);
}

static void list_ops(void) {
    printf("%-8s %-14s %-9s %s\n", "suite", "op", "tolerance", "floor S in err = |got - ref| / max(|ref|, S)");
    for (size_t i = 0; i < ct_op_count; i++) {
        char tol[16];
        tol_text(tol, sizeof tol, ct_ops[i].rtol);
        printf("%-8s %-14s %-9s %s\n", ct_ops[i].suite, ct_ops[i].name, tol, ct_ops[i].floor);
    }
}

static int is_fallback(const char *name, const char **fb, int nfb) {
    for (int i = 0; i < nfb; i++)
        if (fb[i] && !strcmp(fb[i], name)) return 1;
    return 0;
}

int main(int argc, char **argv) {
    const char *backend = NULL, *selector = NULL;
    int list = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--list")) {
            list = 1;
        } else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
            ct_cfg.verbose = 1;
        } else if (!strcmp(a, "--device") || !strcmp(a, "--op")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "recur-conform: %s needs a value\n", a);
                usage(stderr);
                return EXIT_ERROR;
            }
            if (a[2] == 'd')
                selector = argv[++i];
            else
                add_filter(argv[++i]);
        } else if (!strncmp(a, "--device=", 9)) {
            selector = a + 9;
        } else if (!strncmp(a, "--op=", 5)) {
            add_filter(a + 5);
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "recur-conform: unknown option '%s'\n", a);
            usage(stderr);
            return EXIT_ERROR;
        } else if (!backend) {
            backend = a;
        } else {
            fprintf(stderr, "recur-conform: more than one backend given ('%s', '%s')\n", backend, a);
            usage(stderr);
            return EXIT_ERROR;
        }
    }
    if (!check_filter()) return EXIT_ERROR;
    if (list) {
        list_ops();
        return 0;
    }

    const char *env = recur_getenv("RECUR_BACKEND");
    const char *label = backend ? backend : env && *env ? env : "(default)";

    recur_device *tgt = NULL, *ref = NULL;
    int st = recur_device_open_default(backend, selector, &tgt);
    if (st == RECUR_E_NODEVICE) {
        printf("SKIP: backend '%s' has no device here: %s\n", label, recur_last_error());
        return EXIT_SKIP;
    }
    if (st) {
        fprintf(stderr, "recur-conform: cannot open backend '%s' (%s): %s\n", label, recur_strerror(st),
                recur_last_error());
        return EXIT_ERROR;
    }
    st = recur_device_open_default("ref", "0", &ref);
    if (st) {
        fprintf(stderr, "recur-conform: cannot load the oracle backend 'ref' (%s): %s\n", recur_strerror(st),
                recur_last_error());
        recur_device_close(tgt);
        return EXIT_ERROR;
    }
    ct_cfg.dev[CT_REF] = ref;
    ct_cfg.dev[CT_TGT] = tgt;

    recur_backend *tb = recur_device_backend(tgt), *rb = recur_device_backend(ref);
    const recur_device_info *ti = recur_device_get_info(tgt);
    printf("recur-conform %s\n", RECUR_VERSION_STRING);
    const char *tv = recur_backend_version(tb);
    printf("target: backend '%s'%s%s (%s)\n        device '%s' (%s, %s memory)\n", recur_backend_name(tb),
           tv && *tv ? " " : "", tv ? tv : "", recur_backend_path(tb), ti->name,
           ti->kind == RECUR_DEVICE_GPU ? "GPU" : ti->kind == RECUR_DEVICE_CPU ? "CPU" : "accelerator",
           ti->host_addressable ? "host" : "device");
    printf("oracle: backend '%s' %s (%s)\n", recur_backend_name(rb), recur_backend_version(rb),
           recur_backend_path(rb));
    fflush(stdout);
    catch_crashes();

    if (CU_initialize_registry() != CUE_SUCCESS || CU_register_suites(suites) != CUE_SUCCESS) {
        fprintf(stderr, "recur-conform: CUnit: %s\n", CU_get_error_msg());
        CU_cleanup_registry();
        recur_device_close(tgt);
        recur_device_close(ref);
        return EXIT_ERROR;
    }
    if (ct_cfg.verbose) ct_cfg.max_fail_lines = 1 << 30;
    CU_ErrorCode cerr = CUE_SUCCESS;
    if (!op_filter[0]) {
        cerr = CU_run_all_tests();
    } else {
        for (CU_SuiteInfo *s = suites; s->pName; s++)
            for (CU_TestInfo *t = s->pTests; t->pName; t++) {
                if (!op_selected(t->pName)) continue;
                CU_pSuite suite = CU_get_suite(s->pName);
                CU_pTest test = CU_get_test(suite, t->pName);
                CU_ErrorCode e = CU_run_test(suite, test);
                if (e != CUE_SUCCESS) cerr = e;
            }
    }
    unsigned cu_failures = CU_get_number_of_failures();
    CU_cleanup_registry();

    /* The table. */
    const char *fb[64];
    int nfb = recur_device_fallback_ops(tgt, fb, 64);
    int total = 0, failed = 0, ops = 0, ops_failed = 0;
    printf("\n%-14s %6s %7s %10s %10s  %s\n", "op", "cases", "passed", "max err", "tolerance", "impl");
    for (size_t i = 0; i < ct_op_count; i++) {
        const ct_op_info *o = &ct_ops[i];
        if (!o->ran) continue;
        char tol[16], err[24];
        tol_text(tol, sizeof tol, o->rtol);
        if (o->max_err == 0)
            snprintf(err, sizeof err, "0");
        else
            snprintf(err, sizeof err, "%.2e", o->max_err);
        printf("%-14s %6d %7d %10s %10s  %s%s\n", o->name, o->cases, o->passed, err, tol,
               is_fallback(o->name, fb, nfb) ? "fallback" : "native", o->passed == o->cases ? "" : "  FAIL");
        ops++;
        total += o->cases;
        failed += o->cases - o->passed;
        ops_failed += o->passed != o->cases;
    }
    int ok = failed == 0 && cu_failures == 0 && cerr == CUE_SUCCESS;
    printf("\n%s: backend '%s' on '%s': %d ops, %d cases, %d failed (%d ops failing), %d ops on the reference "
           "fallback\n",
           ok ? "PASS" : "FAIL", recur_backend_name(tb), ti->name, ops, total, failed, ops_failed, nfb);
    if (cerr != CUE_SUCCESS) printf("CUnit error: %s\n", CU_get_error_msg());

    recur_device_close(tgt);
    recur_device_close(ref);
    return ok ? 0 : EXIT_FAILED;
}
