/* train.c: the program. Parses flags, picks the model and data, plans the arena, and runs
 * one stage. Every stage's whole loop is visible here. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapter.h"
#include "args.h"
#include "common.h"
#include "gemm.h"
#include "generate.h"
#include "config.h"
#include "data.h"
#include "dist.h"
#include "model.h"
#include "model_io.h"
#include "safetensors.h"
#include "chat.h"
#include "checkpoint.h"
#include "loss.h"
#include "optim.h"
#include "pref_grad.h"
#include "rng.h"
#include "source.h"
#include "tokenizer.h"
#include <strings.h>

static void print_plan(const Options *o, const ModelSource *src, const RunShape *s) {
    ArenaPlan plan = model_plan(&src->cfg, s);
    const ModelConfig *c = &src->cfg;
    static const char *const ref_names[] = {"", ", reference weights in fp32", ", reference weights in bf16",
                                            ", reference: the base with the adapter off",
                                            ", reference: the base with a frozen copy of the starting adapter"};
    printf("model: %s, %s: %d layers, hidden %d, heads %d (kv %d, head_dim %d), ffn %d, vocab %d, %s embeddings\n",
           src->config_name, config_arch_name(c->arch), c->n_layers, c->dim, c->n_heads, c->n_kv_heads, c->head_dim,
           c->ffn_dim, c->vocab_size, c->tie_embeddings ? "tied" : "untied");
    printf("parameters: %lld\n", config_param_count(c));
    if (s->lora.r > 0) {
        ParamInfo info[P_KINDS];
        size_t n = param_layout(c, &s->lora, 1, info);
        char targets[64];
        lora_targets_string(s->lora.targets, targets, sizeof targets);
        printf("LoRA: r %d, alpha %g (scale %g%s), dropout %g, targets %s: %zu trainable parameters (%.2f%% of the "
               "model)\n", s->lora.r, s->lora.alpha, lora_scale(&s->lora), s->lora.rslora ? ", rsLoRA" : "",
               s->lora.dropout, targets, n, 100.0 * (double)n / (double)config_param_count(c));
    }
    printf("stage %s: %d sequences x %d tokens per forward, %d threads%s%s%s\n", o->stage, s->batch, s->seq_len,
           s->threads, ref_names[s->ref], s->base_types ? ", the base frozen as the plan's types say" : "",
           s->recompute ? ", activations recomputed in the backward" : "");
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
    char *path = o->data ? xstrdup(o->data) : repo_path(default_data);
    Tokenizer *tok = file_has_chat_rows(path) ? source_tokenizer(o, 1) : NULL;
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
    source_resolve(&src, o, !o->dry_run);
    if (o->dry_run) { /* plan for the longest rows allowed, without reading anything else */
        RunShape s = source_shape(o, &src, 0, o->seq_len);
        print_plan(o, &src, &s);
        source_free(&src);
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
    RunShape shape = source_shape(o, &src, pref, loader_seq_len(&loader, o->seq_len));
    ModelFiles ref_files = {0};
    if (o->ref_model) { /* rewards and the preference loss need the reference */
        if (!pref) die("--ref-model is for preference rows (rewards)");
        model_files_open(&ref_files, o->ref_model);
        config_check_same(&ref_files.cfg, ref_files.config_name, &src.cfg, src.config_name);
        shape.ref = strcmp(o->ref_dtype, "bf16") == 0 ? REF_BF16 : REF_FP32;
    }
#pragma omp parallel
    { /* start the thread pool first: its stacks belong to the baseline, not the arena */ }
    sgemm_reserve();
    size_t baseline = rss_now_bytes();
    Model m;
    model_create(&m, &src.cfg, &shape);
    if (o->ref_model) { /* a copy of the reference's weights, fp32 or bf16 */
        model_files_load_ref(&ref_files, &m);
        model_files_close(&ref_files);
    }
    source_load(&src, &m, o);
    PrefLoss ploss = {LOSS_DPO, o->beta, o->label_smoothing};
    pref_loss_parse(o->loss, &ploss.kind);
    double *ref_logp = o->ref_model ? xcalloc((size_t)rows.n_rows * 2, sizeof(double)) : NULL;

    /* per row and part (SFT or chosen, rejected): summed log-probs and scored tokens */
    double *logp = xcalloc((size_t)rows.n_rows * 2, sizeof(double));
    int *ntok = xcalloc((size_t)rows.n_rows * 2, sizeof(int));
    double *sums = xmalloc(sizeof(double) * (size_t)shape.batch * 64);
    int *counts = xmalloc(sizeof(int) * (size_t)shape.batch * 64);
    double t0 = now_seconds();
    long seen_tokens = 0;
    while (loader_next(&loader, &m) > 0) {
        if (loader.n_spans > shape.batch * 64) die("internal: too many rows in one packed batch");
        if (ref_logp) {
            model_forward_ref(&m);
            memcpy(m.batch.logp, m.batch.ref_logp, sizeof(float) * (size_t)m.batch.B * m.batch.T);
            batch_span_sums(&loader, &m.batch, sums, counts);
            for (int s = 0; s < loader.n_spans; s++) ref_logp[2 * loader.spans[s].row + loader.spans[s].part] = sums[s];
        }
        model_forward(&m, 0);
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
    double total_logp = 0, total_pref_loss = 0;
    long total_tokens = 0, n_correct = 0;
    for (int i = 0; i < rows.n_rows; i++) {
        double a = logp[2 * i], b = logp[2 * i + 1];
        if (!pref) {
            fprintf(f, "{\"row\": %d, \"logp\": %.9g, \"tokens\": %d}\n", i, a, ntok[2 * i]);
        } else if (!ref_logp) {
            fprintf(f, "{\"row\": %d, \"chosen_logp\": %.9g, \"rejected_logp\": %.9g, \"chosen_tokens\": %d, "
                       "\"rejected_tokens\": %d}\n", i, a, b, ntok[2 * i], ntok[2 * i + 1]);
            n_correct += a > b;
        } else { /* rewards beta * (logp - ref logp), and the row's preference loss */
            double ra = ref_logp[2 * i], rb = ref_logp[2 * i + 1];
            PairLoss pl = pref_pair_loss(&ploss, a, b, ra, rb, ntok[2 * i], ntok[2 * i + 1]);
            double wc = o->beta * (a - ra), wr = o->beta * (b - rb);
            fprintf(f, "{\"row\": %d, \"chosen_logp\": %.9g, \"rejected_logp\": %.9g, \"chosen_tokens\": %d, "
                       "\"rejected_tokens\": %d, \"ref_chosen_logp\": %.9g, \"ref_rejected_logp\": %.9g, "
                       "\"chosen_reward\": %.9g, \"rejected_reward\": %.9g, \"loss\": %.9g}\n",
                    i, a, b, ntok[2 * i], ntok[2 * i + 1], ra, rb, wc, wr, pl.loss);
            n_correct += wc > wr;
            total_pref_loss += pl.loss;
        }
        total_logp += a + b;
        total_tokens += ntok[2 * i] + ntok[2 * i + 1];
    }
    if (o->out) atomic_commit(&out);
    else fflush(stdout);
    fprintf(stderr, "eval: %d rows, %ld scored tokens, mean loss (NLL per scored token) %.6f", rows.n_rows,
            total_tokens, total_tokens ? -total_logp / (double)total_tokens : 0.0);
    if (pref && !ref_logp) fprintf(stderr, ", chosen_logp > rejected_logp in %.4f of pairs", (double)n_correct / rows.n_rows);
    if (ref_logp)
        fprintf(stderr, ", %s loss (beta %g) %.6f, rewards/accuracies %.4f", pref_loss_name(ploss.kind), o->beta,
                total_pref_loss / rows.n_rows, (double)n_correct / rows.n_rows);
    fprintf(stderr, ", %.0f tokens/s\n", (double)seen_tokens / (dt > 0 ? dt : 1e-9));
    report_memory(o, &m.arena.plan, baseline);
    model_destroy(&m);
    loader_free(&loader);
    tokenized_rows_free(&rows);
    if (tok) chat_template_free(&ct), tokenizer_free(tok);
    free(logp), free(ntok), free(sums), free(counts), free(data_path), free(ref_logp);
    source_free(&src);
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
    source_resolve(&src, o, !o->dry_run);
    if (o->merge && !src.adapter) die("--merge needs --adapter DIR (the adapter to merge into --model)");
    /* the base stays in its stored type and is written a few rows at a time */
    RunShape shape = source_shape(o, &src, 0, 2);
    shape.batch = 1;
    if (o->dry_run) {
        print_plan(o, &src, &shape);
        source_free(&src);
        return 0;
    }
    Model m;
    model_create(&m, &src.cfg, &shape);
    source_load(&src, &m, o);
    const ModelFiles *tok_src = src.files.path ? &src.files : NULL;
    if (src.adapter && !o->merge) { /* the adapter itself, in another format or dtype */
        if (o->out) {
            adapter_save(o->out, &m, src.base_model, st_dtype);
            fprintf(stderr, "convert: wrote the adapter %s (PEFT, %s)\n", o->out, st_dtype_name(st_dtype));
        }
        if (o->export_gguf) {
            adapter_export_gguf(&m, o->export_gguf);
            fprintf(stderr, "convert: wrote %s (a llama.cpp LoRA GGUF: llama-cli -m BASE.gguf --lora %s)\n",
                    o->export_gguf, o->export_gguf);
        }
        model_destroy(&m);
        source_free(&src);
        return 0;
    }
    if (o->out) {
        model_save_hf(&m, o->out, st_dtype, shard, o->merge);
        model_save_tokenizer_hf(tok_src, &m.cfg, o->out);
        fprintf(stderr, "convert: wrote %s (%s, %lld parameters%s)\n", o->out, st_dtype_name(st_dtype),
                config_param_count(&m.cfg), o->merge ? ", the adapter merged" : "");
    }
    if (o->export_gguf) {
        model_export_gguf(&m, o->export_gguf, gguf_type, tok_src, o->merge);
        fprintf(stderr, "convert: wrote %s (%s%s)\n", o->export_gguf, ggml_type_info(gguf_type)->name,
                o->merge ? ", the adapter merged" : "");
    }
    model_destroy(&m);
    source_free(&src);
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
        source_resolve(&src, o, 0);
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
    Tokenizer *tok = source_tokenizer(o, 1);
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

/* ---------------------------------------------------------------- --stage sft / pref */

/* One optimizer step's numbers, summed over its micro-batches. */
typedef struct {
    double loss, tokens;                   /* tokens: trained tokens (SFT) */
    int pairs, correct, u_above_1, clamped;
    double reward_c, reward_r, logp_c, logp_r, u_sum, u_min, u_max;
    long seen;                             /* real (non-padding) tokens forwarded */
} StepStats;

/* Data parallel: the step's numbers summed over the ranks' shares (u's extremes and the stop
 * request taken as maxima), so every rank logs and decides the same. Returns whether any rank
 * was asked to stop. */
static int step_stats_reduce(StepStats *ss, int stop) {
    if (dist_size() == 1) return stop;
    double sum[12] = {ss->loss, ss->tokens, ss->pairs, ss->correct, ss->u_above_1, ss->clamped, ss->reward_c,
                      ss->reward_r, ss->logp_c, ss->logp_r, ss->u_sum, (double)ss->seen};
    double max[3] = {ss->u_max, -ss->u_min, stop};
    dist_sum_doubles(sum, 12);
    dist_max_doubles(max, 3);
    ss->loss = sum[0], ss->tokens = sum[1], ss->pairs = (int)sum[2], ss->correct = (int)sum[3];
    ss->u_above_1 = (int)sum[4], ss->clamped = (int)sum[5], ss->reward_c = sum[6], ss->reward_r = sum[7];
    ss->logp_c = sum[8], ss->logp_r = sum[9], ss->u_sum = sum[10], ss->seen = (long)sum[11];
    ss->u_max = max[0], ss->u_min = -max[1];
    return max[2] != 0;
}

/* The step's micro-batches, without running them: how many, and the loss's normalizer (the
 * trained tokens of SFT, the pairs of preference training), so the loss is the mean over
 * the whole optimizer step as TRL computes it. The loader is left where it was. */
static int peek_step(DataLoader *l, Model *m, int accum, double *norm) {
    if (l->cursor >= l->rows->n_rows) loader_seek(l, l->epoch + 1, 0); /* a new epoch starts */
    int e = l->epoch, c = l->cursor, k = 0;
    *norm = 0;
    for (; k < accum; k++) {
        int n = loader_next(l, m);
        if (n == 0) break;
        if (l->rows->kind == ROWS_PREF) *norm += n;
        else
            for (int i = 0; i < m->batch.B * m->batch.T; i++) *norm += m->batch.targets[i] >= 0;
    }
    loader_seek(l, e, c);
    return k;
}

/* Optimizer steps of a run: --max-steps, else --epochs passes (packing makes the count
 * depend on each epoch's order, so every epoch is walked). */
static int plan_steps(DataLoader *l, Model *m, const Options *o) {
    if (o->max_steps > 0) return o->max_steps;
    int steps = 0;
    double norm;
    for (int e = 0; e < o->epochs; e++) {
        loader_seek(l, e, 0);
        while (l->cursor < l->rows->n_rows || l->epoch == e) {
            int k = peek_step(l, m, o->grad_accum, &norm);
            if (k == 0 || l->epoch != e) break;
            for (int i = 0; i < k; i++) loader_next(l, m);
            steps++;
        }
    }
    loader_seek(l, 0, 0);
    return steps;
}

/* 64-bit FNV-style hash over words: keys the reference log-prob cache by model and data. */
static uint64_t hash_words(uint64_t h, const void *data, size_t bytes) {
    const unsigned char *p = data;
    for (size_t i = 0; i < bytes; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t rows_hash(const TokenizedRows *d, uint64_t h) {
    for (int i = 0; i < d->n_rows; i++) {
        if (d->kind == ROWS_SFT) {
            const SftRow *r = &d->sft[i];
            h = hash_words(h, &r->n, sizeof r->n);
            h = hash_words(h, r->ids, sizeof(int) * (size_t)r->n);
            h = hash_words(h, r->labels, sizeof(int) * (size_t)r->n);
            continue;
        }
        const PrefRow *r = &d->pref[i];
        int lens[3] = {r->n_prompt, r->n_chosen, r->n_rejected};
        h = hash_words(h, lens, sizeof lens);
        h = hash_words(h, r->prompt, sizeof(int) * (size_t)r->n_prompt);
        h = hash_words(h, r->chosen, sizeof(int) * (size_t)r->n_chosen);
        h = hash_words(h, r->rejected, sizeof(int) * (size_t)r->n_rejected);
    }
    return h;
}

/* --precompute-ref: the reference's summed log-probs of every row's chosen and rejected
 * response, from the current (starting) weights, cached in run_dir keyed by a hash of the
 * weights and the tokenized rows. Returns the cache's file name. */
static char *precompute_ref(Model *m, const TokenizedRows *rows, int batch_rows, const char *run_dir, double *ref) {
    uint64_t h = hash_words(0xcbf29ce484222325ull, m->params, m->n_params * sizeof(float));
    h = hash_words(h, arena_region(&m->arena, REGION_BASE), m->arena.plan.bytes[REGION_BASE]); /* a frozen base */
    h = rows_hash(rows, h);
    char *name = xsprintf("ref-logps-%016llx.bin", (unsigned long long)h);
    char *path = path_join(run_dir, name);
    size_t want = sizeof(double) * 2 * (size_t)rows->n_rows;
    double missing = 1; /* every rank reads the cache; all compute if any lacks it */
    if (path_is_file(path)) {
        size_t len;
        char *data = read_text_file(path, &len);
        if (len == want) memcpy(ref, data, want), missing = 0;
        free(data);
    }
    dist_max_doubles(&missing, 1);
    if (!missing) {
        if (dist_writer()) fprintf(stderr, "pref: reference log-probs from %s\n", path);
        free(path);
        return name;
    }
    if (dist_writer())
        fprintf(stderr, "pref: computing the reference log-probs of %d pairs once (--precompute-ref)\n", rows->n_rows);
    DataLoader l; /* in shares across ranks, summed: each value comes from one rank, the others add 0 */
    loader_init(&l, rows, batch_rows, 0, 0, 0);
    loader_share(&l, dist_rank(), dist_size());
    memset(ref, 0, want);
    double *sums = xmalloc(sizeof(double) * 2 * (size_t)batch_rows);
    int *counts = xmalloc(sizeof(int) * 2 * (size_t)batch_rows);
    while (loader_next(&l, m) > 0) {
        if (m->batch.B == 0) continue;
        model_forward(m, 1);
        batch_span_sums(&l, &m->batch, sums, counts);
        for (int s = 0; s < l.n_spans; s++) ref[2 * l.spans[s].row + l.spans[s].part] = sums[s];
    }
    loader_free(&l);
    dist_sum_doubles(ref, 2 * (size_t)rows->n_rows);
    if (dist_writer()) {
        make_dir(run_dir);
        write_file_atomic(path, ref, want);
    }
    free(sums), free(counts), free(path);
    return name;
}

static void json_metric(FILE *f, const char *key, double v, int *first) {
    fprintf(f, "%s\"%s\": ", *first ? "" : ", ", key);
    if (isfinite(v)) fprintf(f, "%.9g", v);
    else fputs("null", f); /* JSON has no NaN or Infinity */
    *first = 0;
}

/* One line of metrics.jsonl, in the names Hugging Face's Trainer and TRL log. */
static void log_step(FILE *f, int step, const DataLoader *l, const StepStats *ss, double grad_norm, double lr,
                     double dt, int bad_steps, double comm) {
    int first = 1;
    fprintf(f, "{\"step\": %d, ", step);
    json_metric(f, "epoch", l->epoch + (double)l->cursor / l->rows->n_rows, &first);
    json_metric(f, "loss", ss->loss, &first);
    json_metric(f, "grad_norm", grad_norm, &first);
    json_metric(f, "learning_rate", lr, &first);
    json_metric(f, "tokens_per_second", (double)ss->seen / dt, &first);
    json_metric(f, "num_tokens", (double)ss->seen, &first);
    if (bad_steps) json_metric(f, "bad_steps", bad_steps, &first); /* skipped so far (NaN or Inf) */
    if (dist_size() > 1) json_metric(f, "allreduce_seconds", comm, &first); /* this step's, on rank 0 */
    if (ss->pairs) {
        double n = ss->pairs;
        json_metric(f, "rewards/chosen", ss->reward_c / n, &first);
        json_metric(f, "rewards/rejected", ss->reward_r / n, &first);
        json_metric(f, "rewards/margins", (ss->reward_c - ss->reward_r) / n, &first);
        json_metric(f, "rewards/accuracies", ss->correct / n, &first);
        json_metric(f, "logps/chosen", ss->logp_c / n, &first);
        json_metric(f, "logps/rejected", ss->logp_r / n, &first);
        json_metric(f, "u/mean", ss->u_sum / n, &first);
        json_metric(f, "u/min", ss->u_min, &first);
        json_metric(f, "u/max", ss->u_max, &first);
        json_metric(f, "u/frac_above_1", ss->u_above_1 / n, &first);
        json_metric(f, "u/clamped", ss->clamped, &first);
    }
    fputs("}\n", f);
    if (fflush(f) != 0 || ferror(f)) die("metrics.jsonl: write failed at step %d: %s", step, strerror(errno));
}

/* The data file's lines that a step's micro-batches held, for the messages about a bad step. */
typedef struct {
    long *v;
    int n, cap;
} LineList;

static void step_lines_add(LineList *l, const DataLoader *d, const TokenizedRows *rows) {
    for (int i = d->first; i < d->cursor; i++) { /* the whole batch's rows, every rank's share */
        if (l->n == l->cap) l->cap = l->cap ? 2 * l->cap : 64, l->v = xrealloc(l->v, sizeof(long) * (size_t)l->cap);
        l->v[l->n++] = rows->line[d->order[i]];
    }
}

/* Whether the step held one of the lines of `list` ("9,17"). */
static int step_has_line(const LineList *l, const char *list) {
    for (char *end; *list; list = *end ? end + 1 : end) {
        long line = strtol(list, &end, 10);
        for (int i = 0; i < l->n; i++)
            if (l->v[i] == line) return 1;
        if (end == list) break;
    }
    return 0;
}

static const char *step_lines_text(const LineList *l, char *buf, size_t n) {
    size_t at = 0;
    buf[0] = 0;
    for (int i = 0; i < l->n && at + 24 < n; i++) at += (size_t)snprintf(buf + at, n - at, "%s%ld", i ? ", " : "", l->v[i]);
    if (at + 24 >= n) snprintf(buf + at, n - at, ", ...");
    return buf;
}

/* A per-step log (metrics.jsonl, pairs.jsonl) keeps the lines of steps up to `step` (a resumed
 * run rewrites what a killed one wrote after its last checkpoint). */
static FILE *open_step_log(const char *run_dir, const char *name, int step) {
    char *path = path_join(run_dir, name);
    char *kept = NULL;
    size_t kept_len = 0;
    if (step > 0 && path_is_file(path)) {
        size_t len;
        char *text = read_text_file(path, &len);
        kept = xmalloc(len + 1);
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
            int s;
            if (sscanf(line, "{\"step\": %d", &s) == 1 && s <= step) {
                size_t n = strlen(line);
                memcpy(kept + kept_len, line, n);
                kept[kept_len + n] = '\n';
                kept_len += n + 1;
            }
        }
        free(text);
    }
    write_file_atomic(path, kept ? kept : "", kept_len);
    FILE *f = fopen(path, "a");
    if (!f) die("%s: cannot open: %s", path, strerror(errno));
    free(kept);
    free(path);
    return f;
}

static void fmt_duration(char *buf, size_t n, double s) {
    if (s < 60) snprintf(buf, n, "%.0fs", s);
    else if (s < 3600) snprintf(buf, n, "%dm%02ds", (int)s / 60, (int)s % 60);
    else snprintf(buf, n, "%dh%02dm", (int)s / 3600, ((int)s % 3600) / 60);
}

/* A LoRA run on a model made from the seed has no base on disk for its adapter to name:
 * write it once into the run directory (atomically: a whole directory or none). */
static char *save_seed_base(const Model *m, const char *run_dir) {
    char *dir = path_join(run_dir, "base-model");
    if (!path_is_dir(dir)) {
        make_dir(run_dir);
        char *tmp = xsprintf("%s/.base-model.tmp-%d", run_dir, (int)getpid());
        remove_tree(tmp);
        model_save_hf(m, tmp, ST_F32, 0, 0);
        char *tok = repo_path("data/tokenizer");
        static const char *const files[] = {"tokenizer.json", "tokenizer_config.json"};
        for (int i = 0; i < 2; i++) {
            char *from = path_join(tok, files[i]), *to = path_join(tmp, files[i]);
            size_t len;
            char *data = read_text_file(from, &len);
            write_file_atomic(to, data, len);
            free(data), free(from), free(to);
        }
        if (rename(tmp, dir) != 0) die("%s: cannot rename into place: %s", dir, strerror(errno));
        free(tok), free(tmp);
    }
    char *abs = absolute_path(dir);
    free(dir);
    return abs;
}

/* SIGINT / SIGTERM while training: the step under way finishes, a checkpoint is written and the
 * run exits 0 with the command that resumes it. A second signal exits at once; checkpoints are
 * written atomically, so the previous one stays whole. */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig) {
    if (stop_signal) _exit(128 + sig);
    stop_signal = sig;
}

static void catch_stop_signals(void) {
    struct sigaction sa = {0};
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESTART; /* a write under way when the signal comes carries on */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* The key of micro-batch k of optimizer step `step`'s LoRA dropout masks. */
static uint64_t dropout_seed(uint64_t seed, int step, int k) {
    uint64_t z = seed * 0x9e3779b97f4a7c15ull + ((uint64_t)step << 20) + (uint64_t)k + 1;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int stage_train(Options *o) {
    int pref = strcmp(o->stage, "pref") == 0;
    TrainerState st = {0};
    const char *ckpt = o->resume; /* main() resolved it and applied its flags */
    if (ckpt) checkpoint_read_state(ckpt, &st);
    PrefLoss ploss = {LOSS_DPO, o->beta, o->label_smoothing};
    pref_loss_parse(o->loss, &ploss.kind);
    char *run_dir = o->out ? xstrdup(o->out) : pref ? xsprintf("runs/pref-%s", o->loss) : xstrdup("runs/sft");
    if (pref && !o->model && !o->model_config) { /* start from the newest SFT checkpoint */
        char *sft = checkpoint_find("runs/sft");
        if (!sft) die("--stage pref needs --model, or a checkpoint in runs/sft (run ./train --stage sft first)");
        if (adapter_dir_is(sft)) { /* a LoRA SFT: its base, and its adapter to start from and keep as the reference */
            LoraConfig l;
            char *base = NULL;
            adapter_read_config(sft, &l, &base);
            if (!base) die("%s/adapter_config.json: no base_model_name_or_path; pass the base model as --model", sft);
            o->model = base;
            if (!o->adapter) o->adapter = sft;
        } else {
            o->model = sft;
        }
    }
    if (dist_writer()) checkpoint_remove_partial(run_dir);

    ModelSource src;
    source_resolve(&src, o, !o->dry_run);
    if (o->dry_run) { /* the plan for --seq-len, before any data is read */
        RunShape s = source_shape(o, &src, pref, o->seq_len);
        print_plan(o, &src, &s);
        source_free(&src), free(run_dir);
        return 0;
    }
    TokenizedRows rows;
    Tokenizer *tok;
    ChatTemplate ct;
    char *data_path;
    load_rows(o, src.cfg.vocab_size, pref ? "data/sample-ultrafeedback.jsonl" : "data/sample-ultrachat.jsonl", &rows,
              &tok, &ct, &data_path);
    if ((rows.kind == ROWS_PREF) != pref)
        die("%s: --stage %s needs %s rows", data_path, o->stage, pref ? "preference" : "SFT");
    uint64_t data_hash = rows_hash(&rows, 0xcbf29ce484222325ull); /* what the run trains on, tokenized */
    if (ckpt && st.data_hash && st.data_hash != data_hash)
        die("%s: its rows differ from those the run in %s was trained on (data hash %016llx, the checkpoint's "
            "%016llx): the file changed since; resume with the data the run started with", data_path, ckpt,
            (unsigned long long)data_hash, (unsigned long long)st.data_hash);
    st.data_hash = data_hash;
    DataLoader loader;
    loader_init(&loader, &rows, o->batch_size, o->packing, o->shuffle, (uint64_t)o->seed);
    loader_share(&loader, dist_rank(), dist_size()); /* every rank walks the same order, each its share */
    RunShape shape = source_shape(o, &src, pref, loader_seq_len(&loader, o->seq_len));
#pragma omp parallel
    { /* start the thread pool first: its stacks belong to the baseline, not the arena */ }
    sgemm_reserve();
    size_t baseline = rss_now_bytes();
    StDtype save_dtype = ST_F32;
    if (!st_parse_dtype(o->save_dtype, &save_dtype)) die("--save-dtype must be f32, bf16 or f16 for checkpoints");
    Model m;
    model_create(&m, &src.cfg, &shape);
    if (dist_writer()) checkpoint_check_room(run_dir, checkpoint_bytes(&m, save_dtype)); /* before hours of work */
    source_load(&src, &m, o); /* the starting point, which is also the frozen reference */
    if (m.shape.lora.r > 0 && !src.files.path) /* written by rank 0; named by every rank's adapter config */
        src.base_model = dist_writer() ? save_seed_base(&m, run_dir) : path_join(run_dir, "base-model");
    double *ref_cache = NULL;
    if (pref && o->precompute_ref) {
        ref_cache = xmalloc(sizeof(double) * 2 * (size_t)rows.n_rows);
        free(st.ref_cache); /* a resumed run's, the same name again */
        st.ref_cache = precompute_ref(&m, &rows, o->batch_size, run_dir, ref_cache);
    } else if (pref) {
        model_ref_from_params(&m);
    }
    int step = 0;
    if (ckpt) {
        checkpoint_load_weights(ckpt, &m);
        loader_seek(&loader, st.epoch, st.cursor);
        step = st.step;
        fprintf(stderr, "%s: resuming %s at step %d of %d\n", o->stage, ckpt, step, st.total_steps);
    }
    int total = ckpt ? st.total_steps : plan_steps(&loader, &m, o);
    if (ckpt && o->max_steps > 0 && o->max_steps != total) { /* --max-steps given with --resume */
        if (o->max_steps <= step) die("--max-steps %d: the run in %s is at step %d already", o->max_steps, ckpt, step);
        fprintf(stderr, "%s: --max-steps %d: the run now ends at step %d instead of %d (the learning-rate schedule's "
                        "end moves with it, as in Hugging Face's Trainer)\n", o->stage, o->max_steps, o->max_steps, total);
        total = o->max_steps;
        cJSON_ReplaceItemInObject(st.args, "max-steps", cJSON_CreateNumber(total));
    }
    if (!ckpt) loader_seek(&loader, 0, 0);
    OptimConfig oc = {o->lr, 0.9, 0.999, 1e-8, o->weight_decay, o->warmup, total, o->max_grad_norm};
    st.total_steps = total;
    if (!st.args) st.args = options_to_json(o);
    uint64_t shard = parse_size(o->max_shard_size, "max-shard-size");
    char *tok_dir = src.files.path ? NULL : repo_path("data/tokenizer");
    int writer = dist_writer(); /* rank 0 writes every file and line; the others only compute */
    if (writer) make_dir(run_dir);
    FILE *metrics = writer ? open_step_log(run_dir, "metrics.jsonl", step) : NULL;
    FILE *pair_log = writer && pref && o->log_pairs ? open_step_log(run_dir, "pairs.jsonl", step) : NULL;
    int log_pairs = pref && o->log_pairs;
    if (writer) fprintf(stderr, "%s: %d optimizer steps of %d x %d rows, %s, into %s\n", o->stage, total, o->grad_accum,
            o->batch_size, pref ? pref_loss_name(ploss.kind) : "cross-entropy on assistant tokens", run_dir);
    if (writer && dist_size() > 1)
        fprintf(stderr, "%s: %d ranks, each %d of every %d rows\n", o->stage, dist_size(),
                (o->batch_size + dist_size() - 1) / dist_size(), o->batch_size);
    if (writer && m.shape.lora.r > 0)
        fprintf(stderr, "%s: LoRA r %d on a frozen base (%s): %zu trainable parameters%s\n", o->stage, m.shape.lora.r,
                src.base_model ? src.base_model : "?", m.n_params, src.adapter ? ", starting from --adapter" : "");

    double *sums = xmalloc(sizeof(double) * (size_t)shape.batch * 64);
    int *counts = xmalloc(sizeof(int) * (size_t)shape.batch * 64);
    PairLoss *pair_losses = xmalloc(sizeof(PairLoss) * (size_t)(shape.batch / 2 + 1));
    int *pair_bounds = xmalloc(sizeof(int) * (size_t)(shape.batch / 2 + 1));
    double t_start = now_seconds();
    int first_step = step;
    /* test-only fault injection: a NaN in the gradient of each step that holds one of these
     * data lines (a comma list) */
    const char *poison = getenv("TRAIN_TEST_NAN_LINES");
    LineList lines = {0};
    char *pair_text = NULL; /* pairs.jsonl lines of the step under way, written once it is applied */
    size_t pair_len = 0;
    catch_stop_signals();
    while (step < total) {
        dist_test_hang(step + 1);
        double t0 = now_seconds(), comm0 = dist_comm_seconds(), norm;
        int micro = peek_step(&loader, &m, o->grad_accum, &norm);
        if (micro == 0) die("internal: an optimizer step without data");
        if (!pref) dist_sum_doubles(&norm, 1); /* the step's trained tokens, over every rank's share */
        StepStats ss = {0};
        ss.u_min = 1e300, ss.u_max = -1e300;
        free(pair_text), pair_text = NULL;
        FILE *step_pairs = log_pairs ? open_memstream(&pair_text, &pair_len) : NULL;
        lines.n = 0;
        model_zero_grad(&m);
        int overlap = dist_size() > 1 && o->overlap_allreduce;
        m.share_grads = 0;
        for (int k = 0; k < micro; k++) {
            loader_next(&loader, &m);
            step_lines_add(&lines, &loader, &rows);
            m.dropout_key = dropout_seed((uint64_t)o->seed, step, k); /* LoRA dropout: the same on --resume */
            if (m.batch.B == 0) continue; /* this rank's share of a short last batch */
            /* a poisoned line's NaN goes in before the backward that may start the sums */
            if (poison && step_has_line(&lines, poison)) m.grads[0] = NAN;
            m.share_grads = overlap && k == micro - 1;
            Batch *b = &m.batch;
            size_t N = (size_t)b->B * b->T;
            for (size_t i = 0; i < N; i++) ss.seen += b->seg[i] >= 0;
            memset(b->dlogp, 0, sizeof(float) * N);
            if (!pref) { /* mean cross-entropy over the step's trained tokens; the gradient
                            * is known up front, so the LM head runs forward and backward at once */
                for (size_t i = 0; i < N; i++) b->dlogp[i] = b->targets[i] >= 0 ? (float)(-1.0 / norm) : 0.0f;
                model_forward_fused(&m, NULL);
                for (size_t i = 0; i < N; i++)
                    if (b->targets[i] >= 0) ss.loss -= b->logp[i] / norm, ss.tokens += 1;
                model_backward(&m);
                continue;
            }
            /* preference: the reference's log-probs first, then the policy's, one pass over
             * chosen and rejected together; spans come as (chosen, rejected) per pair */
            double *ref = sums + loader.n_spans;
            if (!ref_cache) {
                model_forward_ref(&m);
                memcpy(b->logp, b->ref_logp, sizeof(float) * N);
                batch_span_sums(&loader, b, ref, counts);
            } else {
                for (int s = 0; s < loader.n_spans; s++) ref[s] = ref_cache[2 * loader.spans[s].row + loader.spans[s].part];
            }
            /* the policy: each pair's loss gradient as soon as its log-probs are in, so the LM
             * head's backward runs on the pair's logits while they are still in its tile */
            PrefGrad pg = {&loader, b, ploss, ref, 1.0 / norm, sums, counts, pair_losses, pair_bounds};
            LmGroups groups = pref_grad_groups(&pg);
            model_forward_fused(&m, &groups);
            for (int s = 0; s + 1 < loader.n_spans; s += 2) {
                PairLoss pl = pair_losses[s / 2];
                ss.loss += pl.loss / norm;
                ss.pairs++;
                double rc = o->beta * (sums[s] - ref[s]), rr = o->beta * (sums[s + 1] - ref[s + 1]);
                ss.reward_c += rc, ss.reward_r += rr, ss.correct += rc > rr;
                ss.logp_c += sums[s], ss.logp_r += sums[s + 1];
                ss.u_sum += pl.u, ss.u_above_1 += pl.u > 1, ss.clamped += pl.clamped;
                ss.u_min = pl.u < ss.u_min ? pl.u : ss.u_min;
                ss.u_max = pl.u > ss.u_max ? pl.u : ss.u_max;
                if (step_pairs) /* the step being taken (1-based, as in metrics.jsonl) */
                    fprintf(step_pairs, "{\"step\": %d, \"row\": %d, \"u\": %.9g, \"dloss_du\": %.9g, \"logp_chosen\": %.9g, "
                                      "\"logp_rejected\": %.9g, \"ref_chosen\": %.9g, \"ref_rejected\": %.9g}\n",
                            step + 1, loader.spans[s].row, pl.u, pl.dloss_du, sums[s], sums[s + 1], ref[s],
                            ref[s + 1]);
            }
            model_backward(&m);
        }
        /* data parallel: the shares' gradients and numbers summed, the same on every rank, so
         * each takes the same decisions and the same AdamW step. With the overlap, the last
         * backward has started each layer's sums already (unless this rank's share of it was
         * empty: then it starts them now, in the same order) */
        if (overlap) {
            if (!m.share_grads) {
                model_share_head_grads(&m);
                for (int l = m.cfg.n_layers - 1; l >= 0; l--) model_share_layer_grads(&m, l);
            }
            model_share_embed_grads(&m);
            dist_sum_wait();
        } else {
            dist_sum_floats(m.grads, m.n_params);
        }
        int stopping = step_stats_reduce(&ss, stop_signal != 0);
        double grad_norm = clip_grad_norm(m.grads, m.n_params, o->max_grad_norm);
        double lr = optim_lr(&oc, step);
        if (step_pairs) fclose(step_pairs);
        char where[256];
        if (!isfinite(ss.loss) || !isfinite(grad_norm)) {
            /* a bad step is not taken: no update, the same step number, learning rate and
             * AdamW count; its batch is spent, so the run goes on as if it had not been there */
            st.bad_steps++;
            if (writer) fprintf(stderr, "%s step %d/%d skipped: loss %g, gradient norm %g (lines %s of %s) | skipped %d of at most %d\n",
                    o->stage, step + 1, total, ss.loss, grad_norm, step_lines_text(&lines, where, sizeof where),
                    data_path, st.bad_steps, o->max_bad_steps);
            if (st.bad_steps > o->max_bad_steps)
                die("step %d: loss %g, gradient norm %g on lines %s of %s: %d steps skipped, more than --max-bad-steps %d "
                    "(the newest checkpoint in %s holds the run before them)", step + 1, ss.loss, grad_norm, where,
                    data_path, st.bad_steps, o->max_bad_steps, run_dir);
        } else {
            for (int k = 0; k < P_KINDS; k++) { /* decay 2-D weights only, as HF Trainer */
                const ParamInfo *p = &m.info[k];
                if (!p->present || p->frozen) continue;
                size_t count = p->numel * (p->per_layer ? (size_t)m.cfg.n_layers : 1);
                adamw_step(m.params + p->offset, m.grads + p->offset, m.adam_m + p->offset, m.adam_v + p->offset,
                           count, p->ndim == 2, lr, &oc, step + 1);
            }
            step++;
            double dt = now_seconds() - t0;
            if (writer) log_step(metrics, step, &loader, &ss, grad_norm, lr, dt, st.bad_steps, dist_comm_seconds() - comm0);
            if (log_pairs) { /* every rank's pairs, in rank order: the batch's order */
                size_t n;
                char *all = dist_gather_text(pair_text, pair_len, &n);
                if (pair_log && (fwrite(all, 1, n, pair_log) != n || fflush(pair_log) != 0))
                    die("%s/pairs.jsonl: write failed: %s", run_dir, strerror(errno));
                free(all);
            }
            if (writer) {
                char eta[32];
                double per_step = (now_seconds() - t_start) / (step - first_step);
                fmt_duration(eta, sizeof eta, per_step * (total - step));
                fprintf(stderr, "%s step %d/%d | loss %.4f", o->stage, step, total, ss.loss);
                if (pref && ss.pairs) fprintf(stderr, " | acc %.2f | margin %.3f", (double)ss.correct / ss.pairs,
                                              (ss.reward_c - ss.reward_r) / ss.pairs);
                fprintf(stderr, " | lr %.2e | %.0f tok/s | ETA %s", lr, (double)ss.seen / dt, eta);
                if (st.bad_steps) fprintf(stderr, " | skipped %d", st.bad_steps);
                fputc('\n', stderr);
            }
        }
        /* an --epochs run whose data is spent ends, even when a skipped step left it short */
        int data_spent = o->max_steps == 0 && loader.epoch >= o->epochs - 1 && loader.cursor >= rows.n_rows;
        int last = step == total || data_spent;
        if ((o->save_every > 0 && step % o->save_every == 0 && step > st.step) || last || stopping) {
            st.step = step, st.epoch = loader.epoch, st.cursor = loader.cursor;
            if (writer) {
                checkpoint_save(run_dir, &m, &st, src.files.path ? &src.files : NULL, tok_dir, save_dtype, shard,
                                src.base_model);
                checkpoint_keep_last(run_dir, o->keep_last);
                fprintf(stderr, "%s: saved %s/checkpoint-%d\n", o->stage, run_dir, step);
            }
        }
        if (last) {
            if (writer && step < total) fprintf(stderr, "%s: the data ran out at step %d of %d (%d steps skipped)\n", o->stage,
                                      step, total, st.bad_steps);
            break;
        }
        if (stopping) {
            if (writer) fprintf(stderr, "%s: stopped by signal %d after step %d of %d; continue with: ./train --resume %s\n",
                    o->stage, (int)stop_signal, step, total, run_dir);
            break;
        }
    }
    if (metrics) fclose(metrics);
    if (pair_log) fclose(pair_log);
    if (writer) report_memory(o, &m.arena.plan, baseline);
    model_destroy(&m);
    loader_free(&loader);
    tokenized_rows_free(&rows);
    if (tok) chat_template_free(&ct), tokenizer_free(tok);
    free(sums), free(counts), free(pair_losses), free(pair_bounds), free(ref_cache), free(run_dir), free(data_path),
        free(tok_dir), free(lines.v), free(pair_text);
    source_free(&src);
    cJSON_Delete(st.args), free(st.ref_cache);
    return 0;
}

/* The flags (with --resume, the checkpoint's), then the stage they name. */
static int run_stage_from_args(int argc, char **argv) {
    static Options o; /* the run's flags, and the strings they hold, for the whole program */
    options_parse(&o, argc, argv);
    if (o.resume) { /* the checkpoint's flags, except those given now on the command line */
        char *ckpt = checkpoint_find(o.resume);
        if (!ckpt) die("%s: no checkpoint here (expected trainer_state.json or checkpoint-<step>/)", o.resume);
        TrainerState st;
        checkpoint_read_state(ckpt, &st);
        options_check_resume(&o, st.args, ckpt);
        options_apply_json(&o, st.args, ckpt);
        options_validate(&o);
        cJSON_Delete(st.args), free(st.ref_cache);
        o.resume = ckpt;
        if (strcmp(o.stage, "sft") != 0 && strcmp(o.stage, "pref") != 0) die("%s: not a training run's checkpoint", ckpt);
    }
    int training = strcmp(o.stage, "sft") == 0 || strcmp(o.stage, "pref") == 0;
    if (training && !o.model && !o.config && !o.resume) { /* the default model's run settings */
        char *path = repo_path(strcmp(o.stage, "sft") == 0 ? "configs/default-sft.json" : "configs/default-pref.json");
        cJSON *j = json_parse_file(path);
        options_apply_json(&o, j, path);
        options_validate(&o);
        cJSON_Delete(j);
        free(path);
    }
    dist_set_timeout(o.mpi_timeout);
    gemm_set_dtype(strcmp(o.dtype, "bf16") == 0 ? GEMM_BF16 : GEMM_F32);
    if (gemm_get_dtype() == GEMM_BF16 && dist_writer())
        fprintf(stderr, "%s: matrix products in bf16 (%s kernel), fp32 accumulation\n", o.stage, gemm_bf16_kernel_name());
    if (dist_size() > 1 && !training)
        die("--stage %s runs in one process; only sft and pref are data parallel (start it without mpirun)", o.stage);
    if (strcmp(o.stage, "eval") == 0) return stage_eval(&o);
    if (strcmp(o.stage, "convert") == 0) return stage_convert(&o);
    if (strcmp(o.stage, "tokenize") == 0) return stage_tokenize(&o);
    if (strcmp(o.stage, "generate") == 0) return stage_generate(&o);
    if (strcmp(o.stage, "sft") == 0 || strcmp(o.stage, "pref") == 0) return stage_train(&o);
    die("unknown --stage \"%s\" (sft, pref, eval, generate, tokenize, convert)", o.stage);
}

int main(int argc, char **argv) {
    dist_init(&argc, &argv); /* mpirun -np N: N ranks (make USE_MPI=1); else one process */
    int rc = run_stage_from_args(argc, argv);
    dist_finalize();
    return rc;
}
