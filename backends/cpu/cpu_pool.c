/*
 * The cpu backend's thread pool (see cpu_pool.h).
 *
 * Dispatch: the caller stores fn/ctx, sets `pending` to nth - 1, then publishes one 64-bit word
 * `task` = (generation << 16) | nth with release order. A worker loads that word once (acquire), so it sees
 * a generation and its nth together; workers with ith >= nth skip the task. The others claim their slice
 * (slots[ith].claimed: compare-and-swap from an older generation to this one), run it and decrement
 * `pending`. The caller, its own slice done, claims every slice still unclaimed and runs it itself, taking
 * those off `pending`. Exactly one of the two wins each claim; a worker that loses (it came late, or its
 * word is stale) touches nothing of the task. fn and ctx are only read by claimants, and the caller does not
 * write the next task before `pending` reaches 0, so they never change under a reader.
 *
 * Waiting: a worker spins (with the CPU's pause hint) for up to spin_us microseconds, then sleeps on a
 * condition variable; the caller signals it only when `sleepers` says someone sleeps. The caller then spins
 * on `pending` (the slices left are running) and yields the CPU if that takes long: on an oversubscribed
 * machine their worker may be waiting for this very core.
 */
#define _POSIX_C_SOURCE 200809L
#include "cpu_pool.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CACHE_LINE 64

typedef struct worker {
    cpu_pool *pool;
    pthread_t thread;
    int ith;
    int started;
} worker;

/* Who runs slice ith of a task: the generation of the last task whose slice ith was claimed, by its worker or
 * by the caller (one cache line each: the worker and the caller race for it). */
typedef struct slot {
    _Alignas(CACHE_LINE) _Atomic uint64_t claimed;
} slot;

struct cpu_pool {
    int n;      /* threads in all, the caller included */
    _Atomic int spin_us; /* set while workers wait: read and written relaxed */
    /* written by the caller, read by workers */
    _Alignas(CACHE_LINE) _Atomic uint64_t task; /* (generation << 16) | nth */
    cpu_task_fn fn;
    void *ctx;
    _Atomic int stop;
    /* written by workers */
    _Alignas(CACHE_LINE) _Atomic int pending;
    _Alignas(CACHE_LINE) _Atomic int sleepers;
    pthread_mutex_t sleep_mu;
    pthread_cond_t sleep_cv;
    pthread_mutex_t run_mu; /* one task at a time */
    worker *workers;        /* n - 1 of them */
    slot *slots;            /* n of them (slot 0 unused: the caller's own slice is never claimed) */
    void **scratch;         /* n buffers, 64-byte aligned */
    size_t scratch_bytes;
};

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static inline int64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Wait until `task` differs from `seen`; returns the new word. */
static uint64_t wait_for_task(cpu_pool *p, uint64_t seen) {
    uint64_t t = atomic_load_explicit(&p->task, memory_order_acquire);
    if (t != seen) return t;
    const int spin_us = atomic_load_explicit(&p->spin_us, memory_order_relaxed);
    if (spin_us > 0) {
        const int64_t until = now_us() + spin_us;
        for (;;) {
            for (int i = 0; i < 64; i++) {
                cpu_relax();
                t = atomic_load_explicit(&p->task, memory_order_acquire);
                if (t != seen) return t;
            }
            if (now_us() >= until) break;
        }
    }
    pthread_mutex_lock(&p->sleep_mu);
    atomic_fetch_add(&p->sleepers, 1); /* seq_cst: ordered against the caller's publish + sleepers load */
    while ((t = atomic_load(&p->task)) == seen) pthread_cond_wait(&p->sleep_cv, &p->sleep_mu);
    atomic_fetch_sub(&p->sleepers, 1);
    pthread_mutex_unlock(&p->sleep_mu);
    return t;
}

/* Claim slice ith of task generation gen; 0 if it is taken already (by the caller, because this worker came
 * late, or this word is stale: a later task has claimed it). Generations only grow, so a claim for an older
 * task can never succeed once a newer one holds the slot. */
static int claim(cpu_pool *p, int ith, uint64_t gen) {
    _Atomic uint64_t *c = &p->slots[ith].claimed;
    uint64_t cur = atomic_load_explicit(c, memory_order_relaxed);
    while (cur < gen)
        if (atomic_compare_exchange_weak_explicit(c, &cur, gen, memory_order_acq_rel, memory_order_relaxed)) return 1;
    return 0;
}

static void *worker_main(void *arg) {
    worker *w = arg;
    cpu_pool *p = w->pool;
    /* The word as it was when the pool was made (0), not as it is now: a task (or the stop) may have been
     * published before this thread got to run, and must not be mistaken for the idle state. */
    uint64_t seen = 0;
    for (;;) {
        seen = wait_for_task(p, seen);
        if (atomic_load_explicit(&p->stop, memory_order_acquire)) break;
        const int nth = (int)(seen & 0xffff);
        if (w->ith < nth && claim(p, w->ith, seen >> 16)) {
            p->fn(p->ctx, w->ith, nth);
            atomic_fetch_sub_explicit(&p->pending, 1, memory_order_release);
        }
    }
    return NULL;
}

/* Publish a task for nth threads; returns its generation. */
static uint64_t publish(cpu_pool *p, int nth) {
    uint64_t t = atomic_load_explicit(&p->task, memory_order_relaxed);
    uint64_t next = (((t >> 16) + 1) << 16) | (uint64_t)nth;
    atomic_store(&p->task, next); /* seq_cst, then the sleepers load below */
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->sleep_mu);
        pthread_cond_broadcast(&p->sleep_cv);
        pthread_mutex_unlock(&p->sleep_mu);
    }
    return next >> 16;
}

int cpu_pool_create(cpu_pool **out, int nthreads, int spin_us) {
    *out = NULL;
    if (nthreads < 1 || nthreads > CPU_MAX_THREADS) return EINVAL;
    cpu_pool *p = aligned_alloc(CACHE_LINE, (sizeof *p + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE);
    if (!p) return ENOMEM;
    memset(p, 0, sizeof *p);
    p->n = nthreads;
    atomic_init(&p->spin_us, spin_us < 0 ? 0 : spin_us);
    atomic_init(&p->task, 0);
    atomic_init(&p->stop, 0);
    atomic_init(&p->pending, 0);
    atomic_init(&p->sleepers, 0);
    pthread_mutex_init(&p->sleep_mu, NULL);
    pthread_cond_init(&p->sleep_cv, NULL);
    pthread_mutex_init(&p->run_mu, NULL);
    p->scratch = calloc((size_t)nthreads, sizeof *p->scratch);
    p->workers = nthreads > 1 ? calloc((size_t)nthreads - 1, sizeof *p->workers) : NULL;
    p->slots = aligned_alloc(CACHE_LINE, sizeof *p->slots * (size_t)nthreads);
    if (p->slots)
        for (int i = 0; i < nthreads; i++) atomic_init(&p->slots[i].claimed, 0);
    if (!p->scratch || !p->slots || (nthreads > 1 && !p->workers)) {
        cpu_pool_destroy(p);
        return ENOMEM;
    }
    for (int i = 0; i < nthreads - 1; i++) {
        worker *w = &p->workers[i];
        w->pool = p;
        w->ith = i + 1;
        int e = pthread_create(&w->thread, NULL, worker_main, w);
        if (e) {
            cpu_pool_destroy(p);
            return e;
        }
        w->started = 1;
    }
    *out = p;
    return 0;
}

void cpu_pool_destroy(cpu_pool *p) {
    if (!p) return;
    if (p->workers) {
        atomic_store(&p->stop, 1);
        publish(p, p->n);
        pthread_mutex_lock(&p->sleep_mu); /* wake sleepers even if they registered after publish's check */
        pthread_cond_broadcast(&p->sleep_cv);
        pthread_mutex_unlock(&p->sleep_mu);
        for (int i = 0; i < p->n - 1; i++)
            if (p->workers[i].started) pthread_join(p->workers[i].thread, NULL);
        free(p->workers);
    }
    if (p->scratch) {
        for (int i = 0; i < p->n; i++) free(p->scratch[i]);
        free(p->scratch);
    }
    pthread_mutex_destroy(&p->sleep_mu);
    pthread_cond_destroy(&p->sleep_cv);
    pthread_mutex_destroy(&p->run_mu);
    free(p->slots);
    free(p);
}

int cpu_pool_size(const cpu_pool *p) { return p->n; }
void cpu_pool_set_spin(cpu_pool *p, int spin_us) {
    atomic_store_explicit(&p->spin_us, spin_us < 0 ? 0 : spin_us, memory_order_relaxed);
}
int cpu_pool_spin(const cpu_pool *p) { return atomic_load_explicit(&p->spin_us, memory_order_relaxed); }

void cpu_pool_lock(cpu_pool *p) { pthread_mutex_lock(&p->run_mu); }
void cpu_pool_unlock(cpu_pool *p) { pthread_mutex_unlock(&p->run_mu); }

void cpu_pool_run_locked(cpu_pool *p, cpu_task_fn fn, void *ctx, int nth) {
    if (nth > p->n) nth = p->n;
    if (nth <= 1) {
        fn(ctx, 0, 1);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    atomic_store_explicit(&p->pending, nth - 1, memory_order_relaxed);
    const uint64_t gen = publish(p, nth);
    fn(ctx, 0, nth);
    /* Slices whose worker has not claimed them by now, the caller runs itself. A worker that is still
     * asleep, or descheduled because the machine has more runnable threads than cores, would otherwise
     * hold up every op until the OS runs it (measured: a 2-thread training step of the seeds/001 model took
     * 22-45 ms instead of 1.3 while one other process was busy). A worker that is merely slower to start
     * had the caller's whole slice to claim its own. Which thread runs a slice never changes its result. */
    int ran = 0;
    for (int i = 1; i < nth; i++)
        if (claim(p, i, gen)) {
            fn(ctx, i, nth);
            ran++;
        }
    if (ran) atomic_fetch_sub_explicit(&p->pending, ran, memory_order_relaxed);
    /* Then wait for the slices workers claimed: spin (they are running; 2^16 pauses are about 1 ms on Zen
     * 5), then yield, so that a worker sharing this core gets it. Yielding after 2^12 instead tripled the
     * time in sched_yield and the hypervisor's interrupt path in a 2-thread train.medium, for no gain. */
    for (unsigned spins = 0; atomic_load_explicit(&p->pending, memory_order_acquire) != 0; spins++) {
        if (spins < 1u << 16) cpu_relax();
        else sched_yield();
    }
}

void cpu_pool_run(cpu_pool *p, cpu_task_fn fn, void *ctx, int nth) {
    cpu_pool_lock(p);
    cpu_pool_run_locked(p, fn, ctx, nth);
    cpu_pool_unlock(p);
}

int cpu_pool_reserve(cpu_pool *p, size_t bytes) {
    if (bytes <= p->scratch_bytes) return 0;
    bytes = (bytes + 4095) & ~(size_t)4095;
    for (int i = 0; i < p->n; i++) {
        void *b = aligned_alloc(CACHE_LINE, bytes);
        if (!b) return ENOMEM; /* the buffers replaced so far are larger; scratch_bytes stays as it was */
        free(p->scratch[i]);
        p->scratch[i] = b;
    }
    p->scratch_bytes = bytes;
    return 0;
}

void *cpu_pool_scratch(cpu_pool *p, int ith) { return p->scratch[ith]; }

/* ---- parts with stealing ---- */

void cpu_parts_init(cpu_parts *s, size_t nparts, int nt) {
    s->nt = nt;
    for (int i = 0; i < nt; i++) { /* thread i owns parts [i * nparts / nt, (i + 1) * nparts / nt) */
        const uint64_t lo = nparts * (size_t)i / (size_t)nt, hi = nparts * (size_t)(i + 1) / (size_t)nt;
        atomic_init(&s->run[i], (hi << 32) | lo);
    }
}

/* Take parts from run r: from its front when it is the taker's own run (one, or with `guided` half of those
 * left, rounded up), else one from its back; the first, *count set; SIZE_MAX if the run is empty. */
static size_t take_parts(cpu_parts *s, int r, int own, int guided, size_t *count) {
    uint64_t cur = atomic_load_explicit(&s->run[r], memory_order_relaxed);
    for (;;) {
        const uint64_t front = cur & 0xffffffffu, back = cur >> 32;
        if (front >= back) return SIZE_MAX;
        const uint64_t n = own && guided ? (back - front + 1) / 2 : 1;
        const uint64_t next = own ? (back << 32) | (front + n) : ((back - 1) << 32) | front;
        if (atomic_compare_exchange_weak_explicit(&s->run[r], &cur, next, memory_order_relaxed,
                                                  memory_order_relaxed)) {
            *count = (size_t)n;
            return (size_t)(own ? front : back - 1);
        }
    }
}

static size_t next_parts(cpu_parts *s, int ith, int guided, size_t *count) {
    size_t part = take_parts(s, ith, 1, guided, count);
    for (int k = 1; part == SIZE_MAX && k < s->nt; k++) part = take_parts(s, (ith + k) % s->nt, 0, guided, count);
    return part;
}

size_t cpu_parts_next(cpu_parts *s, int ith) {
    size_t count;
    return next_parts(s, ith, 0, &count);
}

size_t cpu_parts_next_guided(cpu_parts *s, int ith, size_t *count) { return next_parts(s, ith, 1, count); }

typedef struct parts_task {
    cpu_parts sched;
    cpu_task_fn fn;
    void *ctx;
    size_t nparts;
} parts_task;

static void parts_trampoline(void *arg, int ith, int nth) {
    parts_task *t = arg;
    (void)nth;
    for (size_t part; (part = cpu_parts_next(&t->sched, ith)) != SIZE_MAX;) t->fn(t->ctx, (int)part, (int)t->nparts);
}

void cpu_pool_run_parts_locked(cpu_pool *p, cpu_task_fn fn, void *ctx, size_t nparts, int nth) {
    if (nth > p->n) nth = p->n;
    if (nth > CPU_PARTS_MAX_THREADS) nth = CPU_PARTS_MAX_THREADS;
    if ((size_t)nth > nparts) nth = (int)nparts;
    if (nth <= 1) {
        for (size_t i = 0; i < nparts; i++) fn(ctx, (int)i, (int)nparts);
        return;
    }
    parts_task t = {.fn = fn, .ctx = ctx, .nparts = nparts};
    cpu_parts_init(&t.sched, nparts, nth);
    cpu_pool_run_locked(p, parts_trampoline, &t, nth);
}
