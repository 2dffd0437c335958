/* The two outputs of `recur bench`: a readable table and JSON lines. */
#include "bench.h"

const char *bench_cache_state(const bench_startup *s) {
    if (s->cache_hits < 0 && s->cache_misses < 0) return "n/a";
    if (s->cache_misses <= 0 && s->cache_hits > 0) return "warm";
    if (s->cache_hits <= 0 && s->cache_misses > 0) return "cold";
    if (s->cache_hits > 0 && s->cache_misses > 0) return "partial";
    return "n/a";
}

const char *bench_kind_name(int kind) {
    return kind == BENCH_GEMM ? "gemm" : kind == BENCH_LAYER ? "layer" : "model";
}

const char *bench_device_kind_name(uint32_t kind) {
    return kind == RECUR_DEVICE_GPU ? "gpu" : kind == RECUR_DEVICE_ACCELERATOR ? "accelerator" : "cpu";
}

/* ---- JSON -------------------------------------------------------------------------------------------- */

void bench_print_case_json(FILE *f, const bench_case *c) {
    char shape[96];
    bench_case_shape(c, shape, sizeof shape);
    fputc('{', f);
    bench_json_str(f, "name", c->name, 0);
    bench_json_str(f, "kind", bench_kind_name(c->kind), 1);
    bench_json_str(f, "mode", c->train ? "train" : "infer", 1);
    bench_json_str(f, "what", c->what, 1);
    bench_json_str(f, "shape", shape, 1);
    if (c->kind == BENCH_GEMM) {
        bench_json_num(f, "M", (double)c->M, 1);
        bench_json_num(f, "N", (double)c->N, 1);
        bench_json_num(f, "K", (double)c->K, 1);
        fprintf(f, ",\"trans_a\":%s,\"trans_b\":%s", c->trans_a ? "true" : "false", c->trans_b ? "true" : "false");
    }
    bench_json_str(f, "cell", recur_cell_name(c->cell), 1);
    bench_json_num(f, "batch", (double)c->batch, 1);
    bench_json_num(f, "seq", (double)c->seq, 1);
    bench_json_num(f, "input", (double)(c->vocab ? c->embed : c->input), 1);
    bench_json_num(f, "hidden", (double)c->hidden, 1);
    bench_json_num(f, "layers", (double)c->layers, 1);
    fprintf(f, ",\"bidirectional\":%s", c->bidirectional ? "true" : "false");
    if (c->kind == BENCH_MODEL) {
        bench_json_num(f, "vocab", (double)c->vocab, 1);
        bench_json_num(f, "embed", (double)c->embed, 1);
        bench_json_str(f, "head", recur_head_name(c->head), 1);
        bench_json_num(f, "classes", (double)c->classes, 1);
        bench_json_str(f, "loss", "cross_entropy", 1);
        bench_json_str(f, "optimizer", c->train ? "adam" : "", 1);
    }
    bench_json_num(f, "gflop", bench_case_flops(c) * 1e-9, 1);
    fputc('}', f);
}

void bench_print_json(FILE *f, const bench_machine *m, const bench_device_ctx *dc, const bench_case *c,
                      const bench_stats *s, const char *error, const char *skipped) {
    fputs("{\"schema\":\"recur-bench/1\"", f);
    bench_json_str(f, "recur_version", RECUR_VERSION_STRING, 1);
    char when[32];
    bench_utc_time(when, sizeof when);
    bench_json_str(f, "time", when, 1);

    bench_json_machine(f, m);

    fputs(",\"backend\":{", f);
    bench_json_str(f, "name", dc->backend_name, 0);
    bench_json_str(f, "version", dc->backend_version, 1);
    bench_json_str(f, "path", dc->backend_path, 1);
    fputc('}', f);

    const recur_device_info *info = dc->info;
    fputs(",\"device\":{", f);
    bench_json_num(f, "index", dc->index, 0);
    bench_json_str(f, "name", info->name, 1);
    bench_json_str(f, "vendor", info->vendor, 1);
    bench_json_str(f, "kind", bench_device_kind_name(info->kind), 1);
    bench_json_str(f, "driver", info->driver, 1);
    bench_json_str(f, "platform", info->platform, 1);
    bench_json_num(f, "compute_units", info->compute_units, 1);
    bench_json_num(f, "memory_bytes", (double)info->memory_bytes, 1);
    fprintf(f, ",\"host_addressable\":%s", info->host_addressable ? "true" : "false");
    if (dc->startup.threads[0]) bench_json_str(f, "threads", dc->startup.threads, 1);
    else fputs(",\"threads\":null", f);
    if (dc->startup.isa[0]) bench_json_str(f, "isa", dc->startup.isa, 1);
    else fputs(",\"isa\":null", f);
    const char *fb[64];
    int nfb = recur_device_fallback_ops(dc->dev, fb, 63);
    fputs(",\"fallback_ops\":[", f);
    for (int i = 0; i < nfb; i++) {
        if (i) fputc(',', f);
        json_write_string(f, fb[i]);
    }
    fputs("]}", f);

    const bench_startup *su = &dc->startup;
    fputs(",\"startup\":{", f);
    bench_json_num(f, "load_ms", su->load_ms, 0);
    bench_json_num(f, "open_ms", su->open_ms, 1);
    bench_json_num(f, "backend_startup_ms", su->backend_ms, 1);
    bench_json_num(f, "warmup_ms", su->warmup_ms, 1);
    bench_json_num(f, "cache_hits", (double)su->cache_hits, 1);
    bench_json_num(f, "cache_misses", (double)su->cache_misses, 1);
    bench_json_str(f, "kernel_cache", bench_cache_state(su), 1);
    fputc('}', f);

    fputs(",\"case\":", f);
    bench_print_case_json(f, c);

    if (error || skipped) {
        bench_json_str(f, error ? "error" : "skipped", error ? error : skipped, 1);
        fputs("}\n", f);
        return;
    }
    fputs(",\"timing\":{", f);
    bench_json_num(f, "warmup", s->warmup, 0);
    bench_json_num(f, "runs", s->runs, 1);
    bench_json_num(f, "inner", s->inner, 1);
    fprintf(f, ",\"cold\":%s", s->cold ? "true" : "false");
    bench_json_num(f, "first_ms", s->first_ms, 1);
    bench_json_num(f, "median_ms", s->median_ms, 1);
    bench_json_num(f, "min_ms", s->min_ms, 1);
    bench_json_num(f, "max_ms", s->max_ms, 1);
    bench_json_num(f, "q1_ms", s->q1_ms, 1);
    bench_json_num(f, "q3_ms", s->q3_ms, 1);
    bench_json_num(f, "mean_ms", s->mean_ms, 1);
    fputc('}', f);

    double flops = bench_case_flops(c), sec = s->median_ms * 1e-3;
    size_t seqs = bench_case_sequences(c);
    fputs(",\"throughput\":{", f);
    bench_json_num(f, "gflop", flops * 1e-9, 0);
    bench_json_num(f, "gflop_per_s", sec > 0 ? flops * 1e-9 / sec : -1, 1);
    bench_json_num(f, "gflop_per_s_best", s->min_ms > 0 ? flops * 1e-9 / (s->min_ms * 1e-3) : -1, 1);
    if (seqs) bench_json_num(f, "seq_per_s", sec > 0 ? (double)seqs / sec : -1, 1);
    else fputs(",\"seq_per_s\":null", f);
    bench_json_str(f, "flop_count",
                 c->kind == BENCH_GEMM ? "2*M*N*K"
                 : c->train            ? "GEMM work only: 3 x the forward pass's (2*M*N*K per product)"
                                       : "GEMM work only: the forward pass's (2*M*N*K per product)",
                 1);
    fputs("}}\n", f);
}

/* ---- the table ----------------------------------------------------------------------------------------- */
static void ms_or_na(char *buf, size_t size, double ms) {
    if (ms < 0) snprintf(buf, size, "-");
    else snprintf(buf, size, "%.0f ms", ms);
}

void bench_print_device_header(FILE *f, const bench_device_ctx *dc) {
    const recur_device_info *info = dc->info;
    const bench_startup *su = &dc->startup;
    fprintf(f, "\n== %s %s, device [%d] %s\n   %s, %s%s%s, driver %s, %u compute units%s%s%s%s\n   %s\n",
            dc->backend_name, dc->backend_version, dc->index, info->name, info->vendor[0] ? info->vendor : "-",
            bench_device_kind_name(info->kind), info->platform[0] ? ", platform " : "", info->platform,
            info->driver[0] ? info->driver : "-", info->compute_units, su->threads[0] ? ", threads " : "", su->threads,
            su->isa[0] ? ", isa " : "", su->isa, dc->backend_path);
    char bk[32], wu[32];
    ms_or_na(bk, sizeof bk, su->backend_ms);
    ms_or_na(wu, sizeof wu, su->warmup_ms);
    fprintf(f, "   start-up: load %.0f ms, open %.0f ms (backend's own count: %s), warm-up call %s, kernel cache %s",
            su->load_ms, su->open_ms, bk, wu, bench_cache_state(su));
    if (su->cache_hits >= 0 || su->cache_misses >= 0)
        fprintf(f, " (%ld hit%s, %ld miss%s)", su->cache_hits, su->cache_hits == 1 ? "" : "s", su->cache_misses,
                su->cache_misses == 1 ? "" : "es");
    fputc('\n', f);
}

void bench_print_table_header(FILE *f) {
    fprintf(f, "%-22s %-5s %-32s %10s %21s %10s %9s %8s %s\n", "case", "mode", "shape", "median ms", "min .. max ms",
            "seq/s", "GFLOP/s", "1st ms", "runs");
}

/* Milliseconds with 3-4 significant digits, never in exponent form. */
static void fmt_ms(char *buf, size_t size, double ms) {
    if (ms >= 100.0) snprintf(buf, size, "%.0f", ms);
    else if (ms >= 10.0) snprintf(buf, size, "%.1f", ms);
    else if (ms >= 1.0) snprintf(buf, size, "%.2f", ms);
    else if (ms >= 0.01) snprintf(buf, size, "%.3f", ms);
    else snprintf(buf, size, "%.5f", ms);
}

void bench_print_row(FILE *f, const bench_case *c, const bench_stats *s, const char *error, const char *skipped) {
    char shape[96];
    bench_case_shape(c, shape, sizeof shape);
    const char *mode = c->kind == BENCH_GEMM ? "-" : c->train ? "train" : "infer";
    if (error || skipped) {
        fprintf(f, "%-22s %-5s %-32s %s%s\n", c->name, mode, shape, error ? "failed: " : "", error ? error : skipped);
        return;
    }
    double sec = s->median_ms * 1e-3, flops = bench_case_flops(c);
    size_t seqs = bench_case_sequences(c);
    char range[64], sps[24], runs[32], med[24], lo[24], hi[24], first[24];
    fmt_ms(med, sizeof med, s->median_ms);
    fmt_ms(lo, sizeof lo, s->min_ms);
    fmt_ms(hi, sizeof hi, s->max_ms);
    fmt_ms(first, sizeof first, s->first_ms);
    snprintf(range, sizeof range, "%s .. %s", lo, hi);
    if (seqs && sec > 0) snprintf(sps, sizeof sps, "%.0f", (double)seqs / sec);
    else snprintf(sps, sizeof sps, "-");
    if (s->cold) snprintf(runs, sizeof runs, "1 (cold: over --max-time)");
    else if (s->inner > 1) snprintf(runs, sizeof runs, "%dx%d", s->runs, s->inner);
    else snprintf(runs, sizeof runs, "%d", s->runs);
    fprintf(f, "%-22s %-5s %-32s %10s %21s %10s %9.1f %8s %s\n", c->name, mode, shape, med, range, sps,
            sec > 0 ? flops * 1e-9 / sec : 0.0, first, runs);
}
