/* source.c: see source.h. */
#include "source.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adapter.h"
#include "common.h"
#include "dist.h"

/* --base-dtype's names: the types a frozen base can be kept in, and whether this program
 * can make them from other weights (else only a file that has them, or a plan). */
static const struct { const char *name; uint32_t type; int encodable; } base_dtypes[] = {
    {"f32", GGML_F32, 1},   {"f16", GGML_F16, 1},   {"bf16", GGML_BF16, 1}, {"q8_0", GGML_Q8_0, 1},
    {"q4_0", GGML_Q4_0, 0}, {"q4_1", GGML_Q4_1, 0}, {"q5_0", GGML_Q5_0, 0}, {"q5_1", GGML_Q5_1, 0},
    {"iq4_nl", GGML_IQ4_NL, 0}, {"q4_k", GGML_Q4_K, 0}, {"q5_k", GGML_Q5_K, 0}, {"q6_k", GGML_Q6_K, 0},
    {"q4_k_m", GGML_Q4_K, 0},
};

/* llama.cpp's Q4_K_M: Q4_K, with Q6_K for the output head and, in the first and last eighth
 * of the layers and every third one between, for attn_v and ffn_down (its use_more_bits). */
static uint32_t q4_k_m_type(ParamKind k, int l, int L) {
    int more = l < L / 8 || l >= 7 * L / 8 || (l - L / 8) % 3 == 2;
    if (k == P_LM_HEAD || ((k == P_WV || k == P_WD) && more)) return GGML_Q6_K;
    return GGML_Q4_K;
}

/* The types of a frozen base: as --model stores them (a model made from the seed: its
 * config's torch_dtype), unless --base-dtype names one. weights: the run will fill them
 * (not a plan), so a type this program cannot encode must be what the file already has. */
static void resolve_base_types(ModelSource *src, const Options *o, int weights) {
    const ModelConfig *c = &src->cfg;
    size_t n = P_BASE_KINDS * (size_t)c->n_layers;
    src->types = xmalloc(sizeof(uint32_t) * n);
    if (src->files.path) model_files_types(&src->files, src->types);
    else {
        const cJSON *td = c->source ? cJSON_GetObjectItemCaseSensitive(c->source, "torch_dtype") : NULL;
        uint32_t t = !cJSON_IsString(td) ? GGML_F32 : !strcmp(td->valuestring, "bfloat16") ? GGML_BF16 :
                     !strcmp(td->valuestring, "float16") ? GGML_F16 : GGML_F32;
        for (size_t i = 0; i < n; i++) src->types[i] = t;
    }
    if (strcmp(o->base_dtype, "stored") == 0) return;
    int which = -1;
    for (size_t i = 0; i < sizeof base_dtypes / sizeof *base_dtypes; i++)
        if (strcasecmp(o->base_dtype, base_dtypes[i].name) == 0) which = (int)i;
    if (which < 0)
        die("--base-dtype must be stored, f32, f16, bf16, q8_0 (or, to plan, q4_0, q4_1, q5_0, q5_1, iq4_nl, q4_k, "
            "q5_k, q6_k, q4_k_m), got \"%s\"", o->base_dtype);
    ParamInfo info[P_KINDS];
    param_layout(c, NULL, 0, info);
    for (int k = 0; k < P_BASE_KINDS; k++)
        for (int l = 0; l < c->n_layers; l++) {
            if (!info[k].present || info[k].ndim != 2) continue;
            uint32_t *t = &src->types[(size_t)k * c->n_layers + l], want = base_dtypes[which].type;
            if (!strcmp(base_dtypes[which].name, "q4_k_m")) want = q4_k_m_type((ParamKind)k, l, c->n_layers);
            if (weights && !base_dtypes[which].encodable && *t != want)
                die("--base-dtype %s: this program cannot quantize %s weights into %s blocks; use a GGUF that has "
                    "them (llama.cpp's llama-quantize), or f32, f16, bf16 or q8_0", o->base_dtype,
                    ggml_type_info(*t)->name, ggml_type_info(want)->name);
            const GgmlTypeInfo *ti = ggml_type_info(want);
            if (info[k].cols % (size_t)ti->block) {
                char name[160];
                param_name((ParamKind)k, l, name, sizeof name);
                die("--base-dtype %s: %s has rows of %zu values, not whole %s blocks of %d", o->base_dtype, name,
                    info[k].cols, ti->name, ti->block);
            }
            *t = want;
        }
}

/* The run's adapter: --adapter's (its adapter_config.json; LoRA flags that contradict it are
 * refused), or a new one from the --lora-* flags. */
static void resolve_lora(ModelSource *src, const Options *o) {
    LoraConfig *l = &src->lora;
    memset(l, 0, sizeof *l);
    if (o->adapter) {
        char *base = NULL;
        adapter_read_config(o->adapter, l, &base);
        char *cfg = path_join(o->adapter, "adapter_config.json");
        char given[64], has[64];
        if (o->lora_r && o->lora_r != l->r) die("--lora-r %d contradicts %s (r %d)", o->lora_r, cfg, l->r);
        if (o->lora_alpha && o->lora_alpha != l->alpha)
            die("--lora-alpha %g contradicts %s (lora_alpha %g)", o->lora_alpha, cfg, l->alpha);
        if (o->lora_targets && lora_parse_targets(o->lora_targets, "--lora-targets") != l->targets) {
            lora_targets_string(lora_parse_targets(o->lora_targets, "--lora-targets"), given, sizeof given);
            lora_targets_string(l->targets, has, sizeof has);
            die("--lora-targets %s contradicts %s (%s)", given, cfg, has);
        }
        if (o->use_rslora && !l->rslora) die("--use-rslora contradicts %s (use_rslora false)", cfg);
        /* dropout is a training choice (TRL's DPO turns it off), not the adapter's; elsewhere the
         * adapter keeps what its config says, so a rewritten adapter says it too */
        if (strcmp(o->stage, "sft") == 0 || strcmp(o->stage, "pref") == 0) l->dropout = o->lora_dropout;
        lora_check_fits(l, &src->cfg, cfg);
        adapter_check_files(o->adapter, &src->cfg, l);
        src->adapter = xstrdup(o->adapter);
        src->base_model = base;
        free(cfg);
        return;
    }
    if (o->lora_r <= 0) return;
    l->r = o->lora_r;
    l->alpha = o->lora_alpha > 0 ? o->lora_alpha : 2.0 * o->lora_r;
    l->dropout = o->lora_dropout;
    l->targets = lora_parse_targets(o->lora_targets, "--lora-targets");
    l->rslora = o->use_rslora;
    lora_check_fits(l, &src->cfg, "--lora-r");
}

char *absolute_path(const char *p) {
    char *r = realpath(p, NULL);
    return r ? r : xstrdup(p);
}

void source_resolve(ModelSource *src, const Options *o, int weights) {
    memset(src, 0, sizeof *src);
    if (o->model) {
        if (o->model_config) { /* a run config that names an architecture must match the model */
            ModelConfig rc, mc;
            config_from_json(&rc, o->model_config, o->config_path);
            char *cj = path_join(o->model, "config.json");
            if (path_is_dir(o->model)) {
                config_load_file(&mc, cj);
                config_check_same(&mc, cj, &rc, o->config_path);
                cJSON_Delete(mc.source);
            }
            free(cj);
            model_files_open(&src->files, o->model);
            config_check_same(&src->files.cfg, src->files.config_name, &rc, o->config_path);
            cJSON_Delete(rc.source); /* only compared */
        } else {
            model_files_open(&src->files, o->model);
        }
        src->cfg = src->files.cfg;
        src->config_name = xstrdup(src->files.config_name);
    } else if (o->model_config) {
        src->config_name = xsprintf("%s (model_config)", o->config_path);
        config_from_json(&src->cfg, o->model_config, src->config_name);
    } else {
        src->config_name = repo_path("configs/default-model.json");
        config_load_file(&src->cfg, src->config_name);
    }
    resolve_base_types(src, o, weights);
    resolve_lora(src, o);
    if ((strcmp(o->stage, "sft") == 0 || strcmp(o->stage, "pref") == 0) && src->lora.r == 0 &&
        strcmp(o->base_dtype, "stored") != 0)
        die("--base-dtype %s keeps a frozen base (LoRA, eval, generate, convert); full fine-tuning trains every "
            "weight in fp32 (add --lora-r R to train an adapter on a frozen base)", o->base_dtype);
    if (!src->base_model && o->model) src->base_model = absolute_path(o->model);
}

void source_free(ModelSource *src) {
    if (!src->files.path) cJSON_Delete(src->cfg.source); /* else the files' config owns it */
    model_files_close(&src->files);
    free(src->config_name), free(src->types), free(src->adapter), free(src->base_model);
    memset(src, 0, sizeof *src);
}

void source_load(ModelSource *src, Model *m, const Options *o) {
    if (src->files.path) model_files_load(&src->files, m);
    else model_init_random(m, (uint64_t)o->seed);
    if (m->shape.lora.r > 0) {
        if (src->adapter) adapter_load(src->adapter, m, m->params);
        else model_init_adapter(m, (uint64_t)o->seed);
    }
}

int stage_is_training(const Options *o) { return strcmp(o->stage, "sft") == 0 || strcmp(o->stage, "pref") == 0; }

RunShape source_shape(const Options *o, const ModelSource *src, int pref, int seq_len) {
    RunShape s = {0};
    /* data parallel training: each rank holds its share of every batch (dist.h) */
    int rows = stage_is_training(o) ? (o->batch_size + dist_size() - 1) / dist_size() : o->batch_size;
    s.batch = rows * (pref ? 2 : 1);
    s.seq_len = seq_len;
    s.threads = o->threads;
    s.lora = src->lora;
    if (stage_is_training(o)) {
        s.train = 1;
        s.adam = 1;
        s.recompute = o->recompute;
        if (pref && o->precompute_ref) s.ref = REF_NONE;
        else if (pref && s.lora.r > 0) s.ref = src->adapter ? REF_ADAPTER : REF_BASE;
        else if (pref) s.ref = strcmp(o->ref_dtype, "bf16") == 0 ? REF_BF16 : REF_FP32;
        s.pairs = pref;
    }
    if (!s.train || s.lora.r > 0) s.base_types = src->types;
    return s;
}

Tokenizer *source_tokenizer(const Options *o, int required) {
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
    char *dir = repo_path("data/tokenizer");
    Tokenizer *t = tokenizer_load(dir);
    free(dir);
    return t;
}

