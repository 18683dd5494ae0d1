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
        model_files_open(&src->files, o->model);
        src->cfg = src->files.cfg;
        src->config_name = xstrdup(src->files.config_name);
        if (o->model_config) { /* a run config that names an architecture must match the weights */
            ModelConfig rc;
            config_from_json(&rc, o->model_config, o->config_path);
            config_check_same(&src->cfg, src->config_name, &rc, o->config_path);
        }
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

/* ---------------------------------------------------------------- --stage eval */

static int stage_eval(const Options *o) {
    ModelSource src;
    resolve_model(&src, o);
    char *default_data = repo_file("data/sample-tokenized-sft.jsonl");
    const char *data_path = o->data ? o->data : default_data;
    if (o->dry_run) { /* plan for the longest rows allowed, without reading anything else */
        RunShape s = stage_shape(o, 0, o->seq_len);
        print_plan(o, &src, &s);
        return 0;
    }
    TokenizedRows rows;
    tokenized_rows_load(&rows, data_path, src.cfg.vocab_size);
    int pref = rows.kind == ROWS_PREF, T = 0;
    for (int i = 0; i < rows.n_rows; i++) {
        int len = tokenized_row_len(&rows, i);
        if (len > o->seq_len)
            die("%s: row %d has %d tokens, more than --seq-len %d", data_path, i, len, o->seq_len);
        T = MAX(T, len);
    }
    RunShape shape = stage_shape(o, pref, T);
#pragma omp parallel
    { /* start the thread pool first: its stacks belong to the baseline, not the arena */ }
    size_t baseline = rss_now_bytes();
    Model m;
    model_create(&m, &src.cfg, &shape);
    load_weights(&src, &m, o);

    AtomicFile out = {0};
    FILE *f = stdout;
    if (o->out) {
        out = atomic_open(o->out);
        f = out.f;
    }
    double t0 = now_seconds(), total_logp = 0, sums[2 * 4096];
    long total_tokens = 0, n_correct = 0, seen_tokens = 0;
    int counts[2 * 4096];
    if (shape.batch > 2 * 4096) die("--batch-size is too large (at most 4096)");
    for (int first = 0; first < rows.n_rows; first += o->batch_size) {
        int count = MIN(o->batch_size, rows.n_rows - first);
        batch_fill(&m, &rows, first, count);
        model_forward(&m, 0);
        batch_seq_sums(&m.batch, sums, counts);
        seen_tokens += (long)m.batch.B * m.batch.T;
        for (int i = 0; i < count; i++) {
            if (!pref) {
                fprintf(f, "{\"row\": %d, \"logp\": %.9g, \"tokens\": %d}\n", first + i, sums[i], counts[i]);
                total_logp += sums[i];
                total_tokens += counts[i];
            } else {
                fprintf(f, "{\"row\": %d, \"chosen_logp\": %.9g, \"rejected_logp\": %.9g, \"chosen_tokens\": %d, "
                           "\"rejected_tokens\": %d}\n", first + i, sums[i], sums[count + i], counts[i], counts[count + i]);
                total_logp += sums[i] + sums[count + i];
                total_tokens += counts[i] + counts[count + i];
                n_correct += sums[i] > sums[count + i];
            }
        }
    }
    if (o->out) atomic_commit(&out);
    else fflush(stdout);
    double dt = now_seconds() - t0;
    fprintf(stderr, "eval: %d rows, %ld scored tokens, mean loss (NLL per scored token) %.6f", rows.n_rows,
            total_tokens, total_tokens ? -total_logp / (double)total_tokens : 0.0);
    if (pref) fprintf(stderr, ", chosen_logp > rejected_logp in %.4f of pairs", (double)n_correct / rows.n_rows);
    fprintf(stderr, ", %.0f tokens/s\n", (double)seen_tokens / (dt > 0 ? dt : 1e-9));
    report_memory(o, &m.arena.plan, baseline);
    model_destroy(&m);
    tokenized_rows_free(&rows);
    free(default_data);
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
    if (strcmp(o.stage, "sft") == 0 || strcmp(o.stage, "pref") == 0) return stage_planned(&o);
    die("unknown --stage \"%s\" (eval, convert; sft and pref with --dry-run)", o.stage);
}
