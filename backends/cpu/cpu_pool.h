/*
 * A persistent thread pool for the cpu backend.
 *
 * cpu_pool_run(pool, fn, ctx, nth) calls fn(ctx, ith, nth) once for every ith < nth: ith 0 on the calling
 * thread, each other ith on its worker, or on the calling thread when that worker has not taken it up by the
 * time the caller is done with its own (asleep, or descheduled on a machine with more runnable threads than
 * cores), and returns when all of them have returned. fn must not depend on which thread runs an ith (it
 * may use cpu_pool_scratch(pool, ith), which goes with the ith), nor wait for another ith. The workers are
 * created once, at cpu_pool_create; between tasks they spin for a short while (spin_us) and then sleep on a
 * condition variable, so a burst of small ops costs no thread creation and, usually, no system call.
 *
 * Every thread also owns a 64-byte aligned scratch buffer (GEMM packing), grown by cpu_pool_reserve before
 * a run, and reached in the task as cpu_pool_scratch(pool, ith).
 *
 * One task at a time: cpu_pool_run serialises concurrent callers with a mutex.
 */
#ifndef RECUR_CPU_POOL_H
#define RECUR_CPU_POOL_H

#include <stddef.h>
#include <stdint.h>

typedef struct cpu_pool cpu_pool;
typedef void (*cpu_task_fn)(void *ctx, int ith, int nth);

#define CPU_MAX_THREADS 1024

/* Create a pool of `nthreads` threads in all (the caller counts as one, so nthreads - 1 workers).
 * Returns 0, or an errno value (EINVAL for a bad count, ENOMEM, or pthread_create's error). */
int cpu_pool_create(cpu_pool **out, int nthreads, int spin_us);
void cpu_pool_destroy(cpu_pool *pool);
int cpu_pool_size(const cpu_pool *pool);
void cpu_pool_set_spin(cpu_pool *pool, int spin_us);
int cpu_pool_spin(const cpu_pool *pool);

/* Run fn(ctx, ith, nth) for ith < nth (1 <= nth <= pool size; larger values are clamped). */
void cpu_pool_run(cpu_pool *pool, cpu_task_fn fn, void *ctx, int nth);

/* ---- parts with stealing ----
 * A task cut into nparts parts for nt threads: thread i owns the i-th contiguous run of parts and takes it
 * front to back; when its run is empty it steals from the back of the other runs. A faster core thus takes
 * over the tail of a slower one's work (the cores of a shared VM, or big and little cores, do not run at one
 * speed), while each thread mostly keeps the same part of the data from one call to the next (its cache).
 * Which thread runs a part must not change the result: parts are slices (ith = part, nth = nparts). */
#define CPU_PARTS_MAX_THREADS 64
typedef struct cpu_parts {
    int nt;
    _Atomic uint64_t run[CPU_PARTS_MAX_THREADS]; /* (back << 32) | front: parts [front, back) left */
} cpu_parts;
/* nt <= CPU_PARTS_MAX_THREADS, nparts < 2^32. */
void cpu_parts_init(cpu_parts *s, size_t nparts, int nt);
/* The next part for thread ith (its own, else stolen); SIZE_MAX when every part has been taken. */
size_t cpu_parts_next(cpu_parts *s, int ith);
/* The same, several parts at a time: from thread ith's own run half of what is left there (at least one
 * part), from another's one part; the first part, *count set to how many follow from it. The parts left to
 * steal thus shrink as the work ends, so a thread waits at most about one part for another, where the
 * parts themselves can be small (few taken at a time) without a take per part. */
size_t cpu_parts_next_guided(cpu_parts *s, int ith, size_t *count);
/* Run fn(ctx, part, nparts) for every part < nparts on min(nth, nparts) threads, scheduled as above.
 * Call inside cpu_pool_lock / cpu_pool_unlock. */
void cpu_pool_run_parts_locked(cpu_pool *pool, cpu_task_fn fn, void *ctx, size_t nparts, int nth);

/* Make every thread's scratch buffer at least `bytes` long. Returns 0 or ENOMEM. Call it only from the
 * thread that will call cpu_pool_run, never from inside a task. */
int cpu_pool_reserve(cpu_pool *pool, size_t bytes);
void *cpu_pool_scratch(cpu_pool *pool, int ith);

/* Lock / unlock the pool for a sequence reserve + run (cpu_pool_run alone takes the lock itself when it is
 * not held: use cpu_pool_run_locked inside lock/unlock). */
void cpu_pool_lock(cpu_pool *pool);
void cpu_pool_unlock(cpu_pool *pool);
void cpu_pool_run_locked(cpu_pool *pool, cpu_task_fn fn, void *ctx, int nth);

#endif
