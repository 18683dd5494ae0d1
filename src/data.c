/* data.c: JSONL rows to token ids and loss masks; rows to batches. */
#include "data.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "rng.h"

const char *const skip_reasons[SKIP_KINDS] = {
    "malformed lines skipped (--skip-bad-rows)",
    "last message not from the assistant",
    "empty response",
    "identical chosen and rejected responses",
    "chosen[:-1] differs from rejected[:-1]",
    "prompt alone longer than --seq-len",
    "no trained token left",
};

/* A row that cannot be parsed: the reason, for "path:line: reason". */
static char bad_msg[512];
#define BAD(...) (snprintf(bad_msg, sizeof bad_msg, __VA_ARGS__), bad_msg)

static const char *read_ids(const cJSON *arr, const char *key, int **out, int *n, int vocab, int allow_ignore) {
    if (!cJSON_IsArray(arr)) return BAD("\"%s\" must be an array of token ids", key);
    int count = cJSON_GetArraySize(arr), i = 0;
    int *ids = xmalloc(sizeof(int) * (size_t)(count ? count : 1));
    for (const cJSON *e = arr->child; e; e = e->next, i++) {
        double v = cJSON_IsNumber(e) ? e->valuedouble : NAN;
        if (!(v == floor(v)) || fabs(v) > 2147483647.0) {
            free(ids);
            return BAD("%s[%d] is not an integer", key, i);
        }
        int id = (int)v;
        if (!(allow_ignore && id == LABEL_IGNORE) && (id < 0 || id >= vocab)) {
            free(ids);
            return BAD("%s[%d] = %d is outside the vocabulary [0, %d)", key, i, id, vocab);
        }
        ids[i] = id;
    }
    *out = ids;
    *n = count;
    return NULL;
}

/* A message list: [{"role": str, "content": str}, ...]. */
static const char *read_messages(const cJSON *arr, const char *key, ChatMessage **out, int *n) {
    if (!cJSON_IsArray(arr)) return BAD("\"%s\" must be an array of messages", key);
    int count = cJSON_GetArraySize(arr), i = 0;
    ChatMessage *m = xmalloc(sizeof *m * (size_t)(count ? count : 1));
    for (const cJSON *e = arr->child; e; e = e->next, i++) {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(e, "role"), *c = cJSON_GetObjectItemCaseSensitive(e, "content");
        if (!cJSON_IsObject(e) || !cJSON_IsString(r) || !cJSON_IsString(c)) {
            free(m);
            return BAD("%s[%d] must be {\"role\": string, \"content\": string}", key, i);
        }
        if (strcmp(r->valuestring, "system") && strcmp(r->valuestring, "user") && strcmp(r->valuestring, "assistant")) {
            free(m);
            return BAD("%s[%d] has role \"%s\" (system, user or assistant)", key, i, r->valuestring);
        }
        m[i].role = r->valuestring;
        m[i].content = c->valuestring;
    }
    *out = m;
    *n = count;
    return NULL;
}

static int same_messages(const ChatMessage *a, const ChatMessage *b, int n) {
    for (int i = 0; i < n; i++)
        if (strcmp(a[i].role, b[i].role) || strcmp(a[i].content, b[i].content)) return 0;
    return 1;
}

static int only_space(const char *s) {
    for (; *s; s++)
        if (*s != ' ' && *s != '\n' && *s != '\t' && *s != '\r') return 0;
    return 1;
}

static int *copy_ids(const int *src, int n) {
    int *d = xmalloc(sizeof(int) * (size_t)(n ? n : 1));
    memcpy(d, src, sizeof(int) * (size_t)n);
    return d;
}

/* Truncation to seq_len T. SFT keeps the start (as TRL's keep_start). Preference keeps the
 * end of the prompt and the start of the responses: the prompt keeps as much as fits beside
 * the longer response, but never less than half the window when both are long. */
static int truncate_sft(SftRow *r, int T) {
    if (r->n <= T) return 0;
    r->n = T;
    return 1;
}

static int sft_trains_something(const SftRow *r) {
    for (int t = 1; t < r->n; t++) /* position t-1 predicts token t; label 0 is never scored */
        if (r->labels[t] != LABEL_IGNORE) return 1;
    return 0;
}

static int truncate_pref(PrefRow *r, int T) {
    int R = MAX(r->n_chosen, r->n_rejected);
    if (r->n_prompt + R <= T) return 0;
    int keep = MIN(r->n_prompt, MAX(T - R, T / 2));
    if (keep < r->n_prompt) {
        memmove(r->prompt, r->prompt + (r->n_prompt - keep), sizeof(int) * (size_t)keep);
        r->n_prompt = keep;
    }
    r->n_chosen = MIN(r->n_chosen, T - keep);
    r->n_rejected = MIN(r->n_rejected, T - keep);
    return 1;
}

/* Parse one line into the next row. Returns NULL (row added or skipped with a reason in
 * *skip, -1 if none) or an error message. */
static const char *parse_row(TokenizedRows *d, cJSON *j, const DataOptions *o, int *kind, int *skip) {
    *skip = -1;
    if (!cJSON_IsObject(j)) return BAD("a row must be a JSON object");
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(j, "input_ids");
    const cJSON *cids = cJSON_GetObjectItemCaseSensitive(j, "chosen_input_ids");
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(j, "chosen"), *rj = cJSON_GetObjectItemCaseSensitive(j, "rejected");
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(j, "messages");
    int row_kind = ids || msgs ? ROWS_SFT : (cids || ch || rj) ? ROWS_PREF : -1;
    if (ch || rj) row_kind = ROWS_PREF; /* ultrafeedback rows also carry "messages" (= chosen) */
    if (row_kind < 0)
        return BAD("expected \"messages\" (SFT chat), \"chosen\"/\"rejected\" (preference chat), \"input_ids\" or "
                   "\"chosen_input_ids\" (tokenized)");
    if (*kind >= 0 && row_kind != *kind) return BAD("SFT and preference rows are mixed in one file");
    int is_chat = !(ids || cids);
    if (is_chat && !o->chat) return BAD("chat rows need a tokenizer (the model has no tokenizer.json)");

    if (row_kind == ROWS_SFT) {
        SftRow r = {0};
        if (!is_chat) {
            const char *e = read_ids(ids, "input_ids", &r.ids, &r.n, o->vocab_size, 0);
            if (e) return e;
            if (r.n == 0) { free(r.ids); return BAD("\"input_ids\" is empty"); }
            const cJSON *lab = cJSON_GetObjectItemCaseSensitive(j, "labels");
            if (lab && !cJSON_IsNull(lab)) {
                int nl;
                if ((e = read_ids(lab, "labels", &r.labels, &nl, o->vocab_size, 1))) { free(r.ids); return e; }
                if (nl != r.n) {
                    free(r.ids), free(r.labels);
                    return BAD("\"labels\" has %d entries but \"input_ids\" has %d", nl, r.n);
                }
            } else {
                r.labels = copy_ids(r.ids, r.n);
            }
        } else {
            ChatMessage *m;
            int n;
            const char *e = read_messages(msgs, "messages", &m, &n);
            if (e) return e;
            if (n == 0 || strcmp(m[n - 1].role, "assistant") != 0) { free(m); *skip = SKIP_NOT_ASSISTANT_LAST; return NULL; }
            TokenList tl = {0};
            uint8_t *asst;
            chat_render_tokens(o->chat, m, n, 0, &tl, &asst);
            r.n = tl.n;
            r.ids = copy_ids(tl.ids, tl.n);
            r.labels = xmalloc(sizeof(int) * (size_t)(tl.n ? tl.n : 1));
            for (int i = 0; i < tl.n; i++) r.labels[i] = asst[i] ? tl.ids[i] : LABEL_IGNORE;
            for (int i = 0; i < tl.n; i++)
                if (tl.ids[i] >= o->vocab_size) {
                    free(m), free(asst), token_list_free(&tl), free(r.ids), free(r.labels);
                    return BAD("token id %d is outside the model's vocabulary [0, %d): tokenizer and model disagree",
                               tl.ids[i], o->vocab_size);
                }
            free(asst);
            token_list_free(&tl);
            free(m);
        }
        d->stats.truncated += truncate_sft(&r, o->seq_len);
        if (!sft_trains_something(&r)) {
            free(r.ids), free(r.labels);
            *skip = SKIP_NOTHING_TO_TRAIN;
            return NULL;
        }
        d->sft = xrealloc(d->sft, sizeof(SftRow) * (size_t)(d->n_rows + 1));
        d->sft[d->n_rows] = r;
    } else {
        PrefRow r = {0};
        if (!is_chat) {
            const cJSON *pr = cJSON_GetObjectItemCaseSensitive(j, "prompt_input_ids");
            const cJSON *rr = cJSON_GetObjectItemCaseSensitive(j, "rejected_input_ids");
            if (!pr) return BAD("missing \"prompt_input_ids\"");
            if (!cids) return BAD("missing \"chosen_input_ids\"");
            if (!rr) return BAD("missing \"rejected_input_ids\"");
            const char *e;
            if ((e = read_ids(pr, "prompt_input_ids", &r.prompt, &r.n_prompt, o->vocab_size, 0))) return e;
            if ((e = read_ids(cids, "chosen_input_ids", &r.chosen, &r.n_chosen, o->vocab_size, 0))) { free(r.prompt); return e; }
            if ((e = read_ids(rr, "rejected_input_ids", &r.rejected, &r.n_rejected, o->vocab_size, 0))) {
                free(r.prompt), free(r.chosen);
                return e;
            }
            if (r.n_chosen == 0 || r.n_rejected == 0) {
                free(r.prompt), free(r.chosen), free(r.rejected);
                *skip = SKIP_EMPTY_RESPONSE;
                return NULL;
            }
        } else {
            if (!ch) return BAD("missing \"chosen\"");
            if (!rj) return BAD("missing \"rejected\"");
            ChatMessage *c, *x;
            int nc, nx;
            const char *e = read_messages(ch, "chosen", &c, &nc);
            if (e) return e;
            if ((e = read_messages(rj, "rejected", &x, &nx))) { free(c); return e; }
            int reason = -1;
            if (nc == 0 || nx == 0 || strcmp(c[nc - 1].role, "assistant") || strcmp(x[nx - 1].role, "assistant"))
                reason = SKIP_NOT_ASSISTANT_LAST;
            else if (nc != nx || !same_messages(c, x, nc - 1)) reason = SKIP_PROMPTS_DIFFER;
            else if (only_space(c[nc - 1].content) || only_space(x[nx - 1].content)) reason = SKIP_EMPTY_RESPONSE;
            else if (strcmp(c[nc - 1].content, x[nx - 1].content) == 0) reason = SKIP_IDENTICAL_RESPONSES;
            if (reason >= 0) {
                free(c), free(x);
                *skip = reason;
                return NULL;
            }
            TokenList p = {0}, a = {0}, b = {0};
            chat_render_tokens(o->chat, c, nc - 1, 1, &p, NULL);
            chat_render_response(o->chat, c[nc - 1].content, &a);
            chat_render_response(o->chat, x[nx - 1].content, &b);
            r.prompt = copy_ids(p.ids, p.n), r.n_prompt = p.n;
            r.chosen = copy_ids(a.ids, a.n), r.n_chosen = a.n;
            r.rejected = copy_ids(b.ids, b.n), r.n_rejected = b.n;
            token_list_free(&p), token_list_free(&a), token_list_free(&b);
            free(c), free(x);
            for (int i = 0; i < r.n_prompt + r.n_chosen + r.n_rejected; i++) {
                int id = i < r.n_prompt ? r.prompt[i] : i < r.n_prompt + r.n_chosen ? r.chosen[i - r.n_prompt]
                                                                                 : r.rejected[i - r.n_prompt - r.n_chosen];
                if (id >= o->vocab_size) {
                    free(r.prompt), free(r.chosen), free(r.rejected);
                    return BAD("token id %d is outside the model's vocabulary [0, %d): tokenizer and model disagree",
                               id, o->vocab_size);
                }
            }
        }
        if (r.n_prompt >= o->seq_len) {
            free(r.prompt), free(r.chosen), free(r.rejected);
            *skip = SKIP_PROMPT_TOO_LONG;
            return NULL;
        }
        d->stats.truncated += truncate_pref(&r, o->seq_len);
        d->pref = xrealloc(d->pref, sizeof(PrefRow) * (size_t)(d->n_rows + 1));
        d->pref[d->n_rows] = r;
    }
    *kind = row_kind;
    return NULL;
}

void tokenized_rows_load(TokenizedRows *d, const char *path, const DataOptions *o) {
    memset(d, 0, sizeof *d);
    FILE *f = fopen(path, "r");
    if (!f) die("%s: cannot open: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    int kind = -1;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        int blank = 1;
        for (ssize_t i = 0; i < len && blank; i++) blank = line[i] == ' ' || line[i] == '\t' || line[i] == '\n' || line[i] == '\r';
        if (blank) continue;
        d->stats.lines++;
        const char *err_at = NULL, *err = NULL;
        char where[64];
        const char *nul = memchr(line, 0, (size_t)len);
        cJSON *j = nul ? NULL : cJSON_ParseWithLengthOpts(line, (size_t)len, &err_at, 0);
        if (nul) { /* cJSON would stop reading there and might accept what came before */
            snprintf(where, sizeof where, ":%ld", (long)(nul - line) + 1);
            err = "a NUL byte, which JSON text may not hold";
        } else if (!j) {
            snprintf(where, sizeof where, ":%ld", err_at ? (long)(err_at - line) + 1 : 1L);
            err = "invalid JSON";
        } else {
            where[0] = 0;
        }
        int skip = -1;
        if (!err && json_has_nul_escape(line, (size_t)len)) err = "a string holds U+0000 (\\u0000), which rows may not";
        if (!err) err = parse_row(d, j, o, &kind, &skip);
        cJSON_Delete(j);
        if (err) {
            if (!o->skip_bad_rows) die("%s:%ld%s: %s", path, lineno, where, err);
            d->stats.skipped[SKIP_BAD_LINE]++;
            continue;
        }
        if (skip >= 0) {
            d->stats.skipped[skip]++;
            continue;
        }
        d->line = xrealloc(d->line, sizeof(long) * (size_t)(d->n_rows + 1));
        d->line[d->n_rows++] = lineno;
    }
    if (ferror(f)) die("%s: read error: %s", path, strerror(errno));
    free(line);
    fclose(f);
    if (d->n_rows == 0) die("%s: no usable rows (%ld lines)", path, d->stats.lines);
    d->kind = (RowKind)kind;
    d->stats.used = d->n_rows;
}

void data_stats_print(const DataStats *s, const char *path, FILE *f) {
    fprintf(f, "data: %s: %ld rows used of %ld lines", path, s->used, s->lines);
    if (s->truncated) fprintf(f, ", %ld truncated to --seq-len", s->truncated);
    for (int k = 0; k < SKIP_KINDS; k++)
        if (s->skipped[k]) fprintf(f, "; skipped %ld: %s", s->skipped[k], skip_reasons[k]);
    fputc('\n', f);
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
    free(d->line);
    memset(d, 0, sizeof *d);
}

int rows_seqs_per_row(RowKind kind) { return kind == ROWS_PREF ? 2 : 1; }

int tokenized_row_len(const TokenizedRows *d, int i) {
    if (d->kind == ROWS_SFT) return d->sft[i].n;
    const PrefRow *r = &d->pref[i];
    return r->n_prompt + MAX(r->n_chosen, r->n_rejected);
}

/* ---------------------------------------------------------------- batches */

void loader_init(DataLoader *l, const TokenizedRows *rows, int batch_rows, int packing, int shuffle, uint64_t seed) {
    memset(l, 0, sizeof *l);
    if (packing && rows->kind != ROWS_SFT) die("--packing is for SFT rows; preference pairs are padded");
    l->rows = rows;
    l->batch_rows = batch_rows;
    l->packing = packing;
    l->shuffle = shuffle;
    l->seed = seed;
    l->order = xmalloc(sizeof(int) * (size_t)rows->n_rows);
    loader_seek(l, 0, 0);
}

/* The order of an epoch: identity, or a Fisher-Yates shuffle seeded by (seed, epoch). */
static void epoch_order(DataLoader *l) {
    int n = l->rows->n_rows;
    for (int i = 0; i < n; i++) l->order[i] = i;
    if (!l->shuffle) return;
    Rng r;
    rng_seed(&r, l->seed * 0x9e3779b97f4a7c15ull + (uint64_t)l->epoch + 1);
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(rng_next(&r) % (uint64_t)(i + 1));
        int t = l->order[i];
        l->order[i] = l->order[j];
        l->order[j] = t;
    }
}

void loader_seek(DataLoader *l, int epoch, int cursor) {
    l->epoch = epoch;
    l->cursor = cursor;
    epoch_order(l);
}

void loader_free(DataLoader *l) {
    free(l->order);
    free(l->spans);
    memset(l, 0, sizeof *l);
}

int loader_seq_len(const DataLoader *l, int seq_len) {
    if (l->packing) return seq_len;
    int T = 0;
    for (int i = 0; i < l->rows->n_rows; i++) T = MAX(T, tokenized_row_len(l->rows, i));
    return MIN(T, seq_len);
}

static void add_span(DataLoader *l, BatchSpan s) {
    if (l->n_spans == l->cap_spans) {
        l->cap_spans = l->cap_spans ? 2 * l->cap_spans : 64;
        l->spans = xrealloc(l->spans, sizeof(BatchSpan) * (size_t)l->cap_spans);
    }
    l->spans[l->n_spans++] = s;
}

/* Row j of the batch gets tokens a (unscored) + resp (scored), or ids with labels, at
 * offset `start` as segment `seg`: positions restart at 0 and the label shift stays inside
 * the row (its last position predicts nothing). */
static void put_tokens(Batch *b, int j, int start, int seg, const int *a, int na, const int *resp, int nr,
                       const int *labels) {
    int len = na + nr;
    for (int t = 0; t < len; t++) {
        size_t n = (size_t)j * b->T + start + t;
        b->tokens[n] = t < na ? a[t] : resp[t - na];
        b->pos[n] = t;
        b->seg[n] = seg;
        int next = -1;
        if (t + 1 < len) {
            if (labels) next = labels[t + 1] == LABEL_IGNORE ? -1 : labels[t + 1];
            else next = t + 1 >= na ? resp[t + 1 - na] : -1;
        }
        b->targets[n] = next;
    }
}

static void clear_seq(Batch *b, int j) {
    for (int t = 0; t < b->T; t++) {
        size_t n = (size_t)j * b->T + t;
        b->tokens[n] = 0, b->pos[n] = 0, b->seg[n] = -1, b->targets[n] = -1;
    }
}

void loader_share(DataLoader *l, int share, int shares) {
    l->share = share;
    l->shares = shares;
}

int loader_next(DataLoader *l, Model *m) {
    const TokenizedRows *d = l->rows;
    Batch *b = &m->batch;
    l->n_spans = 0;
    l->first = l->cursor;
    if (l->cursor >= d->n_rows) { /* epoch done: the next call starts the next one */
        loader_seek(l, l->epoch + 1, 0);
        return 0;
    }
    int N = l->shares > 0 ? l->shares : 1, r = l->share;
    int used = 0;
    if (l->packing) { /* the global batch's sequences, of which this share keeps [lo, hi) */
        int seqs = l->batch_rows, lo = seqs * r / N, hi = seqs * (r + 1) / N;
        if (hi - lo > m->shape.batch) die("internal: a batch larger than the arena was planned for");
        b->B = hi - lo;
        b->T = m->shape.seq_len;
        for (int j = 0; j < b->B; j++) clear_seq(b, j);
        int j = 0, at = 0, seg = 0;
        while (l->cursor < d->n_rows && j < seqs) {
            int row = l->order[l->cursor];
            const SftRow *sr = &d->sft[row];
            if (at + sr->n > b->T) { /* next sequence */
                j++, at = 0, seg = 0;
                continue;
            }
            if (j >= lo && j < hi) {
                put_tokens(b, j - lo, at, seg, sr->ids, sr->n, NULL, 0, sr->labels);
                add_span(l, (BatchSpan){row, 0, j - lo, at, sr->n});
            }
            seg++;
            at += sr->n;
            l->cursor++, used++;
        }
        return used;
    }
    /* the global batch's rows, of which this share keeps [lo, hi) */
    int count = MIN(l->batch_rows, d->n_rows - l->cursor), lo = count * r / N, hi = count * (r + 1) / N, T = 0;
    for (int i = lo; i < hi; i++) T = MAX(T, tokenized_row_len(d, l->order[l->cursor + i]));
    if (T > m->shape.seq_len || (hi - lo) * rows_seqs_per_row(d->kind) > m->shape.batch)
        die("internal: a batch larger than the arena was planned for");
    b->T = T;
    b->B = (hi - lo) * rows_seqs_per_row(d->kind);
    for (int j = 0; j < b->B; j++) clear_seq(b, j);
    for (int k = lo; k < hi; k++) {
        int row = l->order[l->cursor + k], i = k - lo;
        if (d->kind == ROWS_SFT) {
            const SftRow *sr = &d->sft[row];
            put_tokens(b, i, 0, 0, sr->ids, sr->n, NULL, 0, sr->labels);
            add_span(l, (BatchSpan){row, 0, i, 0, sr->n});
        } else {
            const PrefRow *pr = &d->pref[row];
            /* a pair's two sequences side by side, so the pair is one run of positions */
            put_tokens(b, 2 * i, 0, 0, pr->prompt, pr->n_prompt, pr->chosen, pr->n_chosen, NULL);
            put_tokens(b, 2 * i + 1, 0, 0, pr->prompt, pr->n_prompt, pr->rejected, pr->n_rejected, NULL);
            add_span(l, (BatchSpan){row, 0, 2 * i, 0, pr->n_prompt + pr->n_chosen});
            add_span(l, (BatchSpan){row, 1, 2 * i + 1, 0, pr->n_prompt + pr->n_rejected});
        }
    }
    l->cursor += count;
    return count;
}

double span_logp_sum(const Batch *b, const BatchSpan *sp, int *n_tokens) {
    double sum = 0;
    int c = 0;
    for (int t = sp->start; t < sp->start + sp->len; t++) {
        size_t n = (size_t)sp->seq * b->T + t;
        if (b->targets[n] >= 0) sum += b->logp[n], c++;
    }
    *n_tokens = c;
    return sum;
}

void batch_span_sums(const DataLoader *l, const Batch *b, double *logp_sum, int *n_tokens) {
    for (int s = 0; s < l->n_spans; s++) logp_sum[s] = span_logp_sum(b, &l->spans[s], &n_tokens[s]);
}

int batch_pair_bounds(const DataLoader *l, const Batch *b, int *bounds) {
    int pairs = l->n_spans / 2;
    for (int p = 0; p < pairs; p++) {
        const BatchSpan *c = &l->spans[2 * p], *r = &l->spans[2 * p + 1];
        if (c->part != 0 || r->part != 1 || c->seq != 2 * p || r->seq != 2 * p + 1)
            die("internal: preference pairs not laid out as (chosen, rejected) sequences in order");
        bounds[p] = c->seq * b->T;
    }
    bounds[pairs] = 2 * pairs * b->T;
    return pairs;
}
