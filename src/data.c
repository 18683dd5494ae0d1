/* data.c: tokenized JSONL rows and how they become a batch. */
#include "data.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static int *read_ids(const cJSON *arr, const char *key, int *n, int vocab, int allow_ignore, const char *path,
                     long line) {
    if (!cJSON_IsArray(arr)) die("%s:%ld: \"%s\" must be an array of token ids", path, line, key);
    int count = cJSON_GetArraySize(arr), i = 0;
    int *ids = xmalloc(sizeof(int) * (size_t)(count ? count : 1));
    for (const cJSON *e = arr->child; e; e = e->next, i++) {
        double v = cJSON_IsNumber(e) ? e->valuedouble : NAN;
        if (!(v == floor(v)) || fabs(v) > 2147483647.0)
            die("%s:%ld: %s[%d] is not an integer", path, line, key, i);
        int id = (int)v;
        if (!(allow_ignore && id == LABEL_IGNORE) && (id < 0 || id >= vocab))
            die("%s:%ld: %s[%d] = %d is outside the vocabulary [0, %d)", path, line, key, i, id, vocab);
        ids[i] = id;
    }
    *n = count;
    return ids;
}

void tokenized_rows_load(TokenizedRows *d, const char *path, int vocab) {
    memset(d, 0, sizeof *d);
    FILE *f = fopen(path, "r");
    if (!f) die("%s: cannot open: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    int kind = -1, cap_rows = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        int blank = 1;
        for (ssize_t i = 0; i < len && blank; i++) blank = line[i] == ' ' || line[i] == '\t' || line[i] == '\n' || line[i] == '\r';
        if (blank) continue;
        const char *err_at = NULL;
        cJSON *j = cJSON_ParseWithLengthOpts(line, (size_t)len, &err_at, 0);
        if (!j) die("%s:%ld:%ld: invalid JSON", path, lineno, err_at ? (long)(err_at - line) + 1 : 1L);
        if (!cJSON_IsObject(j)) die("%s:%ld: a row must be a JSON object", path, lineno);
        const cJSON *ids = cJSON_GetObjectItemCaseSensitive(j, "input_ids");
        const cJSON *ch = cJSON_GetObjectItemCaseSensitive(j, "chosen_input_ids");
        int row_kind = ids ? ROWS_SFT : ch ? ROWS_PREF : -1;
        if (row_kind < 0)
            die("%s:%ld: expected \"input_ids\" (SFT) or \"prompt_input_ids\"/\"chosen_input_ids\"/"
                "\"rejected_input_ids\" (preference); chat rows need the tokenizer (a later issue)", path, lineno);
        if (kind >= 0 && row_kind != kind) die("%s:%ld: SFT and preference rows are mixed in one file", path, lineno);
        kind = row_kind;
        if (d->n_rows == cap_rows) {
            cap_rows = cap_rows ? cap_rows * 2 : 64;
            if (kind == ROWS_SFT) d->sft = xrealloc(d->sft, sizeof(SftRow) * (size_t)cap_rows);
            else d->pref = xrealloc(d->pref, sizeof(PrefRow) * (size_t)cap_rows);
        }
        if (kind == ROWS_SFT) {
            SftRow *r = &d->sft[d->n_rows];
            r->ids = read_ids(ids, "input_ids", &r->n, vocab, 0, path, lineno);
            if (r->n == 0) die("%s:%ld: \"input_ids\" is empty", path, lineno);
            const cJSON *lab = cJSON_GetObjectItemCaseSensitive(j, "labels");
            if (lab && !cJSON_IsNull(lab)) {
                int nl;
                r->labels = read_ids(lab, "labels", &nl, vocab, 1, path, lineno);
                if (nl != r->n)
                    die("%s:%ld: \"labels\" has %d entries but \"input_ids\" has %d", path, lineno, nl, r->n);
            } else {
                r->labels = xmalloc(sizeof(int) * (size_t)r->n);
                memcpy(r->labels, r->ids, sizeof(int) * (size_t)r->n);
            }
        } else {
            PrefRow *r = &d->pref[d->n_rows];
            const cJSON *pr = cJSON_GetObjectItemCaseSensitive(j, "prompt_input_ids");
            const cJSON *rj = cJSON_GetObjectItemCaseSensitive(j, "rejected_input_ids");
            if (!pr) die("%s:%ld: missing \"prompt_input_ids\"", path, lineno);
            if (!rj) die("%s:%ld: missing \"rejected_input_ids\"", path, lineno);
            r->prompt = read_ids(pr, "prompt_input_ids", &r->n_prompt, vocab, 0, path, lineno);
            r->chosen = read_ids(ch, "chosen_input_ids", &r->n_chosen, vocab, 0, path, lineno);
            r->rejected = read_ids(rj, "rejected_input_ids", &r->n_rejected, vocab, 0, path, lineno);
            if (r->n_chosen == 0 || r->n_rejected == 0) die("%s:%ld: an empty response cannot be scored", path, lineno);
        }
        d->n_rows++;
        cJSON_Delete(j);
    }
    if (ferror(f)) die("%s: read error: %s", path, strerror(errno));
    free(line);
    fclose(f);
    if (d->n_rows == 0) die("%s: no rows", path);
    d->kind = (RowKind)kind;
}

void tokenized_rows_free(TokenizedRows *d) {
    for (int i = 0; i < d->n_rows; i++) {
        if (d->kind == ROWS_SFT) {
            free(d->sft[i].ids);
            free(d->sft[i].labels);
        } else {
            free(d->pref[i].prompt);
            free(d->pref[i].chosen);
            free(d->pref[i].rejected);
        }
    }
    free(d->sft);
    free(d->pref);
    memset(d, 0, sizeof *d);
}

int rows_seqs_per_row(RowKind kind) { return kind == ROWS_PREF ? 2 : 1; }

int tokenized_row_len(const TokenizedRows *d, int i) {
    if (d->kind == ROWS_SFT) return d->sft[i].n;
    const PrefRow *r = &d->pref[i];
    return r->n_prompt + MAX(r->n_chosen, r->n_rejected);
}

/* Write one sequence (prompt part unscored) into row j of the batch. */
static void put_sequence(Batch *b, int j, const int *a, int na, const int *resp, int nr, const int *labels) {
    int T = b->T, len = na + nr;
    for (int t = 0; t < T; t++) {
        size_t n = (size_t)j * T + t;
        if (t < len) {
            b->tokens[n] = t < na ? a[t] : resp[t - na];
            b->pos[n] = t;
            b->seg[n] = 0;
            /* position t predicts token t+1: the label shift happens here */
            int next_label = -1;
            if (t + 1 < len) {
                if (labels) next_label = labels[t + 1];
                else next_label = t + 1 >= na ? resp[t + 1 - na] : LABEL_IGNORE;
            }
            b->targets[n] = next_label == LABEL_IGNORE ? -1 : next_label;
        } else {
            b->tokens[n] = 0;
            b->pos[n] = 0;
            b->seg[n] = -1;
            b->targets[n] = -1;
        }
    }
}

void batch_fill(Model *m, const TokenizedRows *d, int first, int count) {
    Batch *b = &m->batch;
    int T = 0;
    for (int i = first; i < first + count; i++) T = MAX(T, tokenized_row_len(d, i));
    if (T > m->shape.seq_len) die("internal: row longer than the planned sequence length");
    b->T = T;
    b->B = count * rows_seqs_per_row(d->kind);
    if (b->B > m->shape.batch) die("internal: batch larger than planned");
    for (int i = 0; i < count; i++) {
        if (d->kind == ROWS_SFT) {
            const SftRow *r = &d->sft[first + i];
            put_sequence(b, i, r->ids, r->n, NULL, 0, r->labels);
        } else {
            const PrefRow *r = &d->pref[first + i];
            put_sequence(b, i, r->prompt, r->n_prompt, r->chosen, r->n_chosen, NULL);
            put_sequence(b, count + i, r->prompt, r->n_prompt, r->rejected, r->n_rejected, NULL);
        }
    }
}

void batch_seq_sums(const Batch *b, double *logp_sum, int *n_tokens) {
    for (int j = 0; j < b->B; j++) {
        double s = 0;
        int c = 0;
        for (int t = 0; t < b->T; t++) {
            size_t n = (size_t)j * b->T + t;
            if (b->targets[n] >= 0) s += b->logp[n], c++;
        }
        logp_sum[j] = s;
        n_tokens[j] = c;
    }
}
