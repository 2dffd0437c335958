/*
 * `recur infer --model M --input X.safetensors --output Y.safetensors`: one forward pass over a batch.
 * X holds `input` (token ids (B, T) int32/int64, or float32 features (B, T, I)) and optionally `lengths`
 * (B), `h0` (L*D, B, H_out) and `c0` (L*D, B, H) for LSTM. Y receives `logits` ((B, C), or (B, T, C) for
 * per-step heads), `output` (B, T, D*H_out), `h_n`, `c_n` (LSTM) and `attention` (B, T) (attention heads).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "recur/model.h"
#include "recur/safetensors.h"
#include "tensors.h"

#define VERB "infer"

static int check_shape(const char *file, const recur_st_tensor *t, int ndim, const int64_t *shape, const char *meaning) {
    int ok = t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = t->shape[i] == shape[i];
    if (ok) return 0;
    char got[96], want[96];
    recur_st_tensor w = {.ndim = ndim};
    for (int i = 0; i < ndim; i++) w.shape[i] = shape[i];
    shape_str(t, got, sizeof got);
    shape_str(&w, want, sizeof want);
    return recur_set_error(RECUR_E_FORMAT, "%s: tensor '%s' has shape %s; expected %s %s", file, t->name, got, want,
                           meaning);
}

int cli_infer(int argc, char **argv) {
    const char *model = NULL, *input = NULL, *output = NULL, *backend = NULL, *device = NULL;
    int json = 0, help = 0;
    arg_spec sp[] = {
        {"model", ARG_STR, &model, NULL, 0, 0, NULL, "M.safetensors", "the model (or checkpoint) file"},
        {"input", ARG_STR, &input, NULL, 0, 0, NULL, "X.safetensors", "input, and optionally lengths, h0, c0"},
        {"output", ARG_STR, &output, NULL, 0, 0, NULL, "Y.safetensors", "where to write logits, output, h_n, c_n, attention"},
        {"backend", ARG_STR, &backend, NULL, 0, 0, NULL, "NAME", "ref, cpu, opencl, auto, or a plugin path"},
        {"device", ARG_STR, &device, NULL, 0, 0, NULL, "SEL", "device index or name substring"},
        {"json", ARG_FLAG, &json, NULL, 0, 0, NULL, NULL, "print a JSON summary line on stdout"},
    };
    const size_t ns = sizeof sp / sizeof sp[0];
    const char *pos[1];
    int npos;
    int st = args_parse(VERB, argc, argv, 1, sp, ns, pos, 0, &npos, &help);
    if (st) return st;
    if (help) {
        printf("usage: recur infer --model M.safetensors --input X.safetensors --output Y.safetensors [flags]\n");
        args_print_help(stdout, sp, ns);
        printf("X holds 'input': token ids (B, T) int32 or int64 (int64 values must fit int32) for a model with an\n"
               "embedding, else float32 features (B, T, I); optionally 'lengths' (B) in [1, T], 'h0' (L*D, B, H_out)\n"
               "and, for LSTM, 'c0' (L*D, B, H), float32. Y receives float32 'logits' ((B, C), or (B, T, C) for a\n"
               "per-step head), 'output' (B, T, D*H_out), 'h_n', 'c_n' (LSTM) and 'attention' (B, T) for attention\n"
               "heads; it is written atomically.\n");
        return 0;
    }
    if (!model || !input || !output) {
        fprintf(stderr, "recur infer: needs --model M, --input X and --output Y (see recur infer --help)\n");
        return 2;
    }
    recur_device *d = NULL;
    recur_model *m = NULL;
    recur_st_file *f = NULL;
    recur_st_writer *w = NULL;
    int32_t *ids = NULL, *lengths = NULL;
    float *feat = NULL, *h0 = NULL, *c0 = NULL, *logits = NULL, *out = NULL, *hn = NULL, *cn = NULL, *att = NULL;
    int rc = 0;
    double t0 = cli_now();
    if (recur_device_open_default(backend, device, &d)) return cli_lib_error(VERB, "opening the backend");
    if (recur_model_load(d, model, &m)) rc = cli_lib_error(VERB, "loading the model");
    if (!rc && recur_st_read(input, &f)) rc = cli_lib_error(VERB, "reading the input");
    const recur_model_config *c = rc ? NULL : recur_model_get_config(m);
    size_t B = 0, T = 0, D = 0, LD = 0, H = 0, P = 0, C = 0, F = 0;
    if (!rc) {
        D = c->rnn.bidirectional ? 2 : 1;
        LD = c->rnn.num_layers * D;
        H = c->rnn.hidden_size;
        P = c->rnn.proj_size ? c->rnn.proj_size : H;
        C = c->num_outputs;
        F = D * P;
        const recur_st_tensor *in = recur_st_find(f, "input");
        if (!in) {
            rc = cli_error(VERB, "%s: no tensor 'input' (expected token ids (B, T) or features (B, T, I))", input);
        } else if (c->vocab) {
            char got[96];
            shape_str(in, got, sizeof got);
            if (!dtype_is_int(in->dtype) || in->ndim != 2)
                rc = cli_error(VERB, "%s: tensor 'input' is %s %s; this model embeds token ids: expected int32 or int64 "
                               "(B, T)", input, recur_dtype_name(in->dtype), got);
            else if (tensor_to_i32(input, in, &ids)) rc = cli_lib_error(VERB, "reading the input");
        } else {
            char got[96];
            shape_str(in, got, sizeof got);
            if (!dtype_is_float(in->dtype) || in->ndim != 3 || (size_t)in->shape[2] != c->rnn.input_size)
                rc = cli_error(VERB, "%s: tensor 'input' is %s %s; this model reads float32 features (B, T, %zu)", input,
                               recur_dtype_name(in->dtype), got, c->rnn.input_size);
            else if (tensor_to_f32(input, in, &feat)) rc = cli_lib_error(VERB, "reading the input");
        }
        if (!rc) {
            B = (size_t)in->shape[0];
            T = (size_t)in->shape[1];
            if (!B || !T) rc = cli_error(VERB, "%s: tensor 'input' is empty", input);
        }
        for (size_t i = 0; !rc && ids && i < B * T; i++)
            if (ids[i] < 0 || (size_t)ids[i] >= c->vocab)
                rc = cli_error(VERB, "%s: input[%zu, %zu] = %d is outside the model's vocabulary [0, %zu)", input, i / T,
                               i % T, ids[i], c->vocab);
    }
    const recur_st_tensor *tl = rc ? NULL : recur_st_find(f, "lengths");
    if (tl) {
        if (check_shape(input, tl, 1, (int64_t[]){(int64_t)B}, "(one length per sample)") ||
            tensor_to_i32(input, tl, &lengths))
            rc = cli_lib_error(VERB, "reading the input");
        for (size_t i = 0; !rc && i < B; i++)
            if (lengths[i] < 1 || (size_t)lengths[i] > T)
                rc = cli_error(VERB, "%s: lengths[%zu] = %d is outside [1, %zu]", input, i, lengths[i], T);
    }
    const recur_st_tensor *th = rc ? NULL : recur_st_find(f, "h0");
    if (th && (check_shape(input, th, 3, (int64_t[]){(int64_t)LD, (int64_t)B, (int64_t)P}, "(L*D, B, H_out)") ||
               tensor_to_f32(input, th, &h0)))
        rc = cli_lib_error(VERB, "reading the input");
    const recur_st_tensor *tc = rc ? NULL : recur_st_find(f, "c0");
    if (tc && c->rnn.cell != RECUR_CELL_LSTM)
        rc = cli_error(VERB, "%s: tensor 'c0' is for LSTM models; this one is %s", input, recur_cell_name(c->rnn.cell));
    else if (tc && (check_shape(input, tc, 3, (int64_t[]){(int64_t)LD, (int64_t)B, (int64_t)H}, "(L*D, B, H)") ||
                    tensor_to_f32(input, tc, &c0)))
        rc = cli_lib_error(VERB, "reading the input");
    int per_step = !rc && c->head == RECUR_HEAD_PER_STEP;
    int attn = !rc && (c->head == RECUR_HEAD_ADDITIVE_ATTENTION || c->head == RECUR_HEAD_DOT_ATTENTION);
    int lstm = !rc && c->rnn.cell == RECUR_CELL_LSTM;
    if (!rc) {
        recur_batch b = {.B = B, .T = T, .ids = ids, .features = feat, .lengths = lengths, .h0 = h0, .c0 = c0};
        size_t nlog = B * (per_step ? T : 1) * C;
        logits = malloc(sizeof(float) * nlog);
        out = malloc(sizeof(float) * B * T * F);
        hn = malloc(sizeof(float) * LD * B * P);
        cn = malloc(sizeof(float) * LD * B * H);
        att = malloc(sizeof(float) * B * T);
        if (!logits || !out || !hn || !cn || !att) rc = cli_error(VERB, "out of memory for a batch of %zu x %zu", B, T);
        else if (recur_model_forward(m, &b, 0) || recur_model_read_logits(m, logits) || recur_model_read_output(m, out) ||
                 recur_model_read_state(m, hn, lstm ? cn : NULL) || (attn && recur_model_read_attention(m, att)))
            rc = cli_lib_error(VERB, "forward");
    }
    int64_t s_log[3] = {(int64_t)B, per_step ? (int64_t)T : (int64_t)C, (int64_t)C};
    int64_t s_out[3] = {(int64_t)B, (int64_t)T, (int64_t)F};
    int64_t s_hn[3] = {(int64_t)LD, (int64_t)B, (int64_t)P}, s_cn[3] = {(int64_t)LD, (int64_t)B, (int64_t)H};
    int64_t s_att[2] = {(int64_t)B, (int64_t)T};
    if (!rc) {
        if (recur_st_writer_new(&w) || recur_st_writer_add(w, "logits", RECUR_DT_F32, per_step ? 3 : 2, s_log, logits) ||
            recur_st_writer_add(w, "output", RECUR_DT_F32, 3, s_out, out) ||
            recur_st_writer_add(w, "h_n", RECUR_DT_F32, 3, s_hn, hn) ||
            (lstm && recur_st_writer_add(w, "c_n", RECUR_DT_F32, 3, s_cn, cn)) ||
            (attn && recur_st_writer_add(w, "attention", RECUR_DT_F32, 2, s_att, att)) ||
            recur_st_writer_meta(w, "recur.model", model) || recur_st_write(w, output))
            rc = cli_lib_error(VERB, "writing the output");
    }
    if (!rc) {
        double dt = cli_now() - t0;
        char ls[64];
        if (per_step) snprintf(ls, sizeof ls, "(%zu, %zu, %zu)", B, T, C);
        else snprintf(ls, sizeof ls, "(%zu, %zu)", B, C);
        if (json) {
            printf("{\"model\":");
            json_write_string(stdout, model);
            printf(",\"input\":");
            json_write_string(stdout, input);
            printf(",\"output\":");
            json_write_string(stdout, output);
            printf(",\"batch\":%zu,\"steps\":%zu,\"cell\":\"%s\",\"head\":\"%s\",\"tensors\":{\"logits\":[%zu,%zu", B, T,
                   recur_cell_name(c->rnn.cell), recur_head_name(c->head), B, per_step ? T : C);
            if (per_step) printf(",%zu", C);
            printf("],\"output\":[%zu,%zu,%zu],\"h_n\":[%zu,%zu,%zu]", B, T, F, LD, B, P);
            if (lstm) printf(",\"c_n\":[%zu,%zu,%zu]", LD, B, H);
            if (attn) printf(",\"attention\":[%zu,%zu]", B, T);
            printf("}");
            if (!per_step && C > 1) {
                printf(",\"argmax\":[");
                for (size_t s = 0; s < B; s++) {
                    size_t best = 0;
                    for (size_t k = 1; k < C; k++)
                        if (logits[s * C + k] > logits[s * C + best]) best = k;
                    printf(s ? ",%zu" : "%zu", best);
                }
                printf("]");
            }
            printf(",\"time_s\":%.6g}\n", dt);
        } else {
            printf("wrote %s: logits %s, output (%zu, %zu, %zu), h_n (%zu, %zu, %zu)", output, ls, B, T, F, LD, B, P);
            if (lstm) printf(", c_n (%zu, %zu, %zu)", LD, B, H);
            if (attn) printf(", attention (%zu, %zu)", B, T);
            printf(" in %.3fs\n", dt);
        }
    }
    recur_st_writer_free(w);
    recur_st_free(f);
    free(ids);
    free(lengths);
    free(feat);
    free(h0);
    free(c0);
    free(logits);
    free(out);
    free(hn);
    free(cn);
    free(att);
    recur_model_free(m);
    recur_device_close(d);
    return rc;
}
