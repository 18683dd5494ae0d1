/* generate.c: --stage generate. Prompts (--prompt, or each row of --data up to its last user
 * turn) rendered with the chat template; --num-samples completions each, greedy at
 * temperature 0, else nucleus sampling; each stops at the end of its turn, after
 * --max-new-tokens, or at --seq-len. Up to --batch-size sequences are in flight at once,
 * their keys and values kept in the arena's cache: a prompt runs through the decoder once,
 * then each step runs one token per sequence. Every completion draws from its own generator,
 * seeded by --seed and its place in the output, so what it samples does not depend on the
 * batch, on which sequences share a step, or on the cache: --no-kv-cache (the whole sequence
 * run again for each token) gives the same tokens. One JSON line per completion, in order. */
#include "generate.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "common.h"
#include "rng.h"
#include "source.h"

/* Candidates by probability, largest first, ties by token id: the nucleus's order. */
static const float *sort_probs;
static int by_prob(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return sort_probs[x] > sort_probs[y] ? -1 : sort_probs[x] < sort_probs[y] ? 1 : (x > y) - (x < y);
}

/* Next token from logits: greedy at temperature 0, else nucleus sampling (top-p): the
 * smallest set of most likely tokens holding top_p of the probability, then a draw within it.
 * The logits are overwritten. */
static int sample_token(float *logits, int V, double temperature, double top_p, Rng *rng, int *order) {
    int best = 0;
    for (int v = 1; v < V; v++) best = logits[v] > logits[best] ? v : best;
    if (temperature <= 0) return best;
    double mx = logits[best], sum = 0;
    for (int v = 0; v < V; v++) sum += (logits[v] = (float)exp((logits[v] - mx) / temperature));
    if (top_p >= 1) { /* the whole distribution: no nucleus to find, a draw in id order */
        double r = rng_uniform(rng) * sum, acc = 0;
        for (int v = 0; v < V; v++)
            if (r < (acc += logits[v])) return v;
        return best;
    }
    for (int v = 0; v < V; v++) order[v] = v;
    sort_probs = logits;
    qsort(order, (size_t)V, sizeof *order, by_prob);
    int n = 0;
    double mass = 0;
    while (n < V && mass < top_p * sum) mass += logits[order[n++]];
    double r = rng_uniform(rng) * mass, acc = 0;
    for (int i = 0; i < n; i++)
        if (r < (acc += logits[order[i]])) return order[i];
    return order[n - 1];
}

/* One prompt: its conversation up to the last user turn, and what its output line echoes. */
typedef struct {
    ChatMessage *msgs;
    int n;
    char *prompt_id; /* the row's "prompt_id", or NULL */
    cJSON *row;      /* the parsed row the messages point into, or NULL */
} Prompt;

static Prompt *read_prompts(const Options *o, int *n_out) {
    Prompt *ps = NULL;
    int n = 0;
    if (o->prompt) {
        ps = xcalloc(1, sizeof *ps);
        ps[0].msgs = xmalloc(sizeof(ChatMessage));
        ps[0].msgs[0] = (ChatMessage){"user", o->prompt};
        ps[0].n = 1;
        *n_out = 1;
        return ps;
    }
    char *path = o->data ? xstrdup(o->data) : repo_path("data/sample-ultrachat.jsonl");
    FILE *f = fopen(path, "r");
    if (!f) die("%s: cannot open: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (strspn(line, " \t\r\n") == (size_t)len) continue;
        cJSON *j = cJSON_ParseWithLength(line, (size_t)len); /* kept: the messages point into it */
        if (!j) die("%s:%ld: invalid JSON", path, lineno);
        const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(j, "messages");
        if (!msgs) msgs = cJSON_GetObjectItemCaseSensitive(j, "chosen");
        if (!cJSON_IsArray(msgs)) die("%s:%ld: expected \"messages\" or \"chosen\"", path, lineno);
        int m = cJSON_GetArraySize(msgs), k = 0;
        ChatMessage *c = xmalloc(sizeof *c * (size_t)(m ? m : 1));
        for (const cJSON *e = msgs->child; e; e = e->next) {
            const cJSON *r = cJSON_GetObjectItemCaseSensitive(e, "role"), *t = cJSON_GetObjectItemCaseSensitive(e, "content");
            if (!cJSON_IsString(r) || !cJSON_IsString(t)) die("%s:%ld: bad message", path, lineno);
            c[k++] = (ChatMessage){r->valuestring, t->valuestring};
        }
        while (k > 0 && strcmp(c[k - 1].role, "assistant") == 0) k--; /* up to the last user turn */
        if (k == 0) die("%s:%ld: no user message to answer", path, lineno);
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "prompt_id");
        ps = xrealloc(ps, sizeof *ps * (size_t)(n + 1));
        ps[n++] = (Prompt){c, k, cJSON_IsString(id) ? xstrdup(id->valuestring) : NULL, j};
    }
    free(line);
    fclose(f);
    free(path);
    *n_out = n;
    return ps;
}

static void free_prompts(Prompt *ps, int n) {
    for (int i = 0; i < n; i++) free(ps[i].msgs), free(ps[i].prompt_id), cJSON_Delete(ps[i].row);
    free(ps);
}

/* One completion being made: prompt p's sample s, in a slot of the cache. */
typedef struct {
    int job;       /* p * samples + s: its place in the output */
    TokenList ids; /* the prompt's tokens, then the new ones */
    int n_prompt, done;
    Rng rng;
} Completion;

static void start(Completion *c, int job, ChatTemplate *ct, const Prompt *p, int seq_len, uint64_t seed) {
    memset(c, 0, sizeof *c);
    c->job = job;
    chat_render_tokens(ct, p->msgs, p->n, 1, &c->ids, NULL);
    c->n_prompt = c->ids.n;
    if (c->n_prompt >= seq_len) die("prompt %d has %d tokens, more than --seq-len %d allows", job, c->n_prompt, seq_len);
    rng_seed(&c->rng, seed ^ (0x9e3779b97f4a7c15ull * (uint64_t)(job + 1)));
}

/* Append the token drawn from these logits; done at the end of the turn or of the room. */
static void step(Completion *c, float *logits, const Options *o, int V, int stop1, int stop2) {
    static int *order; /* sample_token's room, V ids */
    static int order_v;
    if (order_v < V) order = xrealloc(order, sizeof(int) * (size_t)(order_v = V));
    int next = sample_token(logits, V, o->temperature, o->top_p, &c->rng, order);
    token_list_push(&c->ids, next, 0);
    c->done = next == stop1 || next == stop2 || c->ids.n - c->n_prompt >= o->max_new_tokens || c->ids.n >= o->seq_len;
}

/* The reference loop: one completion at a time, the whole sequence run again per token. */
static void complete_without_cache(Model *m, Completion *c, const Options *o, float *logits, int stop1, int stop2) {
    while (!c->done) {
        Batch *b = &m->batch;
        b->B = 1, b->T = c->ids.n;
        for (int t = 0; t < c->ids.n; t++) b->tokens[t] = c->ids.ids[t], b->pos[t] = t, b->seg[t] = 0, b->targets[t] = -1;
        model_forward(m, 0);
        model_position_logits(m, c->ids.n - 1, logits);
        step(c, logits, o, m->cfg.vocab_size, stop1, stop2);
    }
}

int stage_generate(const Options *o) {
    ModelSource src;
    source_resolve(&src, o, 1);
    Tokenizer *tok = source_tokenizer(o, 1);
    ChatTemplate ct;
    chat_template_init(&ct, tok, o->chat_template, o->model ? o->model : "data/tokenizer");
    int n_prompts;
    Prompt *prompts = read_prompts(o, &n_prompts);
    int samples = o->num_samples, jobs = n_prompts * samples, V = src.cfg.vocab_size;
    int slots = o->no_kv_cache ? 1 : MIN(o->batch_size, jobs);
    RunShape shape = source_shape(o, &src, 0, o->seq_len); /* the weights as stored, the adapter applied */
    shape.kv_seqs = o->no_kv_cache ? 0 : slots;
    shape.batch = 1 + (slots - 1) / o->seq_len; /* rows for a whole prompt, or a token of every slot */
    Model m;
    model_create(&m, &src.cfg, &shape);
    source_load(&src, &m, o);
    int stop1 = ct.format == CHAT_CHATML ? ct.im_end : ct.eot, stop2 = tokenizer_vocab(tok)->eos_id;
    Completion *done = xcalloc((size_t)jobs, sizeof *done), *run = xcalloc((size_t)slots, sizeof *run);
    float *logits = xmalloc(sizeof(float) * (size_t)V);
    int cap = MAX(shape.batch * o->seq_len, slots);
    int *toks = xmalloc(sizeof(int) * (size_t)cap), *seq = xmalloc(sizeof(int) * (size_t)cap),
        *pos = xmalloc(sizeof(int) * (size_t)cap), *emit = xmalloc(sizeof(int) * (size_t)cap), *who = xmalloc(sizeof(int) * (size_t)slots);
    int next_job = 0, active = 0;
    for (int s = 0; s < slots; s++) run[s].done = 1; /* empty */
    while (next_job < jobs || active > 0) {
        if (o->no_kv_cache) {
            start(&run[0], next_job, &ct, &prompts[next_job / samples], o->seq_len, (uint64_t)o->seed);
            complete_without_cache(&m, &run[0], o, logits, stop1, stop2);
            done[next_job++] = run[0];
            continue;
        }
        /* fill the empty slots: the new prompts run through the decoder together, as many as
         * the rows allow per call; each one's last token's logits give its first new token */
        int rows = m.shape.batch * m.shape.seq_len, n = 0, filled = 0;
        for (int s = 0; s <= slots; s++) {
            Completion *c = s < slots && run[s].done && next_job < jobs ? &run[s] : NULL;
            if (c) {
                int job = next_job;
                start(c, job, &ct, &prompts[job / samples], o->seq_len, (uint64_t)o->seed);
            }
            if (filled && (!c || n + c->n_prompt > rows)) { /* run what is gathered */
                model_forward_cached(&m, n, toks, seq, pos, emit);
                for (int i = 0; i < filled; i++) {
                    Completion *d = &run[who[i]];
                    step(d, m.gen_logits + (size_t)i * V, o, V, stop1, stop2);
                    active++;
                    if (d->done) done[d->job] = *d, active--;
                }
                n = filled = 0;
            }
            if (!c) continue;
            next_job++;
            for (int t = 0; t < c->n_prompt; t++, n++)
                toks[n] = c->ids.ids[t], seq[n] = s, pos[n] = t, emit[n] = t == c->n_prompt - 1;
            who[filled++] = s;
        }
        /* one step of every unfinished sequence: its newest token in, the next one drawn */
        n = 0;
        for (int s = 0; s < slots; s++)
            if (!run[s].done) toks[n] = run[s].ids.ids[run[s].ids.n - 1], seq[n] = s, pos[n] = run[s].ids.n - 1, emit[n] = 1, who[n] = s, n++;
        if (n == 0) continue;
        model_forward_cached(&m, n, toks, seq, pos, emit);
        for (int i = 0; i < n; i++) {
            Completion *c = &run[who[i]];
            step(c, m.gen_logits + (size_t)i * V, o, V, stop1, stop2);
            if (c->done) done[c->job] = *c, active--;
        }
    }
    AtomicFile out = {0};
    FILE *f = stdout;
    if (o->out) out = atomic_open(o->out), f = out.f;
    for (int j = 0; j < jobs; j++) {
        const Completion *c = &done[j];
        const Prompt *p = &prompts[j / samples];
        int n_new = c->ids.n - c->n_prompt;
        if (n_new > 0 && (c->ids.ids[c->ids.n - 1] == stop1 || c->ids.ids[c->ids.n - 1] == stop2)) n_new--;
        size_t dl;
        char *text = tokenizer_decode(tok, c->ids.ids + c->n_prompt, n_new, &dl);
        fprintf(f, "{\"row\": %d, ", j / samples);
        if (samples > 1) fprintf(f, "\"sample\": %d, ", j % samples);
        if (p->prompt_id) {
            fputs("\"prompt_id\": ", f);
            json_print_string(f, p->prompt_id);
            fputs(", ", f);
        }
        fputs("\"prompt\": ", f);
        json_print_string(f, p->msgs[p->n - 1].content);
        fputs(", \"completion\": ", f);
        json_print_string_n(f, text, dl);
        fprintf(f, ", \"tokens\": %d}\n", n_new);
        free(text);
    }
    if (o->out) atomic_commit(&out);
    else fflush(stdout);
    for (int j = 0; j < jobs; j++) token_list_free(&done[j].ids);
    free(done), free(run), free(logits), free(toks), free(seq), free(pos), free(emit), free(who);
    model_destroy(&m);
    chat_template_free(&ct);
    tokenizer_free(tok);
    source_free(&src);
    free_prompts(prompts, n_prompts);
    return 0;
}
