/* config.c: Hugging Face config.json <-> ModelConfig. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

const char *config_arch_name(ModelArch a) { return a == ARCH_QWEN2 ? "qwen2" : "llama"; }

static const cJSON *field(const cJSON *j, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return (v && !cJSON_IsNull(v)) ? v : NULL;
}

static int get_int(const cJSON *j, const char *key, int required, int dflt, const char *where) {
    const cJSON *v = field(j, key);
    if (!v) {
        if (required) die("%s: missing \"%s\"", where, key);
        return dflt;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || fabs(v->valuedouble) > 2147483647.0)
        die("%s: \"%s\" must be an integer", where, key);
    return (int)v->valuedouble;
}

static double get_num(const cJSON *j, const char *key, int required, double dflt, const char *where) {
    const cJSON *v = field(j, key);
    if (!v) {
        if (required) die("%s: missing \"%s\"", where, key);
        return dflt;
    }
    if (!cJSON_IsNumber(v)) die("%s: \"%s\" must be a number", where, key);
    return v->valuedouble;
}

static int get_bool(const cJSON *j, const char *key, int dflt, const char *where) {
    const cJSON *v = field(j, key);
    if (!v) return dflt;
    if (!cJSON_IsBool(v)) die("%s: \"%s\" must be true or false", where, key);
    return cJSON_IsTrue(v);
}

static void require_positive(int v, const char *key, const char *where) {
    if (v <= 0) die("%s: \"%s\" must be positive (got %d)", where, key, v);
}

void config_from_json(ModelConfig *c, const cJSON *j, const char *where) {
    memset(c, 0, sizeof *c);
    if (!cJSON_IsObject(j)) die("%s: expected a JSON object", where);

    const cJSON *mt = field(j, "model_type");
    const char *type = cJSON_IsString(mt) ? mt->valuestring : NULL;
    if (!type) {
        const cJSON *archs = field(j, "architectures");
        const cJSON *a0 = cJSON_IsArray(archs) ? cJSON_GetArrayItem(archs, 0) : NULL;
        if (cJSON_IsString(a0) && strcmp(a0->valuestring, "Qwen2ForCausalLM") == 0) type = "qwen2";
        else if (cJSON_IsString(a0) && strcmp(a0->valuestring, "LlamaForCausalLM") == 0) type = "llama";
        else die("%s: missing \"model_type\" (expected \"qwen2\" or \"llama\")", where);
    }
    if (strcmp(type, "qwen2") == 0) c->arch = ARCH_QWEN2;
    else if (strcmp(type, "llama") == 0) c->arch = ARCH_LLAMA;
    else die("%s: model_type \"%s\" is not supported (expected \"qwen2\" or \"llama\")", where, type);

    c->dim = get_int(j, "hidden_size", 1, 0, where);
    c->n_layers = get_int(j, "num_hidden_layers", 1, 0, where);
    c->n_heads = get_int(j, "num_attention_heads", 1, 0, where);
    c->n_kv_heads = get_int(j, "num_key_value_heads", 0, c->n_heads, where);
    c->ffn_dim = get_int(j, "intermediate_size", 1, 0, where);
    c->vocab_size = get_int(j, "vocab_size", 1, 0, where);
    c->max_pos = get_int(j, "max_position_embeddings", 0, 0, where);
    require_positive(c->dim, "hidden_size", where);
    require_positive(c->n_layers, "num_hidden_layers", where);
    require_positive(c->n_heads, "num_attention_heads", where);
    require_positive(c->n_kv_heads, "num_key_value_heads", where);
    require_positive(c->ffn_dim, "intermediate_size", where);
    require_positive(c->vocab_size, "vocab_size", where);
    if (c->n_heads % c->n_kv_heads != 0)
        die("%s: num_attention_heads (%d) is not a multiple of num_key_value_heads (%d)", where, c->n_heads,
            c->n_kv_heads);
    if (field(j, "head_dim")) {
        c->head_dim = get_int(j, "head_dim", 1, 0, where);
        require_positive(c->head_dim, "head_dim", where);
    } else {
        if (c->dim % c->n_heads != 0)
            die("%s: hidden_size (%d) is not a multiple of num_attention_heads (%d)", where, c->dim, c->n_heads);
        c->head_dim = c->dim / c->n_heads;
    }
    if (c->head_dim % 2 != 0) die("%s: head_dim (%d) must be even for RoPE", where, c->head_dim);

    c->rope_theta = get_num(j, "rope_theta", 0, 10000.0, where);
    if (!(c->rope_theta > 0)) die("%s: \"rope_theta\" must be positive", where);
    c->norm_eps = get_num(j, "rms_norm_eps", 0, 1e-6, where);
    if (!(c->norm_eps > 0)) die("%s: \"rms_norm_eps\" must be positive", where);
    c->init_std = get_num(j, "initializer_range", 0, 0.02, where);
    c->tie_embeddings = get_bool(j, "tie_word_embeddings", 0, where);
    /* Qwen2Attention hard-codes bias=True on q/k/v; Llama reads attention_bias. */
    c->qkv_bias = c->arch == ARCH_QWEN2 ? 1 : get_bool(j, "attention_bias", 0, where);
    if (get_bool(j, "mlp_bias", 0, where)) die("%s: \"mlp_bias\": true is not supported", where);
    if (get_bool(j, "use_sliding_window", 0, where))
        die("%s: \"use_sliding_window\": true is not supported (full causal attention only)", where);
    const cJSON *act = field(j, "hidden_act");
    if (act && (!cJSON_IsString(act) || strcmp(act->valuestring, "silu") != 0))
        die("%s: \"hidden_act\" must be \"silu\"", where);

    c->bos_token_id = get_int(j, "bos_token_id", 0, -1, where);
    const cJSON *eos = field(j, "eos_token_id");
    if (cJSON_IsArray(eos)) { /* Llama-3 Instruct lists several; the first is the primary one */
        const cJSON *e0 = cJSON_GetArrayItem(eos, 0);
        if (cJSON_IsNumber(e0) && (e0->valuedouble != floor(e0->valuedouble) || fabs(e0->valuedouble) > 2147483647.0))
            die("%s: \"eos_token_id\" must hold integers", where);
        c->eos_token_id = cJSON_IsNumber(e0) ? (int)e0->valuedouble : -1;
    } else {
        c->eos_token_id = get_int(j, "eos_token_id", 0, -1, where);
    }

    const cJSON *rs = field(j, "rope_scaling");
    if (rs) {
        if (!cJSON_IsObject(rs)) die("%s: \"rope_scaling\" must be an object or null", where);
        const cJSON *t = field(rs, "rope_type");
        if (!t) t = field(rs, "type");
        if (!cJSON_IsString(t)) die("%s: rope_scaling needs a \"rope_type\"", where);
        if (strcmp(t->valuestring, "default") == 0) {
            c->rope_scaling = ROPE_SCALING_NONE;
        } else if (strcmp(t->valuestring, "linear") == 0) {
            c->rope_scaling = ROPE_SCALING_LINEAR;
            c->rope_factor = get_num(rs, "factor", 1, 0, where);
        } else if (strcmp(t->valuestring, "llama3") == 0) {
            c->rope_scaling = ROPE_SCALING_LLAMA3;
            c->rope_factor = get_num(rs, "factor", 1, 0, where);
            c->rope_low_freq_factor = get_num(rs, "low_freq_factor", 1, 0, where);
            c->rope_high_freq_factor = get_num(rs, "high_freq_factor", 1, 0, where);
            c->rope_orig_max_pos = get_int(rs, "original_max_position_embeddings", 1, 0, where);
            if (!(c->rope_high_freq_factor > c->rope_low_freq_factor) || c->rope_orig_max_pos <= 0)
                die("%s: rope_scaling llama3 needs high_freq_factor > low_freq_factor and a positive "
                    "original_max_position_embeddings", where);
        } else {
            die("%s: rope_scaling type \"%s\" is not supported (default, linear, llama3)", where, t->valuestring);
        }
        if (c->rope_scaling != ROPE_SCALING_NONE && !(c->rope_factor > 0))
            die("%s: rope_scaling \"factor\" must be positive", where);
    }
    c->source = cJSON_Duplicate(j, 1);
}

void config_load_file(ModelConfig *c, const char *path) {
    if (!path_is_file(path)) die("%s: no such file (a model directory needs config.json)", path);
    cJSON *j = json_parse_file(path);
    config_from_json(c, j, path);
    cJSON_Delete(j);
}

static void set_item(cJSON *o, const char *key, cJSON *v) {
    if (cJSON_GetObjectItemCaseSensitive(o, key)) cJSON_ReplaceItemInObjectCaseSensitive(o, key, v);
    else cJSON_AddItemToObject(o, key, v);
}

cJSON *config_to_json(const ModelConfig *c, const char *torch_dtype) {
    cJSON *o = c->source ? cJSON_Duplicate(c->source, 1) : cJSON_CreateObject();
    int q = c->arch == ARCH_QWEN2;
    cJSON *archs = cJSON_CreateArray();
    cJSON_AddItemToArray(archs, cJSON_CreateString(q ? "Qwen2ForCausalLM" : "LlamaForCausalLM"));
    set_item(o, "architectures", archs);
    set_item(o, "model_type", cJSON_CreateString(config_arch_name(c->arch)));
    set_item(o, "hidden_size", cJSON_CreateNumber(c->dim));
    set_item(o, "num_hidden_layers", cJSON_CreateNumber(c->n_layers));
    set_item(o, "num_attention_heads", cJSON_CreateNumber(c->n_heads));
    set_item(o, "num_key_value_heads", cJSON_CreateNumber(c->n_kv_heads));
    if (c->head_dim != c->dim / c->n_heads || cJSON_GetObjectItemCaseSensitive(o, "head_dim"))
        set_item(o, "head_dim", cJSON_CreateNumber(c->head_dim));
    set_item(o, "intermediate_size", cJSON_CreateNumber(c->ffn_dim));
    set_item(o, "vocab_size", cJSON_CreateNumber(c->vocab_size));
    if (c->max_pos > 0) set_item(o, "max_position_embeddings", cJSON_CreateNumber(c->max_pos));
    set_item(o, "rope_theta", cJSON_CreateNumber(c->rope_theta));
    set_item(o, "rms_norm_eps", cJSON_CreateNumber(c->norm_eps));
    set_item(o, "tie_word_embeddings", cJSON_CreateBool(c->tie_embeddings));
    set_item(o, "hidden_act", cJSON_CreateString("silu"));
    set_item(o, "initializer_range", cJSON_CreateNumber(c->init_std));
    if (!q) set_item(o, "attention_bias", cJSON_CreateBool(c->qkv_bias));
    if (torch_dtype) set_item(o, "torch_dtype", cJSON_CreateString(torch_dtype));
    if (c->bos_token_id >= 0 && !cJSON_GetObjectItemCaseSensitive(o, "bos_token_id"))
        set_item(o, "bos_token_id", cJSON_CreateNumber(c->bos_token_id));
    if (c->eos_token_id >= 0 && !cJSON_GetObjectItemCaseSensitive(o, "eos_token_id"))
        set_item(o, "eos_token_id", cJSON_CreateNumber(c->eos_token_id));
    ModelConfig expressed = *c;
    if (c->rope_freq_factors) {
        expressed.rope_freq_factors = xmalloc(sizeof(float) * (size_t)(c->head_dim / 2));
        memcpy(expressed.rope_freq_factors, c->rope_freq_factors, sizeof(float) * (size_t)(c->head_dim / 2));
        if (!config_factors_to_llama3(&expressed))
            die("the model's RoPE frequency factors (GGUF rope_freqs) are not llama3 scaling; config.json "
                "cannot express them");
        c = &expressed;
    }
    if (c->rope_scaling == ROPE_SCALING_NONE) {
        set_item(o, "rope_scaling", cJSON_CreateNull());
    } else {
        cJSON *rs = cJSON_CreateObject();
        cJSON_AddStringToObject(rs, "rope_type", c->rope_scaling == ROPE_SCALING_LINEAR ? "linear" : "llama3");
        cJSON_AddNumberToObject(rs, "factor", c->rope_factor);
        if (c->rope_scaling == ROPE_SCALING_LLAMA3) {
            cJSON_AddNumberToObject(rs, "low_freq_factor", c->rope_low_freq_factor);
            cJSON_AddNumberToObject(rs, "high_freq_factor", c->rope_high_freq_factor);
            cJSON_AddNumberToObject(rs, "original_max_position_embeddings", c->rope_orig_max_pos);
        }
        set_item(o, "rope_scaling", rs);
    }
    return o;
}

void config_check_same(const ModelConfig *a, const char *an, const ModelConfig *b, const char *bn) {
#define SAME(f, key)                                                                                       \
    if (a->f != b->f) die("%s and %s disagree on %s (%g vs %g)", an, bn, key, (double)a->f, (double)b->f);
    if (a->arch != b->arch)
        die("%s and %s disagree on model_type (%s vs %s)", an, bn, config_arch_name(a->arch),
            config_arch_name(b->arch));
    SAME(dim, "hidden_size")
    SAME(n_layers, "num_hidden_layers")
    SAME(n_heads, "num_attention_heads")
    SAME(n_kv_heads, "num_key_value_heads")
    SAME(head_dim, "head_dim")
    SAME(ffn_dim, "intermediate_size")
    SAME(vocab_size, "vocab_size")
    SAME(qkv_bias, "attention bias")
    SAME(tie_embeddings, "tie_word_embeddings")
    /* a GGUF stores these as float32: agreement is agreement at that precision */
    if ((float)a->rope_theta != (float)b->rope_theta)
        die("%s and %s disagree on rope_theta (%.9g vs %.9g)", an, bn, a->rope_theta, b->rope_theta);
    if ((float)a->norm_eps != (float)b->norm_eps)
        die("%s and %s disagree on rms_norm_eps (%.9g vs %.9g)", an, bn, a->norm_eps, b->norm_eps);
    SAME(rope_scaling, "rope_scaling")
    if ((a->rope_freq_factors != NULL) != (b->rope_freq_factors != NULL))
        die("%s and %s disagree on RoPE frequency factors (rope_freqs)", an, bn);
#undef SAME
}

void config_rope_inv_freq(const ModelConfig *c, float *inv_freq) {
    int half = c->head_dim / 2;
    for (int i = 0; i < half; i++) {
        /* transformers: 1 / base ** (arange(0, D, 2).float() / D), all in fp32 */
        float expo = (float)(2 * i) / (float)c->head_dim;
        float f = 1.0f / powf((float)c->rope_theta, expo);
        if (c->rope_scaling == ROPE_SCALING_LINEAR) {
            f = f / (float)c->rope_factor;
        } else if (c->rope_scaling == ROPE_SCALING_LLAMA3) {
            float factor = (float)c->rope_factor, lo = (float)c->rope_low_freq_factor,
                  hi = (float)c->rope_high_freq_factor, old_ctx = (float)c->rope_orig_max_pos;
            float low_wavelen = old_ctx / lo, high_wavelen = old_ctx / hi;
            float wavelen = 2.0f * (float)M_PI / f;
            if (wavelen < high_wavelen) {
                /* high frequency: unchanged */
            } else if (wavelen > low_wavelen) {
                f = f / factor; /* low frequency: scaled down */
            } else {            /* in between: a smooth blend of the two */
                float s = (old_ctx / wavelen - lo) / (hi - lo);
                f = (1.0f - s) * f / factor + s * f;
            }
        }
        if (c->rope_freq_factors) f = f / c->rope_freq_factors[i];
        inv_freq[i] = f;
    }
}

int config_factors_to_llama3(ModelConfig *c) {
    if (!c->rope_freq_factors) return 1;
    int half = c->head_dim / 2;
    ModelConfig plain_cfg = *c;
    plain_cfg.rope_freq_factors = NULL;
    plain_cfg.rope_scaling = ROPE_SCALING_NONE;
    float *plain = xmalloc(sizeof(float) * (size_t)half), *scaled = xmalloc(sizeof(float) * (size_t)half);
    config_rope_inv_freq(&plain_cfg, plain);
    /* Llama-3.1's fixed parameters; the factor is read off the first frequency it changes:
     * a low frequency is divided by it, a blended one by 1 / ((1 - s) / factor + s). */
    ModelConfig t = plain_cfg;
    t.rope_scaling = ROPE_SCALING_LLAMA3;
    t.rope_low_freq_factor = 1.0;
    t.rope_high_freq_factor = 4.0;
    t.rope_orig_max_pos = 8192;
    t.rope_factor = 0;
    double low_wavelen = 8192.0, high_wavelen = 8192.0 / 4.0;
    for (int i = 0; i < half && t.rope_factor == 0; i++) {
        double ff = c->rope_freq_factors[i], wl = 2.0 * M_PI / plain[i];
        if (ff == 1.0 || wl < high_wavelen) continue;
        if (wl > low_wavelen) t.rope_factor = ff;
        else {
            double s = (8192.0 / wl - 1.0) / (4.0 - 1.0);
            t.rope_factor = (1.0 - s) / (1.0 / ff - s);
        }
        t.rope_factor = round(t.rope_factor * 1e4) / 1e4; /* 8, not 7.99999 */
    }
    int ok;
    if (t.rope_factor == 0) { /* every factor is 1: no scaling at all */
        ok = 1;
        for (int i = 0; i < half; i++) ok &= c->rope_freq_factors[i] == 1.0f;
        t.rope_scaling = ROPE_SCALING_NONE;
    } else {
        config_rope_inv_freq(&t, scaled);
        ok = 1;
        for (int i = 0; i < half && ok; i++)
            ok = fabsf(plain[i] / scaled[i] - c->rope_freq_factors[i]) <= 1e-5f * c->rope_freq_factors[i];
    }
    free(plain);
    free(scaled);
    if (ok) {
        free(c->rope_freq_factors);
        *c = t;
    }
    return ok;
}

long long config_param_count(const ModelConfig *c) {
    long long E = c->dim, Hq = (long long)c->n_heads * c->head_dim, Hkv = (long long)c->n_kv_heads * c->head_dim;
    long long per_layer = 2 * E + E * Hq * 2 + E * Hkv * 2 + 3 * E * (long long)c->ffn_dim;
    if (c->qkv_bias) per_layer += Hq + 2 * Hkv;
    long long n = (long long)c->vocab_size * E + per_layer * c->n_layers + E;
    if (!c->tie_embeddings) n += (long long)c->vocab_size * E;
    return n;
}
