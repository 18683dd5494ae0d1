/* engine_check: one forward and backward of the engine on a batch, everything written out
 * for an independent implementation to compare (tests/test_oracle.py).
 *
 *   engine_check --model DIR|FILE.gguf --data ROWS.jsonl --out RESULT.safetensors
 *                [--loss ce | rowsum:w0,w1,...] [--threads N] [--no-logits] [--report-memory]
 *   engine_check --init CONFIG.json|--model FILE --random-batch B,T --repeat K [--threads N] [--pref]
 *       (benchmark: an SFT step, or with --pref a DPO step on B pairs: reference forward, policy
 *       forward over chosen and rejected together, backward, AdamW; --init initialises from the
 *       seed, --model loads; with --lora-r R an adapter on the base frozen as --base-dtype
 *       f32|bf16|f16|q8_0 says (--init) or as the file stores it (--model))
 *   --dtype bf16 (any mode): matrix products of bf16-rounded inputs, as the trainer's --dtype bf16;
 *       --dtype fp32,bf16 (benchmark): fp32 and bf16 steps in turn, a line for each
 *   engine_check --model DIR|FILE.gguf --load-only                                   (load throughput)
 *   engine_check --model DIR --ref-model DIR --data PREF.jsonl --out R --loss pref:dpo:0.1
 *       one preference step: the reference's log-probs, the policy's forward and backward with
 *       the loss of src/loss.c averaged over pairs (as training does); R adds "pair_loss" [P]
 *   engine_check --model DIR --data ROWS.jsonl --out R --cached-logits K
 *       generation's path: every row's first K tokens through model_forward_cached at once,
 *       then one token per row per step, all rows in one batch; R holds "cached_logits"
 *       [B, T, V] (positions from K - 1 on; 0 before) beside "logits" from the full forward.
 *   LoRA: --lora-r R [--lora-alpha A] [--lora-targets LIST] [--rslora] [--lora-dropout P]
 *       [--adapter DIR] trains an adapter (PEFT's init, or DIR's values) on --model kept frozen
 *       in its stored types; with --loss pref:..., --ref-adapter DIR|base makes the reference
 *       the base with that adapter, or with none. R's gradients are then the adapter's
 *       (PEFT names) and, with dropout, "mask.<layer>.<target>" [N, in] holds each mask.
 *
 * ce: Hugging Face's causal-LM loss, the mean of -logp over scored tokens.
 * rowsum: sum over sequences j of w_j * (sum of logp over j's scored tokens), the shape
 *         every preference loss reduces to once dLoss/d(sequence logp) is known.
 * RESULT holds "loss" [1], "logp" [B, T], "logits" [B, T, V] and "grad.<HF name>" for
 * every parameter. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "common.h"
#include "gemm.h"
#include "loss.h"
#include "optim.h"
#include "pref_grad.h"
#include "rng.h"
#include "data.h"
#include "model.h"
#include "model_io.h"
#include "safetensors.h"

static int recompute; /* --recompute: keep only layer inputs, as the trainer's flag */
static int ref_bf16;  /* --ref-bf16: the reference's weights kept in bf16 (--ref-dtype bf16) */
static int interleave_dtypes; /* --dtype fp32,bf16 (benchmark): fp32 and bf16 steps in turn */
static LoraConfig lora; /* --lora-r etc.: an adapter on a frozen base */
static int cached_split;  /* --cached-logits K */
static const char *adapter_dir, *ref_adapter; /* --adapter, --ref-adapter DIR|base */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* A full SFT training step (forward, backward of the mean cross-entropy, AdamW) on a random
 * batch of a randomly initialised model, `repeat` times after one warm-up step: median
 * seconds, tokens/s, and the arena plan next to the measured peak RSS. */
static int benchmark(const char *config_path, const char *model_path, uint32_t base_type, int B, int T, int repeat,
                     int pref) {
    if (B <= 0 || T <= 1 || repeat <= 0) die("engine_check: --init needs --random-batch B,T and --repeat K");
    ModelConfig cfg;
    ModelFiles files = {0};
    if (model_path) {
        model_files_open(&files, model_path);
        cfg = files.cfg;
    } else {
        config_load_file(&cfg, config_path);
    }
    RunShape shape = {.batch = B, .seq_len = T, .threads = omp_get_max_threads(), .train = 1, .adam = 1,
                      .ref = !pref ? REF_NONE : ref_bf16 ? REF_BF16 : REF_FP32, .recompute = recompute,
                      .pairs = pref};
    uint32_t *types = NULL;
    if (lora.r > 0) { /* the frozen base as the file has it, or in base_type; the adapter trained */
        if (!lora.targets) lora.targets = LORA_ALL_TARGETS;
        if (!lora.alpha) lora.alpha = 2.0 * lora.r;
        types = xmalloc(sizeof(uint32_t) * P_BASE_KINDS * (size_t)cfg.n_layers);
        if (model_path) model_files_types(&files, types);
        else
            for (size_t i = 0; i < P_BASE_KINDS * (size_t)cfg.n_layers; i++) types[i] = base_type;
        shape.lora = lora, shape.base_types = types;
        shape.ref = pref ? REF_BASE : REF_NONE;
    }
#pragma omp parallel
    { }
    sgemm_reserve();
    size_t baseline = rss_now_bytes();
    Model m;
    model_create(&m, &cfg, &shape);
    if (model_path) model_files_load(&files, &m);
    else model_init_random(&m, 1);
    if (lora.r > 0) model_init_adapter(&m, 1);
    if (pref) model_ref_from_params(&m);
    Rng rng;
    rng_seed(&rng, 2);
    Batch *b = &m.batch;
    b->B = B, b->T = T;
    int N = B * T;
    for (int n = 0; n < N; n++) {
        b->tokens[n] = (int)(rng_next(&rng) % (uint64_t)cfg.vocab_size);
        b->pos[n] = n % T;
        b->seg[n] = 0;
    }
    for (int n = 0; n < N; n++) b->targets[n] = n % T == T - 1 ? -1 : b->tokens[n + 1];
    for (int n = 0; n < N; n++) b->dlogp[n] = b->targets[n] >= 0 ? -1.0f / (float)(N - B) : 0.0f;
    /* preference: pair j is sequences 2j (chosen) and 2j + 1 (rejected), as the loader lays them out */
    DataLoader pairs = {0};
    pairs.n_spans = pref ? B : 0;
    pairs.spans = xmalloc(sizeof(BatchSpan) * (size_t)B);
    for (int j = 0; j < B; j++) pairs.spans[j] = (BatchSpan){j / 2, j % 2, j, 0, T};
    double *ref = xmalloc(sizeof(double) * 2 * (size_t)B), *policy = ref + B;
    int *tokens = xmalloc(sizeof(int) * (size_t)B), *bounds = xmalloc(sizeof(int) * (size_t)(B / 2 + 1));
    PairLoss *losses = xmalloc(sizeof(PairLoss) * (size_t)(B / 2 + 1));
    /* one dtype, or with --dtype fp32,bf16 both, step by step in turn: each sees the same
     * moments of a shared machine, so their ratio is not one quiet minute against a busy one */
    GemmDtype dtypes[2] = {gemm_get_dtype(), GEMM_BF16};
    int n_dtypes = interleave_dtypes ? 2 : 1;
    if (interleave_dtypes) dtypes[0] = GEMM_F32;
    double *secs = xmalloc(sizeof(double) * 2 * (size_t)repeat);
    OptimConfig oc = {1e-4, 0.9, 0.999, 1e-8, 0.0, 0, 100, 1.0};
    double part[2][4] = {{0}}; /* per dtype: zero grads, forward, backward, optimizer */
    for (int r = -1; r < repeat; r++) /* step -1 warms up (page faults, caches) */
        for (int d = 0; d < n_dtypes; d++) {
            gemm_set_dtype(dtypes[d]);
            double t0 = now_seconds(), t1, t2, t3;
            model_zero_grad(&m);
            t1 = now_seconds();
            if (!pref) {
                model_forward_fused(&m, NULL); /* as --stage sft does */
            } else { /* as --stage pref does: the reference, then the policy with DPO's gradient
                        * pair by pair inside the LM head's pass */
                model_forward_ref(&m);
                memcpy(b->logp, b->ref_logp, sizeof(float) * (size_t)N);
                batch_span_sums(&pairs, b, ref, tokens);
                PrefGrad pg = {&pairs, b, {LOSS_DPO, 0.1, 0}, ref, 2.0 / B, policy, tokens, losses, bounds};
                LmGroups groups = pref_grad_groups(&pg);
                model_forward_fused(&m, &groups);
            }
            t2 = now_seconds();
            model_backward(&m);
            t3 = now_seconds();
            clip_grad_norm(m.grads, m.n_params, oc.max_grad_norm);
            adamw_step(m.params, m.grads, m.adam_m, m.adam_v, m.n_params, 1, oc.lr, &oc, (r + 1) * n_dtypes + d + 1);
            double t4 = now_seconds();
            if (r >= 0) {
                secs[d * repeat + r] = t4 - t0;
                part[d][0] += t1 - t0, part[d][1] += t2 - t1, part[d][2] += t3 - t2, part[d][3] += t4 - t3;
            }
        }
    size_t peak = rss_peak_bytes();
    double over = (double)peak - (double)baseline - (double)m.arena.plan.total;
    char lora_note[96] = "";
    if (lora.r > 0)
        snprintf(lora_note, sizeof lora_note, ", LoRA r %d on a frozen %s base", lora.r,
                 model_path ? "stored" : ggml_type_info(base_type)->name);
    for (int d = 0; d < n_dtypes; d++) {
        double *ds = secs + d * repeat;
        qsort(ds, (size_t)repeat, sizeof *ds, cmp_double);
        double med = ds[repeat / 2];
        gemm_set_dtype(dtypes[d]);
        char dtype_note[96] = "";
        if (dtypes[d] == GEMM_BF16)
            snprintf(dtype_note, sizeof dtype_note, ", bf16 products (%s)", gemm_bf16_kernel_name());
        if (interleave_dtypes)
            snprintf(dtype_note + strlen(dtype_note), sizeof dtype_note - strlen(dtype_note), "%s, steps alternating with %s",
                     dtypes[d] == GEMM_BF16 ? "" : ", fp32 products", dtypes[d] == GEMM_BF16 ? "fp32" : "bf16");
        printf("engine: %s step %d x %d tokens, %d threads%s%s%s%s: median %.3f s (min %.3f, max %.3f over %d), %.0f tokens/s\n",
               pref ? "PREF" : "SFT", B, T, omp_get_max_threads(), pref && ref_bf16 ? ", reference in bf16" : "",
               recompute ? ", --recompute" : "", lora_note, dtype_note, med, ds[0], ds[repeat - 1], repeat, N / med);
        printf("        mean per step: zero grads %.3f s, forward %.3f s, backward %.3f s, clip + AdamW %.3f s\n",
               part[d][0] / repeat, part[d][1] / repeat, part[d][2] / repeat, part[d][3] / repeat);
    }
    printf("memory: arena plan %s, baseline %s, peak RSS %s: peak - baseline - plan = %+.2f%% of the plan\n",
           fmt_bytes((double)m.arena.plan.total), fmt_bytes((double)baseline), fmt_bytes((double)peak),
           100.0 * over / (double)m.arena.plan.total);
    free(secs), free(pairs.spans), free(ref), free(tokens), free(bounds), free(losses), free(types);
    model_destroy(&m);
    if (model_path) model_files_close(&files);
    return 0;
}

/* Time moving the weights from the file(s) into the arena (the arena's first touch included). */
static int load_benchmark(const char *path) {
    ModelFiles files;
    model_files_open(&files, path);
    RunShape shape = {.batch = 1, .seq_len = 2, .threads = omp_get_max_threads()};
    Model m;
    model_create(&m, &files.cfg, &shape);
    double t0 = now_seconds();
    model_files_load(&files, &m);
    double dt = now_seconds() - t0;
    double bytes = files.is_gguf ? (double)files.gguf.size : 0;
    if (!files.is_gguf) { /* sum the safetensors files */
        StSet s;
        st_open(&s, path);
        for (int i = 0; i < s.n_files; i++) bytes += (double)s.files[i].size;
        st_close(&s);
    }
    printf("load %s: %.1f MB of file in %.3f s = %.0f MB/s (%.0f MB of fp32 weights written = %.0f MB/s)\n", path,
           bytes / 1e6, dt, bytes / 1e6 / dt, (double)m.n_params * 4 / 1e6, (double)m.n_params * 4 / 1e6 / dt);
    model_destroy(&m);
    model_files_close(&files);
    return 0;
}

/* Everything out, with Hugging Face names for the gradients. */
static void write_result(Model *m, const char *out, double L, int logits, const double *pair_loss, int n_pairs) {
    const ModelConfig *cfg = &m->cfg;
    const Batch *b = &m->batch;
    int N = b->B * b->T;
    int cap = P_KINDS * cfg->n_layers + 8, n = 0;
    StWriteTensor *t = xcalloc((size_t)cap, sizeof *t);
    char **names = xcalloc((size_t)cap, sizeof *names);
    float lossf = (float)L;
    t[n++] = (StWriteTensor){"loss", 1, {1}, &lossf, NULL, NULL};
    t[n++] = (StWriteTensor){"logp", 2, {b->B, b->T}, b->logp, NULL, NULL};
    float *lg = NULL, *pl = NULL;
    if (logits) {
        lg = xmalloc(sizeof(float) * (size_t)N * cfg->vocab_size);
        model_logits(m, 1, lg);
        t[n++] = (StWriteTensor){"logits", 3, {b->B, b->T, cfg->vocab_size}, lg, NULL, NULL};
    }
    if (pair_loss) {
        pl = xmalloc(sizeof(float) * (size_t)n_pairs);
        for (int i = 0; i < n_pairs; i++) pl[i] = (float)pair_loss[i];
        t[n++] = (StWriteTensor){"pair_loss", 1, {n_pairs}, pl, NULL, NULL};
    }
    for (int k = 0; k < P_KINDS; k++) {
        const ParamInfo *p = &m->info[k];
        if (!p->present || p->frozen) continue;
        for (int l = 0; l < (p->per_layer ? cfg->n_layers : 1); l++) {
            char name[160];
            param_name((ParamKind)k, l, name, sizeof name);
            names[n] = xsprintf("grad.%s", name);
            t[n] = (StWriteTensor){names[n], p->ndim, {(int64_t)p->rows, (int64_t)p->cols},
                                   param_ptr(m, m->grads, (ParamKind)k, l), NULL, NULL};
            n++;
        }
    }
    float *masks = NULL; /* LoRA dropout's masks of the last training forward, for torch to apply */
    if (m->dropout_on) {
        int cnt = 0;
        for (int tg = 0; tg < LORA_TARGETS; tg++) cnt += m->info[lora_a_kind((LoraTarget)tg)].present;
        size_t one = (size_t)N * MAX(cfg->ffn_dim, MAX(cfg->dim, cfg->n_heads * cfg->head_dim));
        masks = xmalloc(sizeof(float) * one * (size_t)cnt * (size_t)cfg->n_layers);
        t = xrealloc(t, sizeof *t * (size_t)(cap + cnt * cfg->n_layers));
        names = xrealloc(names, sizeof *names * (size_t)(cap + cnt * cfg->n_layers));
        float *mk = masks;
        for (int l = 0; l < cfg->n_layers; l++)
            for (int tg = 0; tg < LORA_TARGETS; tg++) {
                const ParamInfo *a = &m->info[lora_a_kind((LoraTarget)tg)];
                if (!a->present) continue;
                model_dropout_mask(m, l, (LoraTarget)tg, N, (int)a->cols, mk);
                names[n] = xsprintf("mask.%d.%s", l, lora_target_names[tg]);
                t[n] = (StWriteTensor){names[n], 2, {N, (int64_t)a->cols}, mk, NULL, NULL};
                n++, mk += (size_t)N * a->cols;
            }
    }
    st_write_file(out, t, n, ST_F32);
    for (int i = 0; i < n; i++) if (names[i]) free(names[i]);
    free(names), free(t), free(lg), free(pl), free(masks);
}

/* The logits generation's cached path makes, next to the full forward's. */
static int cached_logits(Model *m, const DataLoader *loader, const TokenizedRows *rows, const char *out, int logits) {
    Batch *b = &m->batch;
    int B = b->B, T = b->T, V = m->cfg.vocab_size, K = cached_split;
    int *tok = xmalloc(sizeof(int) * (size_t)B * T), *len = xmalloc(sizeof(int) * (size_t)B);
    for (int s = 0; s < loader->n_spans; s++) { /* each row's tokens, before the forwards overwrite the batch */
        const BatchSpan *sp = &loader->spans[s];
        len[sp->seq] = sp->len;
        memcpy(tok + (size_t)sp->seq * T, b->tokens + (size_t)sp->seq * T + sp->start, sizeof(int) * (size_t)sp->len);
    }
    (void)rows;
    float *full = xcalloc((size_t)B * T * V, sizeof(float)), *cached = xcalloc((size_t)B * T * V, sizeof(float));
    model_forward(m, 0);
    model_logits(m, 0, full);
    int *t = xmalloc(sizeof(int) * (size_t)T * B), *sq = xmalloc(sizeof(int) * (size_t)T * B),
        *ps = xmalloc(sizeof(int) * (size_t)T * B), *em = xmalloc(sizeof(int) * (size_t)T * B);
    for (int j = 0; j < B; j++) { /* the prompt part at once */
        int k = MIN(K, len[j]);
        for (int i = 0; i < k; i++) t[i] = tok[(size_t)j * T + i], sq[i] = j, ps[i] = i, em[i] = i == k - 1;
        model_forward_cached(m, k, t, sq, ps, em);
        memcpy(cached + ((size_t)j * T + k - 1) * V, m->gen_logits, sizeof(float) * (size_t)V);
    }
    for (int p = K; p < T; p++) { /* then a token of every row still going, per step */
        int n = 0;
        for (int j = 0; j < B; j++)
            if (p < len[j]) t[n] = tok[(size_t)j * T + p], sq[n] = j, ps[n] = p, em[n] = 1, n++;
        if (!n) break;
        model_forward_cached(m, n, t, sq, ps, em);
        for (int i = 0; i < n; i++)
            memcpy(cached + ((size_t)sq[i] * T + p) * V, m->gen_logits + (size_t)i * V, sizeof(float) * (size_t)V);
    }
    StWriteTensor w[2] = {{"logits", 3, {B, T, V}, full, NULL, NULL}, {"cached_logits", 3, {B, T, V}, cached, NULL, NULL}};
    st_write_file(out, w, logits ? 2 : 1, ST_F32);
    free(tok), free(len), free(full), free(cached), free(t), free(sq), free(ps), free(em);
    model_destroy(m);
    return 0;
}

int main(int argc, char **argv) {
    const char *model_dir = NULL, *data = NULL, *out = NULL, *loss = "ce";
    const char *init = NULL, *ref_model = NULL;
    int threads = 0, logits = 1, report = 0, rb = 0, rt = 0, repeat = 0, load_only = 0, bench_pref = 0;
    uint32_t base_type = GGML_F32;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc) model_dir = argv[++i];
        else if (!strcmp(argv[i], "--data") && i + 1 < argc) data = argv[++i];
        else if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(argv[i], "--loss") && i + 1 < argc) loss = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-logits")) logits = 0;
        else if (!strcmp(argv[i], "--report-memory")) report = 1;
        else if (!strcmp(argv[i], "--load-only")) load_only = 1;
        else if (!strcmp(argv[i], "--pref")) bench_pref = 1;
        else if (!strcmp(argv[i], "--recompute")) recompute = 1;
        else if (!strcmp(argv[i], "--ref-bf16")) ref_bf16 = 1;
        else if (!strcmp(argv[i], "--dtype") && i + 1 < argc) { /* bf16: the products' inputs rounded (gemm.h) */
            const char *d = argv[++i];
            if (!strcmp(d, "fp32,bf16")) interleave_dtypes = 1;
            else if (strcmp(d, "bf16") && strcmp(d, "fp32")) die("engine_check: --dtype fp32|bf16|fp32,bf16, got %s", d);
            gemm_set_dtype(strcmp(d, "bf16") == 0 ? GEMM_BF16 : GEMM_F32);
        }
        else if (!strcmp(argv[i], "--lora-r") && i + 1 < argc) lora.r = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--lora-alpha") && i + 1 < argc) lora.alpha = atof(argv[++i]);
        else if (!strcmp(argv[i], "--lora-dropout") && i + 1 < argc) lora.dropout = atof(argv[++i]);
        else if (!strcmp(argv[i], "--lora-targets") && i + 1 < argc) lora.targets = lora_parse_targets(argv[++i], "engine_check");
        else if (!strcmp(argv[i], "--rslora")) lora.rslora = 1;
        else if (!strcmp(argv[i], "--adapter") && i + 1 < argc) adapter_dir = argv[++i];
        else if (!strcmp(argv[i], "--ref-adapter") && i + 1 < argc) ref_adapter = argv[++i];
        else if (!strcmp(argv[i], "--cached-logits") && i + 1 < argc) cached_split = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--base-dtype") && i + 1 < argc) {
            const char *t = argv[++i];
            base_type = !strcmp(t, "bf16") ? GGML_BF16 : !strcmp(t, "f16") ? GGML_F16 : !strcmp(t, "q8_0") ? GGML_Q8_0 : GGML_F32;
        }
        else if (!strcmp(argv[i], "--ref-model") && i + 1 < argc) ref_model = argv[++i];
        else if (!strcmp(argv[i], "--init") && i + 1 < argc) init = argv[++i];
        else if (!strcmp(argv[i], "--random-batch") && i + 1 < argc) sscanf(argv[++i], "%d,%d", &rb, &rt);
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc) repeat = atoi(argv[++i]);
        else die("engine_check: unknown argument %s", argv[i]);
    }
    if (threads > 0) omp_set_num_threads(threads);
    if (init || (model_dir && repeat > 0))
        return benchmark(init, init ? NULL : model_dir, base_type, bench_pref ? 2 * rb : rb, rt, repeat, bench_pref);
    if (interleave_dtypes) die("engine_check: --dtype fp32,bf16 is for the step benchmark (--init or --model with --repeat)");
    if (load_only && model_dir) return load_benchmark(model_dir);
    if (!model_dir || !data || !out) die("usage: engine_check --model DIR --data ROWS.jsonl --out RESULT.safetensors");

    ModelFiles files;
    model_files_open(&files, model_dir); /* a Hugging Face directory or a .gguf file */
    ModelConfig cfg = files.cfg;
    TokenizedRows rows;
    DataOptions dopt = {.vocab_size = cfg.vocab_size, .seq_len = 1 << 30};
    tokenized_rows_load(&rows, data, &dopt);
    int T = 0;
    for (int i = 0; i < rows.n_rows; i++) T = MAX(T, tokenized_row_len(&rows, i));
    RunShape shape = {.batch = rows.n_rows * rows_seqs_per_row(rows.kind), .seq_len = T,
                      .threads = omp_get_max_threads(), .train = 1,
                      .ref = !ref_model ? REF_NONE : ref_bf16 ? REF_BF16 : REF_FP32, .recompute = recompute};
    uint32_t *types = NULL;
    if (cached_split > 0) shape.kv_seqs = shape.batch, shape.train = 0; /* generation: inference only */
    if (lora.r > 0) { /* the base frozen as the file stores it; the adapter is what is trained */
        if (!lora.targets) lora.targets = LORA_ALL_TARGETS;
        if (!lora.alpha) lora.alpha = 2.0 * lora.r;
        lora_check_fits(&lora, &cfg, "engine_check");
        types = xmalloc(sizeof(uint32_t) * P_BASE_KINDS * (size_t)cfg.n_layers);
        model_files_types(&files, types);
        shape.lora = lora;
        shape.base_types = types;
        shape.ref = !ref_adapter ? REF_NONE : strcmp(ref_adapter, "base") == 0 ? REF_BASE : REF_ADAPTER;
    }

#pragma omp parallel
    { /* start the thread pool before measuring the baseline: its stacks are not the arena's */ }
    sgemm_reserve();
    size_t baseline = rss_now_bytes();
    Model m;
    model_create(&m, &cfg, &shape);
    if (ref_model) { /* the reference's weights pass through the parameters into their region */
        ModelFiles rf;
        model_files_open(&rf, ref_model);
        config_check_same(&rf.cfg, rf.config_name, &cfg, files.config_name);
        model_files_load(&rf, &m);
        model_ref_from_params(&m);
        model_files_close(&rf);
    }
    model_files_load(&files, &m);
    if (lora.r > 0) {
        if (adapter_dir) adapter_load(adapter_dir, &m, m.params);
        else model_init_adapter(&m, 1);
        if (shape.ref == REF_ADAPTER) adapter_load(ref_adapter, &m, m.ref_adapter);
        m.dropout_key = 0x5eed;
    }
    DataLoader loader; /* every row in one batch, in file order */
    loader_init(&loader, &rows, rows.n_rows, 0, 0, 0);
    loader_next(&loader, &m);
    Batch *b = &m.batch;
    int N = b->B * b->T;

    if (cached_split > 0) {
        int rc = cached_logits(&m, &loader, &rows, out, logits); /* destroys the model */
        model_files_close(&files);
        return rc;
    }
    if (!strncmp(loss, "pref:", 5)) { /* reference first, then the policy, as training does */
        PrefLoss pl = {LOSS_DPO, 0.1, 0};
        char kind[16];
        if (sscanf(loss + 5, "%15[^:]:%lf", kind, &pl.beta) != 2 || !pref_loss_parse(kind, &pl.kind) ||
            shape.ref == REF_NONE)
            die("engine_check: --loss pref:KIND:BETA needs --ref-model (or --ref-adapter with LoRA)");
        int S = loader.n_spans, n_pairs = S / 2;
        double *ref = xmalloc(sizeof(double) * (size_t)S), *pol = xmalloc(sizeof(double) * (size_t)S);
        double *pair_loss = xmalloc(sizeof(double) * (size_t)n_pairs), L = 0;
        int *cnt = xmalloc(sizeof(int) * (size_t)S), *bounds = xmalloc(sizeof(int) * (size_t)(n_pairs + 1));
        PairLoss *losses = xmalloc(sizeof(PairLoss) * (size_t)n_pairs);
        model_forward_ref(&m);
        memcpy(b->logp, b->ref_logp, sizeof(float) * (size_t)N);
        batch_span_sums(&loader, b, ref, cnt);
        model_zero_grad(&m);
        PrefGrad pg = {&loader, b, pl, ref, 1.0 / n_pairs, pol, cnt, losses, bounds};
        LmGroups groups = pref_grad_groups(&pg);
        model_forward_fused(&m, &groups);
        for (int p = 0; p < n_pairs; p++) pair_loss[p] = losses[p].loss, L += losses[p].loss / n_pairs;
        model_backward(&m);
        write_result(&m, out, L, logits, pair_loss, n_pairs);
        goto done;
    }
    if (!strcmp(loss, "ce-fused")) { /* the SFT path: LM head forward and backward at once */
        int count = 0;
        for (int n = 0; n < N; n++) count += b->targets[n] >= 0;
        for (int n = 0; n < N; n++) b->dlogp[n] = b->targets[n] >= 0 ? -1.0f / (float)count : 0.0f;
        model_zero_grad(&m);
        model_forward_fused(&m, NULL);
        double L = 0;
        for (int n = 0; n < N; n++) L -= b->targets[n] >= 0 ? b->logp[n] / count : 0.0;
        model_backward(&m);
        write_result(&m, out, L, logits, NULL, 0);
        goto done;
    }
    model_forward(&m, 1);
    double L = 0;
    if (!strcmp(loss, "ce")) {
        int count = 0;
        for (int n = 0; n < N; n++) count += b->targets[n] >= 0;
        for (int n = 0; n < N; n++) {
            b->dlogp[n] = b->targets[n] >= 0 ? -1.0f / (float)count : 0.0f;
            L -= b->targets[n] >= 0 ? b->logp[n] / count : 0.0;
        }
    } else if (!strncmp(loss, "rowsum:", 7)) {
        const char *p = loss + 7;
        for (int j = 0; j < b->B; j++) {
            char *end;
            double w = strtod(p, &end);
            if (end == p) die("engine_check: --loss rowsum needs %d weights", b->B);
            p = *end == ',' ? end + 1 : end;
            for (int t = 0; t < b->T; t++) {
                size_t n = (size_t)j * b->T + t;
                b->dlogp[n] = b->targets[n] >= 0 ? (float)w : 0.0f;
                L += b->targets[n] >= 0 ? w * b->logp[n] : 0.0;
            }
        }
    } else {
        die("engine_check: unknown --loss %s", loss);
    }
    model_zero_grad(&m);
    model_backward(&m);
    if (report) {
        size_t peak = rss_peak_bytes();
        printf("memory: plan %zu baseline %zu peak %zu\n", m.arena.plan.total, baseline, peak);
    }

    write_result(&m, out, L, logits, NULL, 0);
done:
    model_destroy(&m);
    model_files_close(&files); /* the rest is the test's own, freed by its exit */
    return 0;
}
