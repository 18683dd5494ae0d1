/* train.c: the program. Parses flags, picks the model and data, plans the arena, and runs
 * one stage. Every stage's whole loop is visible here. */
#include <errno.h>
#include <limits.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "common.h"
#include "config.h"
#include "data.h"
#include "model.h"
#include "model_io.h"
#include "safetensors.h"
#include "chat.h"
#include "tokenizer.h"
#include <strings.h>

/* Files that ship with the program are found next to the binary, wherever it is run from. */
static char *repo_file(const char *rel) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return xstrdup(rel);
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0;
    return path_join(exe, rel);
}

/* Where the model comes from: a model directory or GGUF file, or a config to initialise
 * from the seed (the default model, or a --config file's model_config). */
typedef struct {
    ModelFiles files;   /* files.path == NULL: no weights, initialise from --seed */
    ModelConfig cfg;
    char *config_name;
} ModelSource;

static void resolve_model(ModelSource *src, const Options *o) {
    memset(src, 0, sizeof *src);
    if (o->model) {
        if (o->model_config) { /* a run config that names an architecture must match the model */
            ModelConfig rc, mc;
            config_from_json(&rc, o->model_config, o->config_path);
            char *cj = path_join(o->model, "config.json");
            if (path_is_dir(o->model)) {
                config_load_file(&mc, cj);
                config_check_same(&mc, cj, &rc, o->config_path);
            }
            free(cj);
            model_files_open(&src->files, o->model);
            config_check_same(&src->files.cfg, src->files.config_name, &rc, o->config_path);
        } else {
            model_files_open(&src->files, o->model);
        }
        src->cfg = src->files.cfg;
        src->config_name = xstrdup(src->files.config_name);
        return;
    }
    if (o->model_config) {
        src->config_name = xsprintf("%s (model_config)", o->config_path);
        config_from_json(&src->cfg, o->model_config, src->config_name);
        return;
    }
    src->config_name = repo_file("configs/default-model.json");
    config_load_file(&src->cfg, src->config_name);
}

/* Fill the arena's parameters from the files, or initialise them from the seed. */
static void load_weights(ModelSource *src, Model *m, const Options *o) {
    if (src->files.path) model_files_load(&src->files, m);
    else model_init_random(m, (uint64_t)o->seed);
}

static RunShape stage_shape(const Options *o, int pref, int seq_len) {
    RunShape s = {0};
    s.batch = o->batch_size * (pref ? 2 : 1);
    s.seq_len = seq_len;
    s.threads = o->threads;
    if (strcmp(o->stage, "sft") == 0 || strcmp(o->stage, "pref") == 0) {
        s.train = 1;
        s.adam = 1;
        if (pref) s.ref = strcmp(o->ref_dtype, "bf16") == 0 ? REF_BF16 : REF_FP32;
    }
    return s;
}

static void print_plan(const Options *o, const ModelSource *src, const RunShape *s) {
    ArenaPlan plan = model_plan(&src->cfg, s);
    const ModelConfig *c = &src->cfg;
    printf("model: %s, %s: %d layers, hidden %d, heads %d (kv %d, head_dim %d), ffn %d, vocab %d, %s embeddings\n",
           src->config_name, config_arch_name(c->arch), c->n_layers, c->dim, c->n_heads, c->n_kv_heads, c->head_dim,
           c->ffn_dim, c->vocab_size, c->tie_embeddings ? "tied" : "untied");
    printf("parameters: %lld\n", config_param_count(c));
    printf("stage %s: %d sequences x %d tokens per forward, %d threads%s%s\n", o->stage, s->batch, s->seq_len,
           s->threads, s->ref == REF_NONE ? "" : ", reference weights in ", s->ref == REF_BF16 ? "bf16" :
           s->ref == REF_FP32 ? "fp32" : "");
    arena_plan_print(&plan, stdout);
}

static void report_memory(const Options *o, const ArenaPlan *plan, size_t baseline) {
    if (!o->report_memory) return;
    size_t peak = rss_peak_bytes();
    double over = (double)peak - (double)baseline - (double)plan->total;
    fprintf(stderr,
            "memory: arena plan %zu bytes (%s), baseline before the arena %zu bytes (%s), peak RSS %zu bytes (%s); "
            "peak - baseline - plan = %+.0f bytes (%+.2f%% of the plan)\n",
            plan->total, fmt_bytes((double)plan->total), baseline, fmt_bytes((double)baseline), peak,
            fmt_bytes((double)peak), over, 100.0 * over / (double)(plan->total ? plan->total : 1));
}

/* ---------------------------------------------------------------- tokenizer and data */

/* The tokenizer of --model (a directory's tokenizer.json or a .gguf's keys), else the
 * default model's in data/tokenizer. NULL when the model has none (tokenized rows only). */
static Tokenizer *model_tokenizer(const Options *o, int required) {
    if (o->model) {
        size_t n = strlen(o->model);
        int gguf = n > 5 && strcmp(o->model + n - 5, ".gguf") == 0;
        char *tj = path_join(o->model, "tokenizer.json");
        int have = gguf || path_is_file(tj);
        free(tj);
        if (!have) {
            if (required) die("%s: no tokenizer.json in this model directory (chat rows need the model's tokenizer)",
                              o->model);
            return NULL;
        }
        return tokenizer_load(o->model);
    }
    char *dir = repo_file("data/tokenizer");
    Tokenizer *t = tokenizer_load(dir);
    free(dir);
    return t;
}

/* Rows from --data (default: the sample for the stage), tokenized with the chat template
 * when they are chat rows. */
/* Whether a JSONL file holds chat rows (which need the tokenizer), judged by its first row;
 * a malformed first row is left for the loader to report. */
static int file_has_chat_rows(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int chat = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        cJSON *j = cJSON_ParseWithLength(line, (size_t)len);
        if (!j && strspn(line, " \t\r\n") == (size_t)len) continue;
        chat = j && !cJSON_GetObjectItemCaseSensitive(j, "input_ids") &&
               !cJSON_GetObjectItemCaseSensitive(j, "chosen_input_ids");
        cJSON_Delete(j);
        break;
    }
    free(line);
    fclose(f);
    return chat;
}

static void load_rows(const Options *o, int vocab_size, const char *default_data, TokenizedRows *rows,
                      Tokenizer **tok_out, ChatTemplate *ct, char **path_out) {
    char *path = o->data ? xstrdup(o->data) : repo_file(default_data);
    Tokenizer *tok = file_has_chat_rows(path) ? model_tokenizer(o, 1) : NULL;
    if (tok) {
        const Vocab *v = tokenizer_vocab(tok);
        if (v->n_tokens > vocab_size && !o->model) die("the default tokenizer does not fit the default model");
        chat_template_init(ct, tok, o->chat_template, o->model ? o->model : "data/tokenizer");
    }
    DataOptions dopt = {.vocab_size = vocab_size, .seq_len = o->seq_len, .skip_bad_rows = o->skip_bad_rows,
                        .chat = tok ? ct : NULL};
    tokenized_rows_load(rows, path, &dopt);
    data_stats_print(&rows->stats, path, stderr);
    *tok_out = tok;
    *path_out = path;
}

/* ---------------------------------------------------------------- --stage eval */

static int stage_eval(const Options *o) {
    ModelSource src;
    resolve_model(&src, o);
    if (o->dry_run) { /* plan for the longest rows allowed, without reading anything else */
        RunShape s = stage_shape(o, 0, o->seq_len);
        print_plan(o, &src, &s);
        return 0;
    }
    TokenizedRows rows;
    Tokenizer *tok;
    ChatTemplate ct;
    char *data_path;
    load_rows(o, src.cfg.vocab_size, "data/sample-ultrachat.jsonl", &rows, &tok, &ct, &data_path);
    int pref = rows.kind == ROWS_PREF;
    DataLoader loader;
    loader_init(&loader, &rows, o->batch_size, o->packing, 0, 0);
    RunShape shape = stage_shape(o, pref, loader_seq_len(&loader, o->seq_len));
#pragma omp parallel
    { /* start the thread pool first: its stacks belong to the baseline, not the arena */ }
    size_t baseline = rss_now_bytes();
    Model m;
    model_create(&m, &src.cfg, &shape);
    load_weights(&src, &m, o);

    /* per row and part (SFT or chosen, rejected): summed log-probs and scored tokens */
    double *logp = xcalloc((size_t)rows.n_rows * 2, sizeof(double));
    int *ntok = xcalloc((size_t)rows.n_rows * 2, sizeof(int));
    double *sums = xmalloc(sizeof(double) * (size_t)shape.batch * 64);
    int *counts = xmalloc(sizeof(int) * (size_t)shape.batch * 64);
    double t0 = now_seconds();
    long seen_tokens = 0;
    while (loader_next(&loader, &m) > 0) {
        model_forward(&m, 0);
        if (loader.n_spans > shape.batch * 64) die("internal: too many rows in one packed batch");
        batch_span_sums(&loader, &m.batch, sums, counts);
        for (int s = 0; s < loader.n_spans; s++) {
            logp[2 * loader.spans[s].row + loader.spans[s].part] = sums[s];
            ntok[2 * loader.spans[s].row + loader.spans[s].part] = counts[s];
        }
        seen_tokens += (long)m.batch.B * m.batch.T;
    }
    double dt = now_seconds() - t0;

    AtomicFile out = {0};
    FILE *f = stdout;
    if (o->out) {
        out = atomic_open(o->out);
        f = out.f;
    }
    double total_logp = 0;
    long total_tokens = 0, n_correct = 0;
    for (int i = 0; i < rows.n_rows; i++) {
        double a = logp[2 * i], b = logp[2 * i + 1];
        if (!pref) {
            fprintf(f, "{\"row\": %d, \"logp\": %.9g, \"tokens\": %d}\n", i, a, ntok[2 * i]);
        } else {
            fprintf(f, "{\"row\": %d, \"chosen_logp\": %.9g, \"rejected_logp\": %.9g, \"chosen_tokens\": %d, "
                       "\"rejected_tokens\": %d}\n", i, a, b, ntok[2 * i], ntok[2 * i + 1]);
            n_correct += a > b;
        }
        total_logp += a + b;
        total_tokens += ntok[2 * i] + ntok[2 * i + 1];
    }
    if (o->out) atomic_commit(&out);
    else fflush(stdout);
    fprintf(stderr, "eval: %d rows, %ld scored tokens, mean loss (NLL per scored token) %.6f", rows.n_rows,
            total_tokens, total_tokens ? -total_logp / (double)total_tokens : 0.0);
    if (pref) fprintf(stderr, ", chosen_logp > rejected_logp in %.4f of pairs", (double)n_correct / rows.n_rows);
    fprintf(stderr, ", %.0f tokens/s\n", (double)seen_tokens / (dt > 0 ? dt : 1e-9));
    report_memory(o, &m.arena.plan, baseline);
    model_destroy(&m);
    loader_free(&loader);
    tokenized_rows_free(&rows);
    if (tok) chat_template_free(&ct), tokenizer_free(tok);
    free(logp), free(ntok), free(sums), free(counts), free(data_path);
    return 0;
}

/* ---------------------------------------------------------------- --stage convert */

static int stage_convert(const Options *o) {
    if (!o->out && !o->export_gguf) die("--stage convert needs --out DIR and/or --export-gguf FILE");
    StDtype st_dtype = ST_F32;
    uint32_t gguf_type = GGML_F32;
    int q8 = strcasecmp(o->save_dtype, "q8_0") == 0;
    if (q8) gguf_type = GGML_Q8_0;
    else if (!st_parse_dtype(o->save_dtype, &st_dtype))
        die("--save-dtype must be f32, bf16, f16 (or q8_0 with --export-gguf), got \"%s\"", o->save_dtype);
    else gguf_type = st_dtype == ST_F32 ? GGML_F32 : st_dtype == ST_F16 ? GGML_F16 : GGML_BF16;
    if (q8 && o->out) die("--save-dtype q8_0 is for --export-gguf only; safetensors take f32, bf16 or f16");
    uint64_t shard = parse_size(o->max_shard_size, "max-shard-size");
    ModelSource src;
    resolve_model(&src, o);
    RunShape shape = {.batch = 1, .seq_len = 2, .threads = o->threads};
    if (o->dry_run) {
        print_plan(o, &src, &shape);
        return 0;
    }
    Model m;
    model_create(&m, &src.cfg, &shape);
    load_weights(&src, &m, o);
    if (o->out) {
        model_save_hf(&m, o->out, st_dtype, shard);
        model_save_tokenizer_hf(src.files.path ? &src.files : NULL, &m.cfg, o->out);
        fprintf(stderr, "convert: wrote %s (%s, %lld parameters)\n", o->out, st_dtype_name(st_dtype),
                config_param_count(&m.cfg));
    }
    if (o->export_gguf) {
        model_export_gguf(&m, o->export_gguf, gguf_type, src.files.path ? &src.files : NULL);
        fprintf(stderr, "convert: wrote %s (%s)\n", o->export_gguf, ggml_type_info(gguf_type)->name);
    }
    model_destroy(&m);
    return 0;
}

/* ---------------------------------------------------------------- --stage tokenize */

static void print_ids_pieces(FILE *f, const Tokenizer *t, const int *ids, int n) {
    fputs("\"ids\": [", f);
    for (int i = 0; i < n; i++) fprintf(f, i ? ", %d" : "%d", ids[i]);
    fputs("], \"pieces\": [", f);
    for (int i = 0; i < n; i++) {
        if (i) fputs(", ", f);
        const char *p = tokenizer_piece(t, ids[i]);
        json_print_string(f, p ? p : "");
    }
    fputc(']', f);
}

static void print_tokens(FILE *f, const Tokenizer *t, const TokenList *l, int with_decoded) {
    fputc('{', f);
    print_ids_pieces(f, t, l->ids, l->n);
    if (with_decoded) {
        size_t dl;
        char *d = tokenizer_decode(t, l->ids, l->n, &dl);
        fputs(", \"decoded\": ", f);
        json_print_string_n(f, d, dl);
        free(d);
    }
    fputs("}\n", f);
}

/* --stage tokenize --data: each row as the model will see it: ids, pieces, loss mask. */
static void tokenize_rows(const Options *o) {
    /* only the tokenizer is needed; the model's config, when there is one, bounds the ids */
    int vocab = 1 << 30;
    char *cfg_path = o->model ? path_join(o->model, "config.json") : NULL;
    size_t ml = o->model ? strlen(o->model) : 0;
    if ((cfg_path && path_is_file(cfg_path)) || (ml > 5 && strcmp(o->model + ml - 5, ".gguf") == 0) || !o->model) {
        ModelSource src;
        resolve_model(&src, o);
        vocab = src.cfg.vocab_size;
    }
    free(cfg_path);
    TokenizedRows rows;
    Tokenizer *tok;
    ChatTemplate ct;
    char *path;
    load_rows(o, vocab, "data/sample-ultrachat.jsonl", &rows, &tok, &ct, &path);
    if (!tok) die("--stage tokenize needs a tokenizer");
    for (int i = 0; i < rows.n_rows; i++) {
        printf("{\"row\": %d, \"line\": %ld, ", i, rows.line[i]);
        if (rows.kind == ROWS_SFT) {
            const SftRow *r = &rows.sft[i];
            print_ids_pieces(stdout, tok, r->ids, r->n);
            fputs(", \"mask\": [", stdout);
            for (int t = 0; t < r->n; t++) printf(t ? ", %d" : "%d", r->labels[t] != LABEL_IGNORE);
            fputs("]}\n", stdout);
            continue;
        }
        const PrefRow *r = &rows.pref[i];
        for (int part = 0; part < 2; part++) {
            const int *resp = part ? r->rejected : r->chosen;
            int nr = part ? r->n_rejected : r->n_chosen, n = r->n_prompt + nr;
            int *ids = xmalloc(sizeof(int) * (size_t)(n ? n : 1));
            memcpy(ids, r->prompt, sizeof(int) * (size_t)r->n_prompt);
            memcpy(ids + r->n_prompt, resp, sizeof(int) * (size_t)nr);
            printf("\"%s\": {", part ? "rejected" : "chosen");
            print_ids_pieces(stdout, tok, ids, n);
            fputs(", \"mask\": [", stdout);
            for (int t = 0; t < n; t++) printf(t ? ", %d" : "%d", t >= r->n_prompt);
            fputs(part ? "]}}\n" : "]}, ", stdout);
            free(ids);
        }
    }
    tokenized_rows_free(&rows);
    chat_template_free(&ct);
    tokenizer_free(tok);
    free(path);
}

static int stage_tokenize(const Options *o) {
    if (!o->text && !o->text_file && !o->data) die("--stage tokenize needs --text STR, --text-file FILE or --data FILE");
    if (!o->text && !o->text_file) {
        tokenize_rows(o);
        return 0;
    }
    double t0 = now_seconds();
    Tokenizer *tok = model_tokenizer(o, 1);
    double t_load = now_seconds() - t0;
    if (o->text) {
        TokenList l = {0};
        tokenizer_encode(tok, o->text, strlen(o->text), 1, &l);
        print_tokens(stdout, tok, &l, 0);
        token_list_free(&l);
    }
    if (o->text_file) {
        FILE *f = fopen(o->text_file, "r");
        if (!f) die("%s: cannot open: %s", o->text_file, strerror(errno));
        char *line = NULL;
        size_t cap = 0, bytes = 0;
        ssize_t len;
        long lineno = 0;
        double t_encode = 0;
        while ((len = getline(&line, &cap, f)) >= 0) {
            lineno++;
            size_t n;
            char *text = json_decode_string(line, (size_t)len, &n);
            if (!text) die("%s:%ld: expected a JSON string", o->text_file, lineno);
            TokenList l = {0};
            double ts = now_seconds();
            tokenizer_encode(tok, text, n, 1, &l);
            t_encode += now_seconds() - ts;
            bytes += n;
            print_tokens(stdout, tok, &l, 1);
            token_list_free(&l);
            free(text);
        }
        free(line);
        fclose(f);
        fprintf(stderr, "tokenize: %ld strings, %zu bytes encoded in %.3f s (%.2f MB/s); tokenizer loaded in %.3f s\n",
                lineno, bytes, t_encode, (double)bytes / 1e6 / (t_encode > 0 ? t_encode : 1e-9), t_load);
    }
    tokenizer_free(tok);
    if (o->data) tokenize_rows(o);
    return 0;
}

/* ---------------------------------------------------------------- training stages (planned) */

static int stage_planned(const Options *o) {
    if (!o->dry_run)
        die("--stage %s is not implemented yet; today it can only print its memory plan with --dry-run", o->stage);
    ModelSource src;
    resolve_model(&src, o);
    RunShape s = stage_shape(o, strcmp(o->stage, "pref") == 0, o->seq_len);
    print_plan(o, &src, &s);
    return 0;
}

int main(int argc, char **argv) {
    Options o;
    options_parse(&o, argc, argv);
    if (strcmp(o.stage, "eval") == 0) return stage_eval(&o);
    if (strcmp(o.stage, "convert") == 0) return stage_convert(&o);
    if (strcmp(o.stage, "tokenize") == 0) return stage_tokenize(&o);
    if (strcmp(o.stage, "sft") == 0 || strcmp(o.stage, "pref") == 0) return stage_planned(&o);
    die("unknown --stage \"%s\" (eval, convert; sft and pref with --dry-run)", o.stage);
}
