/*
 * `recur sample --model CHARS.safetensors`: generate text from a character-level model trained by
 * `recur train chars`. The vocabulary comes from the file's __metadata__ key `recur.chars` (the characters
 * in id order, one UTF-8 string). The prime text is read in one forward pass; then each step samples the
 * next character from softmax(logits / temperature) and feeds it back with the carried h_n (and c_n).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "recur/model.h"
#include "recur/safetensors.h"
#include "tasks.h"

#define VERB "sample"

int cli_sample(int argc, char **argv) {
    const char *model = NULL, *prime = NULL, *backend = NULL, *device = NULL;
    long long length = 200, seed = 42;
    double temperature = 1.0;
    int help = 0;
    arg_spec sp[] = {
        {"model", ARG_STR, &model, NULL, 0, 0, NULL, "CHARS.safetensors", "a model written by recur train chars"},
        {"length", ARG_INT, &length, NULL, 0, 1e9, NULL, "N", "characters to generate (default 200)"},
        {"temperature", ARG_FLOAT, &temperature, NULL, 0, 1e6, NULL, "T",
         "divide the logits by T before sampling (default 1; 0 = always the likeliest)"},
        {"prime", ARG_STR, &prime, NULL, 0, 0, NULL, "TEXT", "text to start from (default: the vocabulary's first character)"},
        {"seed", ARG_INT, &seed, NULL, 0, 9.2e18, NULL, "N", "seed of the sampling (default 42)"},
        {"backend", ARG_STR, &backend, NULL, 0, 0, NULL, "NAME", "ref, cpu, opencl, auto, or a plugin path"},
        {"device", ARG_STR, &device, NULL, 0, 0, NULL, "SEL", "device index or name substring"},
    };
    const size_t ns = sizeof sp / sizeof sp[0];
    const char *pos[1];
    int npos;
    int st = args_parse(VERB, argc, argv, 1, sp, ns, pos, 0, &npos, &help);
    if (st) return st;
    if (help) {
        printf("usage: recur sample --model CHARS.safetensors [--length N] [--temperature T] [--prime TEXT] [--seed N]\n");
        args_print_help(stdout, sp, ns);
        printf("Prints the prime text followed by the generated characters on stdout. The model file must hold the\n"
               "vocabulary under the __metadata__ key 'recur.chars' (recur train chars writes it).\n");
        return 0;
    }
    if (!model) {
        fprintf(stderr, "recur sample: needs --model CHARS.safetensors (see recur sample --help)\n");
        return 2;
    }
    recur_st_file *f = NULL;
    if (recur_st_read(model, &f)) return cli_lib_error(VERB, "reading the model");
    const char *chars = recur_st_meta(f, "recur.chars");
    uint32_t *voc = NULL, *pcp = NULL;
    size_t V = 0, np = 0;
    int rc = 0;
    if (!chars) rc = cli_error(VERB, "%s: not a character model (no 'recur.chars' in its metadata; train one with recur "
                               "train chars --text FILE)", model);
    else if (utf8_decode(model, chars, strlen(chars), &voc, &V)) rc = cli_lib_error(VERB, "recur.chars");
    recur_st_free(f);
    recur_device *d = NULL;
    recur_model *m = NULL;
    if (!rc && recur_device_open_default(backend, device, &d)) rc = cli_lib_error(VERB, "opening the backend");
    if (!rc && recur_model_load(d, model, &m)) rc = cli_lib_error(VERB, "loading the model");
    const recur_model_config *c = rc ? NULL : recur_model_get_config(m);
    if (!rc && (c->vocab != V || c->num_outputs != V || c->head != RECUR_HEAD_PER_STEP))
        rc = cli_error(VERB, "%s: recur.chars has %zu characters but the model has vocabulary %zu, %zu outputs and head "
                       "%s (expected a per-step model over the same characters)", model, V, c->vocab, c->num_outputs,
                       recur_head_name(c->head));
    if (!rc && c->rnn.bidirectional)
        rc = cli_error(VERB, "%s: a bidirectional model reads the whole sequence both ways and cannot generate left to "
                       "right", model);
    /* The prime text as ids. */
    int32_t *ids = NULL;
    if (!rc) {
        const char *pt = prime;
        char first[8];
        if (!pt || !*pt) {
            first[utf8_encode(voc[0], first)] = 0;
            pt = first;
        }
        if (utf8_decode("--prime", pt, strlen(pt), &pcp, &np)) rc = cli_lib_error(VERB, "--prime");
        ids = rc ? NULL : malloc(sizeof(int32_t) * np);
        if (!rc && !ids) rc = cli_error(VERB, "out of memory");
        for (size_t i = 0; !rc && i < np; i++) {
            size_t k = 0;
            while (k < V && voc[k] != pcp[i]) k++;
            if (k == V) {
                char b[16];
                char_display(pcp[i], b, sizeof b);
                rc = cli_error(VERB, "--prime: character '%s' (position %zu) is not in the model's vocabulary", b, i);
            }
            ids[i] = (int32_t)k;
        }
    }
    size_t LD = 0, H = 0, P = 0;
    float *logits = NULL, *hn = NULL, *cn = NULL;
    double *prob = NULL;
    if (!rc) {
        LD = c->rnn.num_layers;
        H = c->rnn.hidden_size;
        P = c->rnn.proj_size ? c->rnn.proj_size : H;
        logits = malloc(sizeof(float) * np * V);
        hn = malloc(sizeof(float) * LD * P);
        cn = malloc(sizeof(float) * LD * H);
        prob = malloc(sizeof(double) * V);
        if (!logits || !hn || !cn || !prob) rc = cli_error(VERB, "out of memory");
    }
    int lstm = !rc && c->rnn.cell == RECUR_CELL_LSTM;
    if (!rc) {
        recur_batch b = {.B = 1, .T = np, .ids = ids};
        if (recur_model_forward(m, &b, 0) || recur_model_read_logits(m, logits) ||
            recur_model_read_state(m, hn, lstm ? cn : NULL))
            rc = cli_lib_error(VERB, "reading the prime text");
    }
    if (!rc) {
        char buf[8];
        for (size_t i = 0; i < np; i++) fwrite(buf, 1, (size_t)utf8_encode(pcp[i], buf), stdout);
        cli_rng rng = cli_rng_new((uint64_t)seed, 7);
        const float *lg = logits + (np - 1) * V;
        double *p = prob;
        for (long long n = 0; n < length && !rc; n++) {
            size_t next = 0;
            if (temperature == 0) {
                for (size_t k = 1; k < V; k++)
                    if (lg[k] > lg[next]) next = k;
            } else {
                double mx = lg[0], sum = 0;
                for (size_t k = 1; k < V; k++) mx = lg[k] > mx ? lg[k] : mx;
                for (size_t k = 0; k < V; k++) sum += p[k] = exp(((double)lg[k] - mx) / temperature);
                double u = cli_rng_uniform(&rng) * sum, acc = 0;
                next = V - 1;
                for (size_t k = 0; k < V; k++) {
                    acc += p[k];
                    if (u < acc) {
                        next = k;
                        break;
                    }
                }
            }
            fwrite(buf, 1, (size_t)utf8_encode(voc[next], buf), stdout);
            int32_t id = (int32_t)next;
            recur_batch b = {.B = 1, .T = 1, .ids = &id, .h0 = hn, .c0 = lstm ? cn : NULL};
            if (recur_model_forward(m, &b, 0) || recur_model_read_logits(m, logits) ||
                recur_model_read_state(m, hn, lstm ? cn : NULL))
                rc = cli_lib_error(VERB, "generating");
            lg = logits;
        }
        fputc('\n', stdout);
    }
    free(ids);
    free(pcp);
    free(voc);
    free(logits);
    free(hn);
    free(cn);
    free(prob);
    recur_model_free(m);
    recur_device_close(d);
    return rc;
}
