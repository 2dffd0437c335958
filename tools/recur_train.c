/*
 * `recur train TASK [flags]`: build a model for one of the seed tasks (or a character-level language
 * model over a text file), train it and save a checkpoint.
 * `recur train --data D.safetensors --model M.safetensors --save OUT.safetensors`: train a given model
 * file on user data.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "recur/safetensors.h"
#include "tasks.h"
#include "tensors.h"
#include "trainer.h"

#define VERB "train"
/* A flag combination that cannot work: one line, exit status 2 like other usage errors. */
#define USAGE(...) (cli_error(VERB, __VA_ARGS__), 2)

typedef struct train_flags {
    const char *cell, *attention, *optimizer, *backend, *device, *save, *plot, *text, *data, *model, *loss;
    long long hidden, layers, embed, epochs, batch, seed, seq_len, n_train, n_val, n_test, lr_step, max_value;
    double lr, momentum, weight_decay, clip_norm, clip_value, dropout, lr_gamma, val_fraction;
    int bidirectional, json, trace, no_shuffle, notebook_data, nesterov, resume;
    /* which were given */
    int s_cell, s_attention, s_optimizer, s_hidden, s_layers, s_embed, s_epochs, s_batch, s_lr, s_weight_decay,
        s_dropout, s_bidir, s_text, s_seq_len, s_sizes, s_loss, s_val_fraction, s_notebook, s_max_value;
} train_flags;

#define F(field) &fl->field
static size_t make_specs(train_flags *fl, arg_spec *sp) {
    const double BIG = 1e18;
    arg_spec all[] = {
        {"cell", ARG_CHOICE, F(cell), F(s_cell), 0, 0, "rnn_tanh|rnn_relu|lstm|gru|gru_original", NULL, "recurrent cell"},
        {"hidden", ARG_INT, F(hidden), F(s_hidden), 1, 1 << 20, NULL, "N", "hidden size H"},
        {"layers", ARG_INT, F(layers), F(s_layers), 1, 16, NULL, "N", "stacked recurrent layers L"},
        {"embed", ARG_INT, F(embed), F(s_embed), 1, 1 << 20, NULL, "N", "embedding width E (token tasks)"},
        {"bidirectional", ARG_FLAG, F(bidirectional), F(s_bidir), 0, 0, NULL, NULL, "read the sequence both ways (D = 2)"},
        {"no-bidirectional", ARG_NOFLAG, F(bidirectional), F(s_bidir), 0, 0, NULL, NULL, "forward direction only"},
        {"attention", ARG_CHOICE, F(attention), F(s_attention), 0, 0, "additive|dot|none", NULL,
         "head over the RNN outputs (none: last hidden state)"},
        {"epochs", ARG_INT, F(epochs), F(s_epochs), 1, 1e9, NULL, "N", "training epochs"},
        {"batch", ARG_INT, F(batch), F(s_batch), 1, 1e9, NULL, "N", "mini-batch size"},
        {"lr", ARG_FLOAT, F(lr), F(s_lr), 0, BIG, NULL, "X", "learning rate"},
        {"optimizer", ARG_CHOICE, F(optimizer), F(s_optimizer), 0, 0, "sgd|adam|adamw", NULL, "optimizer"},
        {"momentum", ARG_FLOAT, F(momentum), NULL, 0, 1e3, NULL, "X", "SGD momentum (default 0)"},
        {"nesterov", ARG_FLAG, F(nesterov), NULL, 0, 0, NULL, NULL, "SGD Nesterov momentum"},
        {"weight-decay", ARG_FLOAT, F(weight_decay), F(s_weight_decay), 0, 1e3, NULL, "X",
         "L2 penalty (adamw: decoupled; default 0, adamw 0.01)"},
        {"clip-norm", ARG_FLOAT, F(clip_norm), NULL, 0, BIG, NULL, "X", "clip the total gradient norm to X (0: off)"},
        {"clip-value", ARG_FLOAT, F(clip_value), NULL, 0, BIG, NULL, "X", "clip every gradient to [-X, X] (0: off)"},
        {"lr-step", ARG_INT, F(lr_step), NULL, 0, 1e9, NULL, "N", "StepLR: multiply lr by --lr-gamma every N epochs"},
        {"lr-gamma", ARG_FLOAT, F(lr_gamma), NULL, 0, 1e3, NULL, "X", "StepLR factor (default 0.1)"},
        {"dropout", ARG_FLOAT, F(dropout), F(s_dropout), 0, 0.999, NULL, "P", "dropout between stacked layers"},
        {"seed", ARG_INT, F(seed), NULL, 0, 9.2e18, NULL, "N", "seed of the data, initialisation, shuffling (default 42)"},
        {"no-shuffle", ARG_FLAG, F(no_shuffle), NULL, 0, 0, NULL, NULL, "keep the training set's order"},
        {"backend", ARG_STR, F(backend), NULL, 0, 0, NULL, "NAME", "ref, cpu, opencl, auto, or a plugin path"},
        {"device", ARG_STR, F(device), NULL, 0, 0, NULL, "SEL", "device index or name substring"},
        {"save", ARG_STR, F(save), NULL, 0, 0, NULL, "PATH", "checkpoint path (default TASK.safetensors), written each epoch"},
        {"json", ARG_FLAG, F(json), NULL, 0, 0, NULL, NULL, "one JSON object per epoch and a final one on stdout"},
        {"trace", ARG_FLAG, F(trace), NULL, 0, 0, NULL, NULL, "print the shapes flowing through the model once"},
        {"plot", ARG_STR, F(plot), NULL, 0, 0, NULL, "DIR", "write SVG plots: loss, attention, LSTM gates"},
        {"text", ARG_STR, F(text), F(s_text), 0, 0, NULL, "FILE", "chars: the UTF-8 text to model"},
        {"seq-len", ARG_INT, F(seq_len), F(s_seq_len), 1, 1e6, NULL, "N", "steps per sample (chars, magic, parity, sine, bilstm)"},
        {"train-size", ARG_INT, F(n_train), F(s_sizes), 1, 1e8, NULL, "N", "training samples (chars: at most N)"},
        {"val-size", ARG_INT, F(n_val), F(s_sizes), 0, 1e8, NULL, "N", "validation samples (not chars: it keeps the last ~10% of the text)"},
        {"test-size", ARG_INT, F(n_test), F(s_sizes), 0, 1e8, NULL, "N", "test samples (not chars: the ~10% before the validation text)"},
        {"notebook-data", ARG_FLAG, F(notebook_data), F(s_notebook), 0, 0, NULL, NULL,
         "magic: seeds/001's exact generator (caps accuracy near 0.69)"},
        {"max-value", ARG_INT, F(max_value), F(s_max_value), 1, 1000, NULL, "N",
         "parity: numbers 0..N (default 1; the seed's 0..6 is not learnable at this size)"},
        {"data", ARG_STR, F(data), NULL, 0, 0, NULL, "D.safetensors", "user data: input, target, optional lengths"},
        {"model", ARG_STR, F(model), NULL, 0, 0, NULL, "M.safetensors", "with --data: the model file to train"},
        {"loss", ARG_CHOICE, F(loss), F(s_loss), 0, 0, "cross_entropy|bce_with_logits|mse", NULL,
         "with --data (default: cross_entropy for integer targets, mse for float)"},
        {"val-fraction", ARG_FLOAT, F(val_fraction), F(s_val_fraction), 0, 0.9, NULL, "X",
         "with --data: the last X of the samples validate (default 0.1)"},
        {"resume", ARG_FLAG, F(resume), NULL, 0, 0, NULL, NULL, "with --data: restore the optimizer state from --model"},
    };
    memcpy(sp, all, sizeof all);
    return sizeof all / sizeof all[0];
}
#undef F

static void usage(FILE *f, const arg_spec *sp, size_t n) {
    size_t nt;
    const task_def *t = task_list(&nt);
    fprintf(f, "usage: recur train TASK [flags]\n"
               "       recur train --data D.safetensors --model M.safetensors --save OUT.safetensors [flags]\n"
               "Tasks (recur train TASK --help for the data and defaults):\n");
    for (size_t i = 0; i < nt; i++) fprintf(f, "  %-10s %s\n", t[i].name, t[i].summary);
    fprintf(f, "Flags (defaults are the task's, from its seed notebook):\n");
    args_print_help(f, sp, n);
    fprintf(f, "With --data, D holds 'input' (token ids (N, T) int32/int64 when the model embeds tokens, else\n"
               "float32 features (N, T, I)), 'target' (class ids (N) or (N, T) for cross-entropy; float32 (N, C) or\n"
               "(N, T, C) for bce_with_logits and mse) and optionally 'lengths' (N). The last --val-fraction of the\n"
               "samples are the validation set. Each epoch prints the training loss, validation metrics (accuracy\n"
               "and macro-F1, MSE, or perplexity) and its time; --json prints JSON lines on stdout instead (and\n"
               "the human-readable lines on stderr). With --data the defaults are --epochs 10 --batch 32\n"
               "--optimizer adam --lr 0.001 (sgd: 0.01). Exit status: 0; 1 on a runtime error (one line on\n"
               "stderr); 2 on a usage error.\n");
}

static void task_usage(FILE *f, const task_def *t) {
    fprintf(f, "recur train %s: %s\n\n%s\n\nDefaults: --cell %s --hidden %lld --layers %lld", t->name, t->summary, t->help,
            t->cell, t->hidden, t->layers);
    if (t->embed) fprintf(f, " --embed %lld", t->embed);
    fprintf(f, "%s --attention %s --epochs %lld --batch %lld --lr %g --optimizer %s --loss %s --seed 42\n",
            t->bidirectional ? " --bidirectional" : "", t->attention, t->epochs, t->batch, t->lr, t->optimizer,
            recur_loss_name(t->loss));
}

static int head_of(const char *attention) {
    if (!strcmp(attention, "additive")) return RECUR_HEAD_ADDITIVE_ATTENTION;
    if (!strcmp(attention, "dot")) return RECUR_HEAD_DOT_ATTENTION;
    return RECUR_HEAD_LAST;
}

static int make_optim(recur_model *m, const train_flags *fl, const char *kind_name, double lr, recur_optim **o) {
    recur_optim_config oc;
    recur_optim_defaults(recur_optim_from_name(kind_name), &oc);
    oc.lr = (float)lr;
    oc.momentum = (float)fl->momentum;
    oc.nesterov = fl->nesterov;
    if (fl->s_weight_decay) oc.weight_decay = (float)fl->weight_decay;
    oc.clip_norm = (float)fl->clip_norm;
    oc.clip_value = (float)fl->clip_value;
    oc.lr_step_size = (int)fl->lr_step;
    oc.lr_gamma = (float)fl->lr_gamma;
    if (recur_optim_create(recur_model_params(m), &oc, o)) return cli_lib_error(VERB, "creating the optimizer");
    return 0;
}

/* ---- seed tasks ---------------------------------------------------------------------------------------- */
static int train_task(const task_def *t, train_flags *fl) {
    if (fl->s_text && strcmp(t->name, "chars")) return USAGE("--text is for the chars task (this is %s)", t->name);
    if (fl->s_notebook && strcmp(t->name, "magic")) return USAGE("--notebook-data is for the magic task");
    if (fl->s_max_value && strcmp(t->name, "parity")) return USAGE("--max-value is for the parity task");
    if (fl->s_loss || fl->s_val_fraction || fl->resume || fl->model)
        return USAGE("--loss, --val-fraction, --resume and --model go with --data, not with a task");
    if (fl->s_seq_len && !strcmp(t->name, "sentiment"))
        return USAGE("the sentiment task has fixed 5-word sentences; --seq-len does not apply");
    const char *attention = fl->s_attention ? fl->attention : t->attention;
    if (t->per_step && fl->s_attention && strcmp(attention, "none"))
        return USAGE("the %s task predicts every step; --attention %s needs a per-sequence task", t->name,
                         attention);
    if (!t->embed && fl->s_embed) return USAGE("the %s task reads raw numbers; --embed does not apply", t->name);

    if (!strcmp(t->name, "chars") && !fl->text) {
        fprintf(stderr, "recur train: the chars task needs --text FILE (a UTF-8 text to model)\n");
        return 2;
    }
    task_params tp = {.seed = (uint64_t)fl->seed, .n_train = fl->n_train, .n_val = fl->n_val, .n_test = fl->n_test,
                      .seq_len = fl->seq_len, .text_path = fl->text, .notebook_data = fl->notebook_data,
                      .max_value = fl->s_max_value ? fl->max_value : 1};
    task_data td = {0};
    if (t->make(&tp, &td)) {
        task_data_free(&td);
        return cli_lib_error(VERB, t->name);
    }

    recur_device *d = NULL;
    if (recur_device_open_default(fl->backend, fl->device, &d)) {
        task_data_free(&td);
        return cli_lib_error(VERB, "opening the backend");
    }
    recur_model_config mc = {0};
    mc.vocab = td.vocab;
    mc.embed_dim = td.vocab ? (size_t)(fl->s_embed ? fl->embed : t->embed) : 0;
    mc.padding_idx = td.padding_idx;
    mc.rnn.cell = recur_cell_from_name(fl->s_cell ? fl->cell : t->cell);
    mc.rnn.input_size = td.vocab ? mc.embed_dim : td.train.I;
    mc.rnn.hidden_size = (size_t)(fl->s_hidden ? fl->hidden : t->hidden);
    mc.rnn.num_layers = (size_t)(fl->s_layers ? fl->layers : t->layers);
    mc.rnn.bidirectional = fl->s_bidir ? fl->bidirectional : t->bidirectional;
    mc.rnn.bias = 1;
    mc.rnn.dropout = (float)(fl->s_dropout ? fl->dropout : t->dropout);
    mc.head = t->per_step ? RECUR_HEAD_PER_STEP : head_of(attention);
    mc.num_outputs = td.num_outputs;
    if (mc.rnn.dropout > 0 && mc.rnn.num_layers < 2)
        fprintf(stderr, "recur train: note: --dropout acts between stacked layers; with one layer it does nothing\n");
    recur_model *m = NULL;
    recur_optim *o = NULL;
    int rc = 0;
    if (recur_model_create(d, &mc, &m) || recur_model_init(m, (uint64_t)fl->seed)) rc = cli_lib_error(VERB, "creating the model");
    if (!rc) {
        recur_model_set_dropout_seed(m, (uint64_t)fl->seed ^ 0xd50u);
        rc = make_optim(m, fl, fl->s_optimizer ? fl->optimizer : t->optimizer, fl->s_lr ? fl->lr : t->lr, &o);
    }
    if (!rc) {
        char save_default[64];
        snprintf(save_default, sizeof save_default, "%s.safetensors", t->name);
        recur_meta_entry meta[2] = {{"recur.task", t->name}, {"recur.chars", td.chars}};
        train_setup s = {
            .verb = VERB, .name = t->name, .train = &td.train, .val = &td.val, .test = &td.test, .eval = t->eval,
            .num_classes = td.num_classes, .class_names = td.class_names, .token_names = td.token_names,
            .epochs = fl->s_epochs ? fl->epochs : t->epochs, .batch = fl->s_batch ? fl->batch : t->batch,
            .shuffle = !fl->no_shuffle, .seed = (uint64_t)fl->seed, .json = fl->json, .trace = fl->trace,
            .plot_dir = fl->plot, .save_path = fl->save ? fl->save : save_default, .meta = meta,
            .nmeta = td.chars ? 2 : 1, .out = fl->json ? stderr : stdout};
        s.loss = (recur_loss_config){.kind = t->loss, .reduction = RECUR_REDUCE_MEAN, .ignore_index = -100};
        const recur_device_info *info = recur_device_get_info(d);
        char over[64];
        if (td.vocab) snprintf(over, sizeof over, "over embeddings of %zu tokens", td.vocab);
        else snprintf(over, sizeof over, "over raw values");
        fprintf(s.out, "task %s: %zu/%zu/%zu train/val/test samples of %zu steps; %s%s %s, hidden %zu, %zu layer(s), "
                       "head %s; %s lr %g, batch %lld, %lld epochs; backend %s (%s)\n",
                t->name, td.train.N, td.val.N, td.test.N, td.train.T, mc.rnn.bidirectional ? "bidirectional " : "",
                recur_cell_name(mc.rnn.cell), over, mc.rnn.hidden_size,
                mc.rnn.num_layers, recur_head_name(mc.head), recur_optim_name(recur_optim_get_config(o)->kind),
                (double)recur_optim_lr(o), s.batch, s.epochs, recur_backend_name(recur_device_backend(d)), info->name);
        rc = trainer_run(m, o, &s);
    }
    recur_optim_free(o);
    recur_model_free(m);
    recur_device_close(d);
    task_data_free(&td);
    return rc;
}

/* ---- user data ----------------------------------------------------------------------------------------- */
static int expect_dims(const char *file, const recur_st_tensor *t, int ndim, const int64_t *shape, const char *what) {
    int ok = t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = shape[i] < 0 || t->shape[i] == shape[i];
    if (ok) return 0;
    char got[96];
    shape_str(t, got, sizeof got);
    return recur_set_error(RECUR_E_FORMAT, "%s: tensor '%s' has shape %s; expected %s", file, t->name, got, what);
}

static int load_user_data(const char *file, const recur_model_config *mc, int loss, cli_data *all) {
    recur_st_file *f = NULL;
    if (recur_st_read(file, &f)) return 1;
    int st = 0;
    const recur_st_tensor *in = recur_st_find(f, "input"), *tg = recur_st_find(f, "target"),
                          *len = recur_st_find(f, "lengths");
    int per_step = mc->head == RECUR_HEAD_PER_STEP;
    size_t C = mc->num_outputs;
    char what[160];
    if (!in || !tg) st = recur_set_error(RECUR_E_FORMAT, "%s: no tensor '%s' (a data file holds 'input', 'target' and "
                                         "optionally 'lengths')", file, in ? "target" : "input");
    size_t N = 0, T = 0, I = mc->vocab ? 0 : mc->rnn.input_size;
    if (!st) {
        if (mc->vocab) {
            if (!dtype_is_int(in->dtype) || in->ndim != 2) {
                char got[96];
                shape_str(in, got, sizeof got);
                st = recur_set_error(RECUR_E_FORMAT, "%s: tensor 'input' is %s %s; this model embeds token ids: expected "
                                     "int32 or int64 (N, T)", file, recur_dtype_name(in->dtype), got);
            }
        } else {
            snprintf(what, sizeof what, "(N, T, %zu) float32 features (the model's input size)", I);
            if (!dtype_is_float(in->dtype))
                st = recur_set_error(RECUR_E_FORMAT, "%s: tensor 'input' is %s; this model reads %s", file,
                                     recur_dtype_name(in->dtype), what);
            else st = expect_dims(file, in, 3, (int64_t[]){-1, -1, (int64_t)I}, what);
        }
    }
    if (!st) {
        N = (size_t)in->shape[0];
        T = (size_t)in->shape[1];
        if (!N || !T) st = recur_set_error(RECUR_E_FORMAT, "%s: tensor 'input' is empty", file);
    }
    int float_t = loss != RECUR_LOSS_CROSS_ENTROPY;
    if (!st) {
        if (!float_t) {
            snprintf(what, sizeof what, per_step ? "(%zu, %zu) class ids" : "(%zu) class ids", N, T);
            if (!dtype_is_int(tg->dtype))
                st = recur_set_error(RECUR_E_FORMAT, "%s: tensor 'target' is %s; cross_entropy needs integer class ids %s",
                                     file, recur_dtype_name(tg->dtype), per_step ? "(N, T)" : "(N)");
            else st = expect_dims(file, tg, per_step ? 2 : 1, (int64_t[]){(int64_t)N, (int64_t)T}, what);
        } else {
            if (!dtype_is_float(tg->dtype))
                st = recur_set_error(RECUR_E_FORMAT, "%s: tensor 'target' is %s; %s needs float32 targets", file,
                                     recur_dtype_name(tg->dtype), recur_loss_name(loss));
            /* (N, C) / (N, T, C); with C = 1 also (N) / (N, T) */
            int nd = per_step ? 3 : 2;
            int64_t shp[3] = {(int64_t)N, per_step ? (int64_t)T : (int64_t)C, (int64_t)C};
            snprintf(what, sizeof what, per_step ? "(%zu, %zu, %zu)" : "(%zu, %zu)", N, per_step ? T : C, C);
            if (!st && !(C == 1 && tg->ndim == nd - 1)) st = expect_dims(file, tg, nd, shp, what);
            else if (!st) st = expect_dims(file, tg, nd - 1, shp, what);
        }
    }
    if (!st && len) {
        snprintf(what, sizeof what, "(%zu) lengths", N);
        st = expect_dims(file, len, 1, (int64_t[]){(int64_t)N}, what);
    }
    if (!st) st = data_alloc(all, N, T, I, len != NULL, per_step, float_t, C);
    if (!st) {
        int32_t *ip = NULL;
        float *fp = NULL;
        if (I) {
            st = tensor_to_f32(file, in, &fp);
            if (!st) memcpy(all->x, fp, sizeof(float) * N * T * I);
        } else {
            st = tensor_to_i32(file, in, &ip);
            if (!st) memcpy(all->ids, ip, sizeof(int32_t) * N * T);
        }
        free(ip);
        free(fp);
        ip = NULL;
        fp = NULL;
        if (!st && float_t) {
            st = tensor_to_f32(file, tg, &fp);
            if (!st) memcpy(all->yf, fp, sizeof(float) * N * data_target_stride(all));
        } else if (!st) {
            st = tensor_to_i32(file, tg, &ip);
            if (!st) memcpy(all->y, ip, sizeof(int32_t) * N * data_target_stride(all));
        }
        free(ip);
        free(fp);
        ip = NULL;
        if (!st && len) {
            st = tensor_to_i32(file, len, &ip);
            for (size_t i = 0; !st && i < N; i++) {
                if (ip[i] < 1 || (size_t)ip[i] > T)
                    st = recur_set_error(RECUR_E_FORMAT, "%s: lengths[%zu] = %d is outside [1, %zu]", file, i, ip[i], T);
                else all->lengths[i] = ip[i];
            }
            free(ip);
        }
    }
    /* Check ids and classes here so the message names the file (the library would say "sample 3 of a batch"). */
    for (size_t i = 0; !st && !I && i < N * T; i++)
        if (all->ids[i] < 0 || (size_t)all->ids[i] >= mc->vocab)
            st = recur_set_error(RECUR_E_FORMAT, "%s: input[%zu, %zu] = %d is outside the model's vocabulary [0, %zu)", file,
                                 i / T, i % T, all->ids[i], mc->vocab);
    for (size_t i = 0; !st && !float_t && i < N * data_target_stride(all); i++)
        if (all->y[i] != -100 && (all->y[i] < 0 || (size_t)all->y[i] >= C))
            st = recur_set_error(RECUR_E_FORMAT, "%s: target value %d (element %zu) is not a class of this model [0, %zu) "
                                 "or -100 (ignored)", file, all->y[i], i, C);
    recur_st_free(f);
    if (st) data_free(all);
    return st;
}

static int train_data(train_flags *fl) {
    if (!fl->model) return USAGE("--data needs --model M.safetensors (the model to train)");
    if (!fl->save) return USAGE("--data needs --save OUT.safetensors");
    if (fl->s_cell || fl->s_hidden || fl->s_layers || fl->s_embed || fl->s_bidir || fl->s_attention || fl->s_text ||
        fl->s_seq_len || fl->s_sizes || fl->s_notebook || fl->s_max_value)
        return USAGE("with --data the model file fixes the architecture; --cell, --hidden, --layers, --embed, "
                               "--bidirectional, --attention and the task flags do not apply");
    recur_device *d = NULL;
    if (recur_device_open_default(fl->backend, fl->device, &d)) return cli_lib_error(VERB, "opening the backend");
    recur_model *m = NULL;
    recur_optim *o = NULL;
    cli_data all = {0}, tr = {0}, va = {0}, te = {0};
    recur_st_file *mf = NULL;
    size_t *idx = NULL;
    int rc = 0;
    if (recur_model_load(d, fl->model, &m)) rc = cli_lib_error(VERB, "loading the model");
    if (!rc && recur_st_read(fl->model, &mf)) rc = cli_lib_error(VERB, "loading the model");
    const recur_model_config *mc = rc ? NULL : recur_model_get_config(m);
    int loss = RECUR_LOSS_CROSS_ENTROPY;
    if (!rc) {
        if (fl->s_loss) loss = recur_loss_from_name(fl->loss);
        else {
            recur_st_file *df = NULL;
            if (recur_st_read(fl->data, &df)) rc = cli_lib_error(VERB, "reading the data");
            const recur_st_tensor *tg = df ? recur_st_find(df, "target") : NULL;
            if (tg && dtype_is_float(tg->dtype)) loss = RECUR_LOSS_MSE;
            recur_st_free(df);
        }
    }
    if (!rc && load_user_data(fl->data, mc, loss, &all)) rc = cli_lib_error(VERB, "reading the data");
    if (!rc) {
        double frac = fl->s_val_fraction ? fl->val_fraction : 0.1;
        size_t nv = (size_t)((double)all.N * frac + 0.5);
        if (nv >= all.N) nv = all.N - 1;
        idx = malloc(sizeof(size_t) * all.N);
        if (!idx) rc = cli_error(VERB, "out of memory");
        for (size_t i = 0; !rc && i < all.N; i++) idx[i] = i;
        if (!rc && (data_subset(&all, idx, all.N - nv, &tr) || data_subset(&all, idx + all.N - nv, nv, &va) ||
                    data_subset(&all, idx, 0, &te)))
            rc = cli_lib_error(VERB, "splitting the data");
    }
    const char *opt = fl->s_optimizer ? fl->optimizer : "adam";
    if (!rc) rc = make_optim(m, fl, opt, fl->s_lr ? fl->lr : (recur_optim_from_name(opt) == RECUR_OPTIM_SGD ? 0.01 : 1e-3), &o);
    if (!rc && fl->resume) {
        if (recur_optim_load(o, fl->model)) rc = cli_lib_error(VERB, "--resume");
    }
    if (!rc) {
        recur_model_set_dropout_seed(m, (uint64_t)fl->seed ^ 0xd50u);
        int per_step = mc->head == RECUR_HEAD_PER_STEP;
        int eval = loss == RECUR_LOSS_MSE ? EVAL_REGRESSION
                   : loss == RECUR_LOSS_BCE_WITH_LOGITS ? EVAL_BINARY
                   : per_step ? EVAL_LM : EVAL_CLASSES;
        /* Keep the application metadata of the model file (a chars model's vocabulary). */
        recur_meta_entry meta[2];
        size_t nmeta = 0;
        const char *keys[2] = {"recur.task", "recur.chars"};
        for (int k = 0; k < 2; k++) {
            const char *v = recur_st_meta(mf, keys[k]);
            if (v) meta[nmeta++] = (recur_meta_entry){keys[k], v};
        }
        train_setup s = {.verb = VERB, .name = "data", .train = &tr, .val = &va, .test = &te, .eval = eval,
                         .num_classes = eval == EVAL_CLASSES ? mc->num_outputs : 2, .epochs = fl->s_epochs ? fl->epochs : 10,
                         .batch = fl->s_batch ? fl->batch : 32, .shuffle = !fl->no_shuffle, .seed = (uint64_t)fl->seed,
                         .json = fl->json, .trace = fl->trace, .plot_dir = fl->plot, .save_path = fl->save, .meta = meta,
                         .nmeta = nmeta, .out = fl->json ? stderr : stdout};
        s.loss = (recur_loss_config){.kind = loss, .reduction = RECUR_REDUCE_MEAN, .ignore_index = -100};
        fprintf(s.out, "data %s: %zu training and %zu validation samples of %zu steps; model %s (%s, hidden %zu, %zu "
                       "layer(s), head %s, %zu outputs); loss %s; %s lr %g\n",
                fl->data, tr.N, va.N, tr.T, fl->model, recur_cell_name(mc->rnn.cell), mc->rnn.hidden_size,
                mc->rnn.num_layers, recur_head_name(mc->head), mc->num_outputs, recur_loss_name(loss),
                recur_optim_name(recur_optim_get_config(o)->kind), (double)recur_optim_lr(o));
        rc = trainer_run(m, o, &s);
    }
    free(idx);
    data_free(&all);
    data_free(&tr);
    data_free(&va);
    data_free(&te);
    recur_st_free(mf);
    recur_optim_free(o);
    recur_model_free(m);
    recur_device_close(d);
    return rc;
}

int cli_train(int argc, char **argv) {
    train_flags fl = {.seed = 42, .n_train = -1, .n_val = -1, .n_test = -1, .seq_len = -1, .lr_gamma = 0.1};
    arg_spec sp[64];
    size_t ns = make_specs(&fl, sp);
    const char *pos[2];
    int npos = 0, help = 0;
    int st = args_parse(VERB, argc, argv, 1, sp, ns, pos, 2, &npos, &help);
    if (st) return st;
    if (npos > 1) {
        fprintf(stderr, "recur train: one task at a time ('%s' and '%s')\n", pos[0], pos[1]);
        return 2;
    }
    const task_def *t = npos ? task_find(pos[0]) : NULL;
    if (npos && !t) {
        size_t nt;
        const task_def *all = task_list(&nt);
        fprintf(stderr, "recur train: unknown task '%s' (tasks:", pos[0]);
        for (size_t i = 0; i < nt; i++) fprintf(stderr, " %s", all[i].name);
        fprintf(stderr, ")\n");
        return 2;
    }
    if (help) {
        if (t) task_usage(stdout, t);
        else usage(stdout, sp, ns);
        return 0;
    }
    if (t && fl.data) {
        fprintf(stderr, "recur train: give a task or --data, not both\n");
        return 2;
    }
    if (!t && !fl.data) {
        fprintf(stderr, "recur train: name a task (magic, parity, sine, sentiment, bilstm, chars) or give --data D "
                        "--model M --save OUT (see recur train --help)\n");
        return 2;
    }
    return t ? train_task(t, &fl) : train_data(&fl);
}
