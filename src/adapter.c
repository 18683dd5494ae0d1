/* adapter.c: see adapter.h. Facts from FORMATS.md section 9 (PEFT 0.13-0.20, llama.cpp). */
#include "adapter.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "gguf.h"

/* ---------------------------------------------------------------- targets */

static const char *const short_names[LORA_TARGETS] = {"q", "k", "v", "o", "gate", "up", "down"};

static int target_of(const char *name) {
    for (int t = 0; t < LORA_TARGETS; t++)
        if (strcmp(name, short_names[t]) == 0 || strcmp(name, lora_target_names[t]) == 0) return t;
    return -1;
}

unsigned lora_parse_targets(const char *list, const char *where) {
    if (!list || strcmp(list, "all-linear") == 0 || strcmp(list, "all") == 0) return LORA_ALL_TARGETS;
    unsigned set = 0;
    char *copy = xstrdup(list), *save = NULL;
    for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        int t = target_of(tok);
        if (t < 0)
            die("%s: unknown LoRA target \"%s\" (q, k, v, o, gate, up, down, or all-linear; the LM head and the "
                "embedding are not adapted)", where, tok);
        set |= 1u << t;
    }
    free(copy);
    if (!set) die("%s: no LoRA target named", where);
    return set;
}

void lora_targets_string(unsigned targets, char *buf, size_t size) {
    size_t used = 0;
    buf[0] = 0;
    for (int t = 0; t < LORA_TARGETS && used < size; t++)
        if (targets >> t & 1u) used += (size_t)snprintf(buf + used, size - used, "%s%s", used ? "," : "", short_names[t]);
}

void lora_check_fits(const LoraConfig *l, const ModelConfig *c, const char *where) {
    ParamInfo info[P_KINDS];
    LoraConfig one = *l;
    one.r = 1; /* the layers' own widths, whatever the rank asked */
    param_layout(c, &one, 1, info);
    if (l->r < 1) die("%s: the LoRA rank must be at least 1 (got %d)", where, l->r);
    for (int t = 0; t < LORA_TARGETS; t++) {
        if (!(l->targets >> t & 1u)) continue;
        size_t in = info[lora_a_kind((LoraTarget)t)].cols, out = info[lora_b_kind((LoraTarget)t)].rows;
        if ((size_t)l->r > MIN(in, out))
            die("%s: LoRA rank %d is larger than %s (%zu -> %zu): a rank above min(in, out) adds nothing", where, l->r,
                lora_target_names[t], in, out);
    }
    if (!(l->alpha > 0)) die("%s: lora_alpha must be positive", where);
    if (l->dropout < 0 || l->dropout >= 1) die("%s: lora_dropout must be in [0, 1)", where);
}

/* ---------------------------------------------------------------- PEFT's directory */

int adapter_dir_is(const char *dir) {
    char *p = path_join(dir, "adapter_config.json");
    int yes = path_is_file(p);
    free(p);
    return yes;
}

static const cJSON *key(const cJSON *j, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    return v && !cJSON_IsNull(v) ? v : NULL;
}

/* A key PEFT may carry that this program cannot honour must hold its neutral value. */
static int empty_value(const cJSON *v) {
    return !v || cJSON_IsFalse(v) || (cJSON_IsObject(v) && !v->child) || (cJSON_IsArray(v) && !v->child);
}

void adapter_read_config(const char *dir, LoraConfig *l, char **base_model) {
    char *path = path_join(dir, "adapter_config.json");
    if (!path_is_file(path))
        die("%s: no adapter_config.json here; --adapter takes a LoRA adapter directory (a full fine-tuning "
            "checkpoint is a model: pass it as --model)", dir);
    cJSON *j = json_parse_file(path);
    if (!cJSON_IsObject(j)) die("%s: expected a JSON object", path);
    const cJSON *pt = key(j, "peft_type");
    if (!cJSON_IsString(pt)) die("%s: \"peft_type\" is missing: not a PEFT adapter", path);
    if (strcmp(pt->valuestring, "LORA") != 0) die("%s: peft_type is \"%s\"; only LoRA adapters (\"LORA\") are supported", path, pt->valuestring);
    const cJSON *r = key(j, "r"), *alpha = key(j, "lora_alpha"), *drop = key(j, "lora_dropout");
    if (!cJSON_IsNumber(r) || r->valuedouble != floor(r->valuedouble) || r->valuedouble < 1 || r->valuedouble > 65536)
        die("%s: \"r\" must be a positive integer (the rank)", path);
    memset(l, 0, sizeof *l);
    l->r = (int)r->valuedouble;
    l->alpha = alpha ? (cJSON_IsNumber(alpha) ? alpha->valuedouble : -1) : 8; /* PEFT's default */
    l->dropout = drop ? (cJSON_IsNumber(drop) ? drop->valuedouble : -1) : 0;
    if (!(l->alpha > 0)) die("%s: \"lora_alpha\" must be a positive number", path);
    if (l->dropout < 0 || l->dropout >= 1) die("%s: \"lora_dropout\" must be a number in [0, 1)", path);
    const cJSON *rs = key(j, "use_rslora");
    if (rs && !cJSON_IsBool(rs)) die("%s: \"use_rslora\" must be true or false", path);
    l->rslora = cJSON_IsTrue(rs);
    const cJSON *tm = key(j, "target_modules");
    if (cJSON_IsString(tm)) {
        if (strcmp(tm->valuestring, "all-linear") != 0)
            die("%s: target_modules \"%s\": only a list of module names or \"all-linear\" is understood", path,
                tm->valuestring);
        l->targets = LORA_ALL_TARGETS;
    } else if (cJSON_IsArray(tm) && tm->child) {
        for (const cJSON *e = tm->child; e; e = e->next) {
            if (!cJSON_IsString(e)) die("%s: target_modules must hold strings", path);
            const char *dot = strrchr(e->valuestring, '.'); /* PEFT matches the last name: "self_attn.q_proj" too */
            int t = target_of(dot ? dot + 1 : e->valuestring);
            if (t < 0)
                die("%s: target module \"%s\" is not one this program adapts (q_proj, k_proj, v_proj, o_proj, gate_proj, "
                    "up_proj, down_proj)", path, e->valuestring);
            l->targets |= 1u << t;
        }
    } else {
        die("%s: \"target_modules\" must be a non-empty list of module names or \"all-linear\"", path);
    }
    /* what PEFT can express and this program does not do: refused, never silently dropped */
    static const char *const unsupported[] = {"use_dora", "rank_pattern", "alpha_pattern", "layers_to_transform",
                                              "modules_to_save", "fan_in_fan_out", "layer_replication"};
    for (size_t i = 0; i < sizeof unsupported / sizeof *unsupported; i++)
        if (!empty_value(key(j, unsupported[i])))
            die("%s: \"%s\" is set; this program applies plain LoRA only", path, unsupported[i]);
    const cJSON *bias = key(j, "bias");
    if (bias && !(cJSON_IsString(bias) && strcmp(bias->valuestring, "none") == 0))
        die("%s: \"bias\" must be \"none\" (trained biases are not supported)", path);
    const cJSON *bm = key(j, "base_model_name_or_path");
    *base_model = cJSON_IsString(bm) && bm->valuestring[0] ? xstrdup(bm->valuestring) : NULL;
    cJSON_Delete(j);
    free(path);
}

static void shape_string(char *buf, size_t n, const int64_t *shape, int ndim) {
    if (ndim == 2) snprintf(buf, n, "[%lld, %lld]", (long long)shape[0], (long long)shape[1]);
    else snprintf(buf, n, "(%d dimensions)", ndim);
}

/* Every tensor the config implies is in s with its shape and a float dtype, and nothing else. */
static void check_tensors(const StSet *s, const char *path, const ModelConfig *c, const LoraConfig *l) {
    ParamInfo info[P_KINDS];
    param_layout(c, l, 1, info);
    int L = c->n_layers, expected = 0;
    for (int k = P_BASE_KINDS; k < P_KINDS; k++) {
        const ParamInfo *p = &info[k];
        if (!p->present) continue;
        for (int li = 0; li < L; li++, expected++) {
            char name[160];
            param_name((ParamKind)k, li, name, sizeof name);
            const StTensor *t = st_find(s, name);
            if (!t) die("%s: tensor \"%s\" is missing (adapter_config.json implies it)", path, name);
            if (t->ndim != 2 || t->shape[0] != (int64_t)p->rows || t->shape[1] != (int64_t)p->cols) {
                char got[64], want[64];
                shape_string(got, sizeof got, t->shape, t->ndim);
                shape_string(want, sizeof want, (int64_t[]){(int64_t)p->rows, (int64_t)p->cols}, 2);
                die("%s: tensor \"%s\" has shape %s, but rank %d on this base implies %s", path, name, got, l->r, want);
            }
            if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16)
                die("%s: tensor \"%s\" has dtype %s; adapters must be F32, F16 or BF16", path, name, t->dtype_name);
        }
    }
    if (s->n_tensors == expected) return;
    for (int i = 0; i < s->n_tensors; i++) { /* something the config does not account for: name it */
        int known = 0;
        for (int k = P_BASE_KINDS; k < P_KINDS && !known; k++)
            for (int li = 0; li < L && info[k].present && !known; li++) {
                char name[160];
                param_name((ParamKind)k, li, name, sizeof name);
                known = strcmp(name, s->tensors[i].name) == 0;
            }
        if (!known)
            die("%s: tensor \"%s\" is not part of the adapter adapter_config.json describes on this base", path,
                s->tensors[i].name);
    }
}

static char *weights_path(const char *dir) {
    char *path = path_join(dir, "adapter_model.safetensors");
    if (!path_is_file(path)) die("%s: no adapter_model.safetensors next to adapter_config.json", dir);
    return path;
}

void adapter_check_files(const char *dir, const ModelConfig *c, const LoraConfig *l) {
    char *path = weights_path(dir);
    StSet s;
    st_open(&s, path); /* headers only */
    check_tensors(&s, path, c, l);
    st_close(&s);
    free(path);
}

void adapter_load(const char *dir, const Model *m, float *dst) {
    char *path = weights_path(dir);
    StSet s;
    st_open(&s, path);
    check_tensors(&s, path, &m->cfg, &m->shape.lora);
    for (int k = P_BASE_KINDS; k < P_KINDS; k++)
        for (int li = 0; li < m->cfg.n_layers && m->info[k].present; li++) {
            char name[160];
            param_name((ParamKind)k, li, name, sizeof name);
            st_read_f32(&s, st_find(&s, name), dst + param_offset(m, (ParamKind)k, li));
        }
    st_close(&s);
    free(path);
}

/* Python's json.dumps(obj, indent=2, sort_keys=True), which PEFT's save_pretrained uses,
 * for the values an adapter config holds. */
static int cmp_keys(const void *a, const void *b) {
    return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

static void json_number(FILE *f, double v) {
    if (v == floor(v) && fabs(v) < 1e15) {
        fprintf(f, "%.0f", v);
        return;
    }
    char buf[32];
    for (int prec = 1; prec <= 17; prec++) { /* the shortest text that reads back the same, as repr */
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    fputs(buf, f);
}

static void json_sorted(FILE *f, const cJSON *j, int depth) {
    if (cJSON_IsObject(j) || cJSON_IsArray(j)) {
        int n = cJSON_GetArraySize(j), obj = cJSON_IsObject(j);
        if (!n) {
            fputs(obj ? "{}" : "[]", f);
            return;
        }
        const cJSON **items = xmalloc(sizeof *items * (size_t)n);
        int i = 0;
        for (const cJSON *e = j->child; e; e = e->next) items[i++] = e;
        if (obj) qsort(items, (size_t)n, sizeof *items, cmp_keys);
        fputs(obj ? "{\n" : "[\n", f);
        for (i = 0; i < n; i++) {
            fprintf(f, "%*s", 2 * (depth + 1), "");
            if (obj) {
                json_print_string(f, items[i]->string);
                fputs(": ", f);
            }
            json_sorted(f, items[i], depth + 1);
            fputs(i + 1 < n ? ",\n" : "\n", f);
        }
        fprintf(f, "%*s%c", 2 * depth, "", obj ? '}' : ']');
        free(items);
    } else if (cJSON_IsString(j)) {
        json_print_string(f, j->valuestring);
    } else if (cJSON_IsRaw(j)) {
        fputs(j->valuestring, f);
    } else if (cJSON_IsNumber(j)) {
        json_number(f, j->valuedouble);
    } else {
        fputs(cJSON_IsTrue(j) ? "true" : cJSON_IsFalse(j) ? "false" : "null", f);
    }
}

void adapter_save(const char *dir, const Model *m, const char *base_model, StDtype dtype) {
    const LoraConfig *l = &m->shape.lora;
    make_dir(dir);
    /* exactly the keys PEFT 0.13 writes: it refuses any other, later versions drop them */
    cJSON *j = cJSON_CreateObject();
    cJSON_AddItemToObject(j, "alpha_pattern", cJSON_CreateObject());
    if (base_model) cJSON_AddStringToObject(j, "base_model_name_or_path", base_model);
    else cJSON_AddNullToObject(j, "base_model_name_or_path");
    cJSON_AddStringToObject(j, "bias", "none");
    cJSON_AddFalseToObject(j, "fan_in_fan_out");
    cJSON_AddTrueToObject(j, "inference_mode");
    cJSON_AddTrueToObject(j, "init_lora_weights");
    cJSON_AddNullToObject(j, "layer_replication");
    cJSON_AddNullToObject(j, "layers_pattern");
    cJSON_AddNullToObject(j, "layers_to_transform");
    cJSON_AddItemToObject(j, "loftq_config", cJSON_CreateObject());
    cJSON_AddNumberToObject(j, "lora_alpha", l->alpha);
    char drop[40]; /* a float, as Python writes one: 0.0, 0.05 */
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(drop, sizeof drop, "%.*g", prec, l->dropout);
        if (strtod(drop, NULL) == l->dropout) break;
    }
    if (!strpbrk(drop, ".e")) strcat(drop, ".0");
    cJSON_AddRawToObject(j, "lora_dropout", drop);
    cJSON_AddNullToObject(j, "megatron_config");
    cJSON_AddStringToObject(j, "megatron_core", "megatron.core");
    cJSON_AddNullToObject(j, "modules_to_save");
    cJSON_AddStringToObject(j, "peft_type", "LORA");
    cJSON_AddNumberToObject(j, "r", l->r);
    cJSON_AddItemToObject(j, "rank_pattern", cJSON_CreateObject());
    cJSON_AddNullToObject(j, "revision");
    cJSON *tm = cJSON_AddArrayToObject(j, "target_modules");
    for (int t = 0; t < LORA_TARGETS; t++)
        if (l->targets >> t & 1u) cJSON_AddItemToArray(tm, cJSON_CreateString(lora_target_names[t]));
    cJSON_AddStringToObject(j, "task_type", "CAUSAL_LM");
    cJSON_AddFalseToObject(j, "use_dora");
    cJSON_AddBoolToObject(j, "use_rslora", l->rslora);
    char *cp = path_join(dir, "adapter_config.json");
    AtomicFile af = atomic_open(cp);
    json_sorted(af.f, j, 0);
    atomic_commit(&af);
    cJSON_Delete(j);
    free(cp);

    int L = m->cfg.n_layers, n = 0;
    StWriteTensor *t = xcalloc((size_t)(2 * LORA_TARGETS * L), sizeof *t);
    char **names = xcalloc((size_t)(2 * LORA_TARGETS * L), sizeof *names);
    for (int k = P_BASE_KINDS; k < P_KINDS; k++) {
        const ParamInfo *p = &m->info[k];
        if (!p->present) continue;
        for (int li = 0; li < L; li++, n++) {
            char name[160];
            param_name((ParamKind)k, li, name, sizeof name);
            names[n] = xstrdup(name);
            t[n] = (StWriteTensor){names[n], 2, {(int64_t)p->rows, (int64_t)p->cols},
                                   param_ptr(m, m->params, (ParamKind)k, li), NULL, NULL};
        }
    }
    char *wp = path_join(dir, "adapter_model.safetensors");
    st_write_file(wp, t, n, dtype);
    for (int i = 0; i < n; i++) free(names[i]);
    free(names), free(t), free(wp);
}

/* ---------------------------------------------------------------- llama.cpp's LoRA GGUF */

static const char *const gguf_base_names[LORA_TARGETS] = {"attn_q", "attn_k", "attn_v", "attn_output",
                                                          "ffn_gate", "ffn_up", "ffn_down"};

void adapter_export_gguf(const Model *m, const char *path) {
    const ModelConfig *c = &m->cfg;
    const LoraConfig *l = &m->shape.lora;
    GgufWriter w;
    gguf_w_init(&w);
    gguf_w_str(&w, "general.architecture", config_arch_name(c->arch));
    gguf_w_str(&w, "general.type", "adapter");
    gguf_w_str(&w, "adapter.type", "lora");
    /* llama.cpp scales by alpha / r and knows nothing of rsLoRA: alpha * sqrt(r) gives it alpha / sqrt(r) */
    gguf_w_f32(&w, "adapter.lora.alpha", (float)(l->rslora ? l->alpha * sqrt((double)l->r) : l->alpha));
    char name[96];
    for (int li = 0; li < c->n_layers; li++)
        for (int t = 0; t < LORA_TARGETS; t++) {
            if (!m->info[lora_a_kind((LoraTarget)t)].present) continue;
            const ParamInfo *a = &m->info[lora_a_kind((LoraTarget)t)], *b = &m->info[lora_b_kind((LoraTarget)t)];
            snprintf(name, sizeof name, "blk.%d.%s.weight.lora_a", li, gguf_base_names[t]);
            gguf_w_tensor(&w, name, 2, (int64_t[]){(int64_t)a->cols, (int64_t)a->rows}, GGML_F32);
            snprintf(name, sizeof name, "blk.%d.%s.weight.lora_b", li, gguf_base_names[t]);
            gguf_w_tensor(&w, name, 2, (int64_t[]){(int64_t)b->cols, (int64_t)b->rows}, GGML_F32);
        }
    AtomicFile af = atomic_open(path);
    gguf_w_header(&w, af.f, path);
    uint64_t ti = 0;
    int D = c->head_dim;
    for (int li = 0; li < c->n_layers; li++)
        for (int t = 0; t < LORA_TARGETS; t++) {
            if (!m->info[lora_a_kind((LoraTarget)t)].present) continue;
            for (int ab = 0; ab < 2; ab++, ti++) {
                ParamKind k = ab ? lora_b_kind((LoraTarget)t) : lora_a_kind((LoraTarget)t);
                const ParamInfo *p = &m->info[k];
                const float *src = param_ptr(m, m->params, k, li);
                int permute = ab && c->arch == ARCH_LLAMA && (t == T_Q || t == T_K);
                for (size_t r = 0; r < p->rows; r++) { /* GGUF row r of a Q/K B: HF row of its interleaved place */
                    size_t from = r;
                    if (permute) from = (r / (size_t)D) * (size_t)D + (r % 2) * (size_t)(D / 2) + (r % (size_t)D) / 2;
                    if (fwrite(src + from * p->cols, sizeof(float), p->cols, af.f) != p->cols)
                        die("%s: write failed: %s", path, strerror(errno));
                }
                gguf_w_pad(af.f, w.tensors[ti].nbytes, path);
            }
        }
    atomic_commit(&af);
    gguf_w_free(&w);
}
