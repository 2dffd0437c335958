/*
 * The training loop (see trainer.h). Per epoch: shuffle the training indices with the seeded generator,
 * run mini-batches (forward, loss and backward, optimizer step), evaluate the validation set, save the
 * checkpoint (atomically, by the library), print one line (or one JSON object). At the end: the test
 * set's metrics and confusion matrix, an attention display, and the plots.
 */
#define _POSIX_C_SOURCE 200809L
#include "trainer.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "plot_svg.h"

/* ---- batches ----------------------------------------------------------------------------------------- */
typedef struct batch_buf {
    int32_t *ids, *lengths, *y;
    float *x, *yf;
} batch_buf;

static void batch_free(batch_buf *b) {
    free(b->ids);
    free(b->lengths);
    free(b->y);
    free(b->x);
    free(b->yf);
    memset(b, 0, sizeof *b);
}

static int batch_alloc(batch_buf *b, const cli_data *d, size_t cap) {
    size_t T = d->T, ts = data_target_stride(d);
    memset(b, 0, sizeof *b);
    if (d->I) b->x = malloc(sizeof(float) * cap * T * d->I);
    else b->ids = malloc(sizeof(int32_t) * cap * T);
    b->lengths = malloc(sizeof(int32_t) * cap);
    if (d->float_targets) b->yf = malloc(sizeof(float) * cap * ts);
    else b->y = malloc(sizeof(int32_t) * cap * ts);
    if ((d->I ? !b->x : !b->ids) || !b->lengths || (d->float_targets ? !b->yf : !b->y)) {
        batch_free(b);
        return recur_set_error(RECUR_E_NOMEM, "out of memory for a batch of %zu", cap);
    }
    return 0;
}

/* Gather rows idx[0..n) into b and describe them in rb; returns the batch's weight in the mean loss
 * (samples, or valid tokens for per-step cross-entropy). */
static double batch_fill(batch_buf *b, const cli_data *d, const size_t *idx, size_t n, recur_batch *rb,
                         const void **targets) {
    size_t T = d->T, I = d->I, ts = data_target_stride(d);
    double weight = 0;
    for (size_t k = 0; k < n; k++) {
        size_t i = idx[k];
        if (I) memcpy(b->x + k * T * I, d->x + i * T * I, sizeof(float) * T * I);
        else memcpy(b->ids + k * T, d->ids + i * T, sizeof(int32_t) * T);
        if (d->lengths) b->lengths[k] = d->lengths[i];
        if (d->float_targets) memcpy(b->yf + k * ts, d->yf + i * ts, sizeof(float) * ts);
        else memcpy(b->y + k * ts, d->y + i * ts, sizeof(int32_t) * ts);
        weight += d->per_step && !d->float_targets ? (double)(d->lengths ? (size_t)d->lengths[i] : T) : 1.0;
    }
    memset(rb, 0, sizeof *rb);
    rb->B = n;
    rb->T = T;
    rb->ids = I ? NULL : b->ids;
    rb->features = I ? b->x : NULL;
    rb->lengths = d->lengths ? b->lengths : NULL;
    *targets = d->float_targets ? (const void *)b->yf : (const void *)b->y;
    return weight;
}

/* ---- metrics ----------------------------------------------------------------------------------------- */
typedef struct eval_result {
    double loss, acc, f1, ppl;
    size_t n;
    size_t K;    /* classes counted (0: none) */
    size_t *cnt; /* 3 K: per class the true count, the predicted count, the true positives */
    size_t *cm;  /* K x K (rows = true class, columns = predicted), only for K <= 64 */
} eval_result;

static void eval_free(eval_result *r) {
    free(r->cnt);
    free(r->cm);
    r->cnt = r->cm = NULL;
}

static void count(eval_result *r, size_t truth, size_t pred) {
    if (truth >= r->K || pred >= r->K) return;
    r->cnt[truth]++;
    r->cnt[r->K + pred]++;
    if (truth == pred) r->cnt[2 * r->K + truth]++;
    if (r->cm) r->cm[truth * r->K + pred]++;
}

/* Macro-F1 over the labels present in the truth or the predictions (as sklearn's f1_score). */
static double macro_f1(const eval_result *r) {
    double sum = 0;
    size_t labels = 0, K = r->K;
    for (size_t l = 0; l < K; l++) {
        size_t row = r->cnt[l], col = r->cnt[K + l], tp = r->cnt[2 * K + l];
        if (!row && !col) continue;
        double prec = col ? (double)tp / (double)col : 0, rec = row ? (double)tp / (double)row : 0;
        sum += prec + rec > 0 ? 2 * prec * rec / (prec + rec) : 0;
        labels++;
    }
    return labels ? sum / (double)labels : 0;
}

static size_t eval_batch(long long batch) { return batch > 256 ? (size_t)batch : 256; }

/* Loss and metrics over a whole set, in batches, without gradients. */
static int evaluate(recur_model *m, const train_setup *s, const cli_data *d, eval_result *r) {
    const recur_model_config *cfg = recur_model_get_config(m);
    size_t C = cfg->num_outputs, T = d->T, K = s->eval == EVAL_BINARY ? 2 : s->num_classes;
    size_t cap = eval_batch(s->batch);
    if (cap > d->N) cap = d->N;
    memset(r, 0, sizeof *r);
    if (!d->N) return 0;
    if (K && (s->eval == EVAL_CLASSES || s->eval == EVAL_BINARY)) {
        r->K = K;
        r->cnt = calloc(3 * K, sizeof(size_t));
        if (K <= 64) r->cm = calloc(K * K, sizeof(size_t));
        if (!r->cnt || (K <= 64 && !r->cm)) {
            eval_free(r);
            return recur_set_error(RECUR_E_NOMEM, "out of memory");
        }
    }
    size_t rows = d->per_step ? T : 1;
    float *logits = malloc(sizeof(float) * cap * rows * C);
    size_t *idx = malloc(sizeof(size_t) * cap);
    batch_buf b;
    if (!logits || !idx || batch_alloc(&b, d, cap)) {
        free(logits);
        free(idx);
        return recur_set_error(RECUR_E_NOMEM, "out of memory");
    }
    double loss_sum = 0, weight_sum = 0, correct = 0, counted = 0;
    int st = 0;
    for (size_t at = 0; at < d->N && !st; at += cap) {
        size_t n = d->N - at < cap ? d->N - at : cap;
        for (size_t k = 0; k < n; k++) idx[k] = at + k;
        recur_batch rb;
        const void *tg;
        double w = batch_fill(&b, d, idx, n, &rb, &tg);
        float loss;
        st = recur_model_forward(m, &rb, 0);
        if (!st) st = recur_model_loss(m, &s->loss, tg, &loss);
        if (!st) st = recur_model_read_logits(m, logits);
        if (st) break;
        loss_sum += (double)loss * w;
        weight_sum += w;
        for (size_t k = 0; k < n; k++) {
            size_t len = rb.lengths ? (size_t)rb.lengths[k] : T;
            if (s->eval == EVAL_CLASSES || s->eval == EVAL_LM) {
                size_t steps = d->per_step ? len : 1;
                for (size_t t = 0; t < steps; t++) {
                    const float *lg = logits + (k * rows + t) * C;
                    size_t best = 0;
                    for (size_t c = 1; c < C; c++)
                        if (lg[c] > lg[best]) best = c;
                    int32_t y = b.y[k * (d->per_step ? T : 1) + t];
                    if (y < 0) continue; /* ignore_index */
                    correct += (size_t)y == best;
                    counted++;
                    if (r->K) count(r, (size_t)y, best);
                }
            } else if (s->eval == EVAL_BINARY) {
                size_t vals = (d->per_step ? T : 1) * C;
                for (size_t v = 0; v < vals; v++) {
                    int pred = logits[k * vals + v] > 0, truth = b.yf[k * vals + v] > 0.5f;
                    correct += pred == truth;
                    counted++;
                    count(r, (size_t)truth, (size_t)pred);
                }
            }
        }
    }
    free(logits);
    free(idx);
    batch_free(&b);
    if (st) {
        eval_free(r);
        return st;
    }
    r->n = d->N;
    r->loss = weight_sum > 0 ? loss_sum / weight_sum : 0;
    r->acc = counted > 0 ? correct / counted : 0;
    if (r->K) r->f1 = macro_f1(r);
    r->ppl = exp(r->loss);
    return 0;
}

/* ---- printing ---------------------------------------------------------------------------------------- */
static void jnum(FILE *f, const char *key, double v) {
    if (isfinite(v)) fprintf(f, ",\"%s\":%.6g", key, v);
    else fprintf(f, ",\"%s\":null", key);
}

/* A loss for people: fixed point while it reads well, else scientific. */
static const char *num(double v, int digits, char *buf, size_t size) {
    if (isfinite(v) && fabs(v) < 1e5) snprintf(buf, size, "%.*f", digits, v);
    else snprintf(buf, size, "%.4g", v);
    return buf;
}

static void print_metrics(FILE *f, const train_setup *s, const char *set, const eval_result *r) {
    if (!r->n) return;
    char a[48], b[48];
    switch (s->eval) {
    case EVAL_REGRESSION: fprintf(f, "  %s_mse %s", set, num(r->loss, 6, a, sizeof a)); break;
    case EVAL_LM:
        fprintf(f, "  %s_loss %s  %s_ppl %s  %s_acc %.4f", set, num(r->loss, 4, a, sizeof a), set,
                num(r->ppl, 3, b, sizeof b), set, r->acc);
        break;
    default:
        fprintf(f, "  %s_loss %s  %s_acc %.4f  %s_f1 %.4f", set, num(r->loss, 4, a, sizeof a), set, r->acc, set, r->f1);
        break;
    }
}

static void json_metrics(FILE *f, const train_setup *s, const char *set, const eval_result *r) {
    if (!r->n) return;
    char k[32];
    snprintf(k, sizeof k, "%s_loss", set);
    jnum(f, k, r->loss);
    if (s->eval == EVAL_REGRESSION) {
        snprintf(k, sizeof k, "%s_mse", set);
        jnum(f, k, r->loss);
        return;
    }
    snprintf(k, sizeof k, "%s_acc", set);
    jnum(f, k, r->acc);
    if (s->eval == EVAL_LM) {
        snprintf(k, sizeof k, "%s_ppl", set);
        jnum(f, k, r->ppl);
    } else {
        snprintf(k, sizeof k, "%s_f1", set);
        jnum(f, k, r->f1);
    }
}

static const char *class_name(const train_setup *s, size_t c, char *buf, size_t size) {
    if (s->class_names) return s->class_names[c];
    snprintf(buf, size, "%zu", c);
    return buf;
}

static void print_confusion(FILE *f, const train_setup *s, const char *set, const eval_result *r) {
    if (!r->cm || r->K > 20) return;
    char b[32];
    fprintf(f, "confusion matrix (%s set; rows = true class, columns = predicted):\n  %12s", set, "");
    for (size_t j = 0; j < r->K; j++) fprintf(f, " %10.10s", class_name(s, j, b, sizeof b));
    fputc('\n', f);
    for (size_t i = 0; i < r->K; i++) {
        fprintf(f, "  %12.12s", class_name(s, i, b, sizeof b));
        for (size_t j = 0; j < r->K; j++) fprintf(f, " %10zu", r->cm[i * r->K + j]);
        fputc('\n', f);
    }
}

static void json_confusion(FILE *f, const eval_result *r) {
    if (!r->cm) return;
    fputs(",\"confusion\":[", f);
    for (size_t i = 0; i < r->K; i++) {
        fputs(i ? ",[" : "[", f);
        for (size_t j = 0; j < r->K; j++) fprintf(f, j ? ",%zu" : "%zu", r->cm[i * r->K + j]);
        fputc(']', f);
    }
    fputc(']', f);
}

/* The shapes flowing through the model, once (as the seeds' notebooks print them). */
static void print_trace(FILE *f, recur_model *m, size_t B, size_t T) {
    const recur_model_config *c = recur_model_get_config(m);
    size_t D = c->rnn.bidirectional ? 2 : 1, L = c->rnn.num_layers, H = c->rnn.hidden_size;
    size_t P = c->rnn.proj_size ? c->rnn.proj_size : H, C = c->num_outputs;
    char a[64];
#define ROW(name, sym, ...)                                                                                         \
    do {                                                                                                           \
        snprintf(a, sizeof a, __VA_ARGS__);                                                                        \
        fprintf(f, "  %-20s %-14s = %s\n", name, sym, a);                                                           \
    } while (0)
    fprintf(f, "shapes through the model (first batch: B = %zu samples, T = %zu steps; %s, L = %zu, D = %zu, H = %zu):\n",
            B, T, recur_cell_name(c->rnn.cell), L, D, H);
    if (c->vocab) {
        ROW("input ids", "(B, T)", "(%zu, %zu)", B, T);
        ROW("embedding", "(B, T, E)", "(%zu, %zu, %zu)", B, T, c->embed_dim);
    } else {
        ROW("input features", "(B, T, I)", "(%zu, %zu, %zu)", B, T, c->rnn.input_size);
    }
    ROW("rnn output", "(B, T, D*H)", "(%zu, %zu, %zu)", B, T, D * P);
    ROW("h_n", "(L*D, B, H)", "(%zu, %zu, %zu)", L * D, B, P);
    if (c->rnn.cell == RECUR_CELL_LSTM) ROW("c_n", "(L*D, B, H)", "(%zu, %zu, %zu)", L * D, B, H);
    switch (c->head) {
    case RECUR_HEAD_ADDITIVE_ATTENTION:
    case RECUR_HEAD_DOT_ATTENTION:
        ROW("attention weights", "(B, T)", "(%zu, %zu)", B, T);
        ROW("context", "(B, D*H)", "(%zu, %zu)", B, D * P);
        ROW("logits", "(B, C)", "(%zu, %zu)", B, C);
        break;
    case RECUR_HEAD_PER_STEP: ROW("logits", "(B, T, C)", "(%zu, %zu, %zu)", B, T, C); break;
    default:
        ROW(D == 2 ? "h_n[-2] ++ h_n[-1]" : "last hidden h_n[-1]", "(B, D*H)", "(%zu, %zu)", B, D * P);
        ROW("logits", "(B, C)", "(%zu, %zu)", B, C);
        break;
    }
#undef ROW
}

/* ---- one sample: attention display and plots --------------------------------------------------------- */
static int forward_one(recur_model *m, const cli_data *d, size_t i, batch_buf *b) {
    recur_batch rb;
    const void *tg;
    batch_fill(b, d, &i, 1, &rb, &tg);
    return recur_model_forward(m, &rb, 0);
}

/* The sample to show: the first of a non-zero class (the magic token present, ...), else sample 0. */
static size_t pick_sample(const cli_data *d) {
    if (d->per_step) return 0;
    for (size_t i = 0; i < d->N; i++)
        if (d->float_targets ? d->yf[i * d->C] > 0.5f : d->y[i] > 0) return i;
    return 0;
}

static const char *token_name(const train_setup *s, const cli_data *d, size_t i, size_t t, char *buf, size_t size) {
    if (!d->I && s->token_names) return s->token_names[d->ids[i * d->T + t]];
    if (!d->I) snprintf(buf, size, "%d", d->ids[i * d->T + t]);
    else snprintf(buf, size, "%g", (double)d->x[(i * d->T + t) * d->I]);
    return buf;
}

static int show_attention(recur_model *m, const train_setup *s, const cli_data *d, const char *set) {
    const recur_model_config *c = recur_model_get_config(m);
    size_t T = d->T, C = c->num_outputs;
    batch_buf b;
    if (batch_alloc(&b, d, 1)) return 1;
    float *w = malloc(sizeof(float) * T), *lg = malloc(sizeof(float) * C);
    int st = !w || !lg ? recur_set_error(RECUR_E_NOMEM, "out of memory") : 0;
    size_t i = pick_sample(d);
    if (!st) st = forward_one(m, d, i, &b);
    if (!st) st = recur_model_read_attention(m, w);
    if (!st) st = recur_model_read_logits(m, lg);
    if (!st) {
        size_t pred = 0;
        for (size_t k = 1; k < C; k++)
            if (lg[k] > lg[pred]) pred = k;
        if (C == 1) pred = lg[0] > 0;
        size_t truth = d->float_targets ? (size_t)(d->yf[i * d->C] > 0.5f) : (size_t)d->y[i];
        char b1[32], b2[32], tb[32];
        fprintf(s->out, "attention over %s sample %zu (true: %s, predicted: %s):\n", set, i,
                class_name(s, truth, b1, sizeof b1), class_name(s, pred, b2, sizeof b2));
        float mx = 0;
        size_t len = d->lengths ? (size_t)d->lengths[i] : T;
        for (size_t t = 0; t < len; t++) mx = w[t] > mx ? w[t] : mx;
        fprintf(s->out, "  %4s  %-10s %-7s\n", "step", "token", "weight");
        for (size_t t = 0; t < len; t++) {
            int bar = mx > 0 ? (int)lroundf(40.0f * w[t] / mx) : 0;
            fprintf(s->out, "  %4zu  %-10.10s %.3f  ", t, token_name(s, d, i, t, tb, sizeof tb), (double)w[t]);
            for (int k = 0; k < bar; k++) fputc('#', s->out);
            fputc('\n', s->out);
        }
    }
    free(w);
    free(lg);
    batch_free(&b);
    return st;
}

static int make_dir(const char *dir) {
    if (mkdir(dir, 0777) && errno != EEXIST)
        return recur_set_error(RECUR_E_IO, "%s: cannot create the plot folder: %s", dir, strerror(errno));
    struct stat sb;
    if (stat(dir, &sb) || !S_ISDIR(sb.st_mode)) return recur_set_error(RECUR_E_IO, "%s: not a folder", dir);
    return 0;
}

static int plots(recur_model *m, const train_setup *s, const float *train_loss, const float *val_loss, size_t epochs,
                 const cli_data *d, const char *set, FILE *log) {
    char path[4096];
    const recur_model_config *c = recur_model_get_config(m);
    svg_series ls[2] = {{"training loss", train_loss}, {s->eval == EVAL_REGRESSION ? "validation MSE" : "validation loss", val_loss}};
    snprintf(path, sizeof path, "%s/loss.svg", s->plot_dir);
    if (svg_line_chart(path, "Loss per epoch", "epoch", "loss", ls, s->val->N ? 2 : 1, epochs, 1, NULL, 1)) return 1;
    fprintf(log, "wrote %s\n", path);
    if (!d->N) return 0;
    size_t T = d->T, H = c->rnn.hidden_size;
    batch_buf b;
    if (batch_alloc(&b, d, 1)) return 1;
    size_t i = pick_sample(d);
    int st = forward_one(m, d, i, &b);
    char **names = calloc(T, sizeof(char *));
    float *buf = malloc(sizeof(float) * T * (4 * H > 3 ? 4 * H : 3) * 2);
    if (!st && (!names || !buf)) st = recur_set_error(RECUR_E_NOMEM, "out of memory");
    for (size_t t = 0; !st && t < T; t++) {
        char tb[32];
        names[t] = strdup(token_name(s, d, i, t, tb, sizeof tb));
        if (!names[t]) st = recur_set_error(RECUR_E_NOMEM, "out of memory");
    }
    if (!st && (c->head == RECUR_HEAD_ADDITIVE_ATTENTION || c->head == RECUR_HEAD_DOT_ATTENTION)) {
        st = recur_model_read_attention(m, buf);
        svg_series a = {"attention weight", buf};
        size_t len = d->lengths ? (size_t)d->lengths[i] : T;
        snprintf(path, sizeof path, "%s/attention.svg", s->plot_dir);
        char title[128];
        snprintf(title, sizeof title, "Attention weights across time (%s sample %zu; higher = more attended)", set, i);
        if (!st) st = svg_line_chart(path, title, "time step (token)", "attention weight", &a, 1, len, 0,
                                     (const char *const *)names, 1);
        if (!st) fprintf(log, "wrote %s\n", path);
    }
    if (!st && c->head == RECUR_HEAD_PER_STEP && s->eval == EVAL_REGRESSION && d->I && c->num_outputs == 1) {
        /* Input, true next value and prediction of one sequence (seeds/004's "Detailed View"). */
        float *pred = buf, *in = buf + T, *truth = buf + 2 * T;
        st = recur_model_read_logits(m, pred);
        for (size_t t = 0; t < T; t++) in[t] = d->x[(i * T + t) * d->I], truth[t] = d->yf[i * T + t];
        svg_series p[3] = {{"input", in}, {"true next", truth}, {"predicted next", pred}};
        snprintf(path, sizeof path, "%s/predictions.svg", s->plot_dir);
        if (!st) st = svg_line_chart(path, "Next-value prediction (one test sequence)", "time step", "value", p, 3, T, 0, NULL, 0);
        if (!st) fprintf(log, "wrote %s\n", path);
    }
    if (!st && c->rnn.cell == RECUR_CELL_LSTM) {
        /* Gate activations i, f, g, o of the last layer (forward direction) over time: (T, 4H). */
        st = recur_model_read_gates(m, buf);
        if (!st) {
            const float *ps[4];
            /* panels: copy each gate's (T, H) block; g (tanh) is shown as (g + 1) / 2 on the same 0..1 scale */
            float *blocks = malloc(sizeof(float) * 4 * T * H);
            if (!blocks) st = recur_set_error(RECUR_E_NOMEM, "out of memory");
            for (int g = 0; !st && g < 4; g++) {
                for (size_t t = 0; t < T; t++)
                    for (size_t h = 0; h < H; h++) {
                        float v = buf[t * 4 * H + (size_t)g * H + h];
                        blocks[((size_t)g * T + t) * H + h] = g == 2 ? (v + 1) / 2 : v;
                    }
                ps[g] = blocks + (size_t)g * T * H;
            }
            const char *titles[4] = {"input gate i", "forget gate f", "cell gate g: (g+1)/2", "output gate o"};
            snprintf(path, sizeof path, "%s/gates.svg", s->plot_dir);
            char title[128];
            snprintf(title, sizeof title, "LSTM gate activations over time (%s sample %zu, last layer)", set, i);
            if (!st) st = svg_heatmaps(path, title, 4, titles, ps, T, H, 0, 1, "time step", "hidden unit");
            if (!st) fprintf(log, "wrote %s\n", path);
            free(blocks);
        }
    }
    for (size_t t = 0; names && t < T; t++) free(names[t]);
    free(names);
    free(buf);
    batch_free(&b);
    return st;
}

/* ---- the loop ---------------------------------------------------------------------------------------- */
int trainer_run(recur_model *m, recur_optim *o, const train_setup *s) {
    const cli_data *tr = s->train;
    const size_t N = tr->N, B = (size_t)s->batch < N ? (size_t)s->batch : N, nb = (N + B - 1) / B;
    FILE *out = s->out;
    int progress = isatty(STDERR_FILENO) && !s->json;
    size_t *order = malloc(sizeof(size_t) * N);
    float *hist_train = calloc((size_t)s->epochs + 1, sizeof(float));
    float *hist_val = calloc((size_t)s->epochs + 1, sizeof(float));
    batch_buf b;
    int rc = 0;
    if (!order || !hist_train || !hist_val || batch_alloc(&b, tr, B)) {
        free(order);
        free(hist_train);
        free(hist_val);
        return cli_error(s->verb, "out of memory");
    }
    for (size_t i = 0; i < N; i++) order[i] = i;
    cli_rng rng = cli_rng_new(s->seed, 100);
    double t_start = cli_now();
    eval_result val = {0};
    long long epoch;
    for (epoch = 1; epoch <= s->epochs && !rc; epoch++) {
        double t0 = cli_now(), last_progress = t0, lr = recur_optim_lr(o); /* this epoch's (StepLR) */
        if (s->shuffle) cli_shuffle(&rng, order, N);
        double loss_sum = 0, weight_sum = 0;
        for (size_t k = 0; k < nb; k++) {
            size_t n = k + 1 < nb ? B : N - k * B;
            recur_batch rb;
            const void *tg;
            double w = batch_fill(&b, tr, order + k * B, n, &rb, &tg);
            float loss;
            int st = recur_model_forward(m, &rb, 1);
            if (!st && s->trace && epoch == 1 && k == 0) print_trace(out, m, n, tr->T);
            if (!st) st = recur_model_loss_backward(m, &s->loss, tg, &loss);
            if (!st) st = recur_optim_step(o);
            if (st) {
                if (progress) fputs("\r\033[K", stderr);
                char ctx[96];
                snprintf(ctx, sizeof ctx, "epoch %lld, batch %zu of %zu", epoch, k + 1, nb);
                rc = cli_lib_error(s->verb, ctx);
                break;
            }
            loss_sum += (double)loss * w;
            weight_sum += w;
            double now = cli_now();
            if (progress && now - last_progress > 0.25 && now - t0 > 0.5) {
                fprintf(stderr, "\r\033[K  epoch %lld/%lld  batch %zu/%zu  loss %.4f", epoch, s->epochs, k + 1, nb,
                        loss_sum / weight_sum);
                fflush(stderr);
                last_progress = now;
            }
        }
        if (rc) break;
        if (progress && cli_now() - t0 > 0.5) fputs("\r\033[K", stderr);
        double train_loss = weight_sum > 0 ? loss_sum / weight_sum : 0;
        eval_free(&val);
        if (evaluate(m, s, s->val, &val)) {
            rc = cli_lib_error(s->verb, "evaluating the validation set");
            break;
        }
        recur_optim_epoch_end(o);
        hist_train[epoch - 1] = (float)train_loss;
        hist_val[epoch - 1] = val.n ? (float)val.loss : NAN;
        if (s->save_path && recur_model_save_with_meta(m, o, s->save_path, s->meta, s->nmeta)) {
            rc = cli_lib_error(s->verb, "saving the checkpoint");
            break;
        }
        double dt = cli_now() - t0;
        if (s->json) {
            printf("{\"epoch\":%lld,\"epochs\":%lld", epoch, s->epochs);
            jnum(stdout, "train_loss", train_loss);
            json_metrics(stdout, s, "val", &val);
            jnum(stdout, "lr", lr);
            jnum(stdout, "time_s", dt);
            printf("}\n");
            fflush(stdout);
        } else {
            char a[48];
            int width = s->epochs >= 100 ? 3 : s->epochs >= 10 ? 2 : 1;
            fprintf(out, "epoch %*lld/%lld  train_loss %s", width, epoch, s->epochs, num(train_loss, 4, a, sizeof a));
            print_metrics(out, s, "val", &val);
            fprintf(out, "  time %.2fs\n", dt);
            fflush(out);
        }
    }
    size_t done_epochs = (size_t)(epoch - 1);
    if (!rc) {
        const cli_data *fin = s->test->N ? s->test : s->val;
        const char *set = s->test->N ? "test" : "validation";
        eval_result r;
        if (evaluate(m, s, fin, &r)) rc = cli_lib_error(s->verb, "evaluating the test set");
        double total = cli_now() - t_start;
        const recur_model_config *c = recur_model_get_config(m);
        if (!rc && !s->json) {
            if (r.n) {
                fprintf(out, "%s set (%zu samples):", set, r.n);
                print_metrics(out, s, s->test->N ? "test" : "val", &r);
                fputc('\n', out);
                print_confusion(out, s, set, &r);
            }
            fprintf(out, "training took %.2fs", total);
            if (s->save_path) fprintf(out, "; checkpoint saved to %s", s->save_path);
            fputc('\n', out);
        }
        if (!rc && r.n && !fin->I && (c->head == RECUR_HEAD_ADDITIVE_ATTENTION || c->head == RECUR_HEAD_DOT_ATTENTION))
            if (show_attention(m, s, fin, set)) rc = cli_lib_error(s->verb, "showing the attention weights");
        if (!rc && s->plot_dir) {
            if (make_dir(s->plot_dir) || plots(m, s, hist_train, hist_val, done_epochs, fin, set, out))
                rc = cli_lib_error(s->verb, "plotting");
        }
        if (!rc && s->json) {
            printf("{\"final\":true,\"task\":");
            json_write_string(stdout, s->name);
            printf(",\"epochs\":%zu", done_epochs);
            jnum(stdout, "train_loss", done_epochs ? hist_train[done_epochs - 1] : NAN);
            json_metrics(stdout, s, "val", &val);
            json_metrics(stdout, s, "test", s->test->N ? &r : &(eval_result){0});
            if (s->test->N) json_confusion(stdout, &r);
            jnum(stdout, "time_s", total);
            if (s->save_path) {
                printf(",\"saved\":");
                json_write_string(stdout, s->save_path);
            }
            printf("}\n");
        }
        eval_free(&r);
    }
    eval_free(&val);
    free(order);
    free(hist_train);
    free(hist_val);
    batch_free(&b);
    return rc;
}
