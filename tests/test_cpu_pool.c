/*
 * The cpu backend's thread pool under stress: many short tasks of three kinds, on more threads than cores
 * (so workers are often descheduled and arrive late):
 *   - fixed slices (cpu_pool_run_locked): every ith < nth runs exactly once, on its own worker or, when that
 *     worker is late, on the caller (which is what more threads than cores brings about here);
 *   - parts with stealing (cpu_pool_run_parts_locked): every part runs exactly once, whoever runs it;
 *   - the same taken several at a time (cpu_parts_next_guided, as the GEMM's column panels): every part
 *     exactly once, each take within the parts and never empty.
 * Each task counts what ran into its own counters, checked after the call returns.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cpu_pool.h"
#include "testlib.h"

enum { THREADS = 4, TASKS = 20000, MAX_PARTS = 64 };

typedef struct {
    _Atomic int runs[MAX_PARTS];
    _Atomic int wrong_nth;
    _Atomic int on_caller; /* slices ith > 0 that the calling thread ran */
    int nth;
    pthread_t caller;
} counts;

static void count_t(void *arg, int ith, int nth) {
    counts *c = arg;
    if (nth != c->nth) atomic_fetch_add(&c->wrong_nth, 1);
    if (ith >= 0 && ith < MAX_PARTS) atomic_fetch_add(&c->runs[ith], 1);
    if (ith > 0 && pthread_equal(pthread_self(), c->caller)) atomic_fetch_add(&c->on_caller, 1);
}

typedef struct {
    cpu_parts sched;
    counts *c;
    size_t nparts;
    _Atomic int bad_take; /* a take past the parts, or of none */
} guided_task;

static void guided_t(void *arg, int ith, int nth) {
    guided_task *g = arg;
    (void)nth;
    size_t n;
    for (size_t first; (first = cpu_parts_next_guided(&g->sched, ith, &n)) != SIZE_MAX;) {
        if (n == 0 || first + n > g->nparts) {
            atomic_fetch_add(&g->bad_take, 1);
            return;
        }
        for (size_t i = first; i < first + n; i++) count_t(g->c, (int)i, (int)g->nparts);
    }
}

static void test_pool_stress(void) {
    cpu_pool *p;
    CU_ASSERT_EQUAL_FATAL(cpu_pool_create(&p, THREADS, 20), 0);
    int bad = 0;
    unsigned seed = 1;
    for (int task = 0; task < TASKS && !bad; task++) {
        seed = seed * 1103515245u + 12345u;
        counts c;
        memset(&c, 0, sizeof c);
        static const char *const kinds[] = {"fixed", "parts", "guided"};
        const int kind = task % 3, nth = 1 + (int)(seed >> 16) % THREADS;
        const int nparts = kind == 0 ? nth : 1 + (int)(seed >> 8) % MAX_PARTS;
        c.nth = nparts;
        guided_task g = {.c = &c, .nparts = (size_t)nparts};
        cpu_pool_lock(p);
        if (kind == 0) {
            cpu_pool_run_locked(p, count_t, &c, nth);
        } else if (kind == 1) {
            cpu_pool_run_parts_locked(p, count_t, &c, (size_t)nparts, nth);
        } else {
            cpu_parts_init(&g.sched, (size_t)nparts, nth);
            cpu_pool_run_locked(p, guided_t, &g, nth);
        }
        cpu_pool_unlock(p);
        for (int i = 0; i < MAX_PARTS; i++) {
            const int want = i < nparts ? 1 : 0, got = atomic_load(&c.runs[i]);
            if (got != want) {
                printf("\n  task %d (%s, nth %d, %d parts): part %d ran %d times, want %d\n", task, kinds[kind], nth,
                       nparts, i, got, want);
                bad = 1;
            }
        }
        if (atomic_load(&g.bad_take)) {
            printf("\n  task %d (guided, nth %d, %d parts): a take was empty or past the parts\n", task, nth, nparts);
            bad = 1;
        }
        if (atomic_load(&c.wrong_nth)) {
            printf("\n  task %d: a call saw nth != %d\n", task, nparts);
            bad = 1;
        }
    }
    CU_ASSERT_FALSE(bad);
    /* Sleeping workers: with spin 0 every task wakes them through the condition variable. */
    cpu_pool_set_spin(p, 0);
    for (int task = 0; task < 2000 && !bad; task++) {
        counts c;
        memset(&c, 0, sizeof c);
        c.nth = 7;
        cpu_pool_lock(p);
        cpu_pool_run_parts_locked(p, count_t, &c, 7, THREADS);
        cpu_pool_unlock(p);
        for (int i = 0; i < 7; i++) bad |= atomic_load(&c.runs[i]) != 1;
    }
    CU_ASSERT_FALSE(bad);
    /* Late workers: a sleeping worker takes a wake-up (microseconds) to claim its slice, long after the
     * caller is done with its own empty one, so the caller runs the others itself; each still exactly once. */
    int on_caller = 0;
    for (int task = 0; task < 2000 && !bad; task++) {
        counts c;
        memset(&c, 0, sizeof c);
        c.nth = THREADS;
        c.caller = pthread_self();
        cpu_pool_lock(p);
        cpu_pool_run_locked(p, count_t, &c, THREADS);
        cpu_pool_unlock(p);
        for (int i = 0; i < THREADS; i++) bad |= atomic_load(&c.runs[i]) != 1;
        on_caller += atomic_load(&c.on_caller);
    }
    CU_ASSERT_FALSE(bad);
    CU_ASSERT(on_caller > 0);
    cpu_pool_destroy(p);
}

static CU_TestInfo tests[] = {
    {.pName = "stress", .pTestFunc = test_pool_stress},
    CU_TEST_INFO_NULL,
};
static CU_SuiteInfo suites[] = {
    {.pName = "cpu_pool", .pTests = tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv) { return recur_test_main(argc, argv, suites); }
