/* model_io.c: see model_io.h. GGUF arrives in a later issue beside this. */
#include "model_io.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"

static void shape_str(char *buf, size_t size, int ndim, const int64_t *shape) {
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < ndim && used < size; d++)
        used += (size_t)snprintf(buf + used, size - used, d ? ", %lld" : "%lld", (long long)shape[d]);
    if (used < size) snprintf(buf + used, size - used, "]");
}

/* Tensors that checkpoints sometimes carry and that mean nothing to this model. */
static int ignorable(const char *name) {
    return strstr(name, "rotary_emb.inv_freq") != NULL;
}

void model_load_safetensors(Model *m, const char *path) {
    StSet s;
    st_open(&s, path);
    int L = m->cfg.n_layers;
    int used_count = 0;
    char name[160];
    for (int k = 0; k < P_KINDS; k++) {
        const ParamInfo *p = &m->info[k];
        if (!p->present) continue;
        for (int l = 0; l < (p->per_layer ? L : 1); l++) {
            param_name((ParamKind)k, l, name, sizeof name);
            const StTensor *t = st_find(&s, name);
            if (!t) die("%s: tensor \"%s\" is missing (config.json expects it)", path, name);
            int64_t want[2] = {(int64_t)p->rows, (int64_t)p->cols};
            int ok = t->ndim == p->ndim;
            for (int d = 0; ok && d < p->ndim; d++) ok = t->shape[d] == want[d];
            if (!ok) {
                char got_s[96], want_s[96];
                shape_str(got_s, sizeof got_s, t->ndim, t->shape);
                shape_str(want_s, sizeof want_s, p->ndim, want);
                die("%s: tensor \"%s\" has shape %s but config.json implies %s", st_file_of(&s, t), name, got_s,
                    want_s);
            }
            st_read_f32(&s, t, param_ptr(m, m->params, (ParamKind)k, l));
            used_count++;
        }
    }
    /* Anything left over means the config and the weights disagree (more layers, a bias
     * the config does not declare, an untied head in a tied config ...). A tied model may
     * still ship a copy of the head; transformers ignores it too. */
    for (int i = 0; i < s.n_tensors; i++) {
        const char *n = s.tensors[i].name;
        if (ignorable(n)) continue;
        if (m->cfg.tie_embeddings && strcmp(n, "lm_head.weight") == 0) continue;
        int known = 0;
        for (int k = 0; k < P_KINDS && !known; k++) {
            if (!m->info[k].present) continue;
            for (int l = 0; l < (m->info[k].per_layer ? L : 1) && !known; l++) {
                param_name((ParamKind)k, l, name, sizeof name);
                known = strcmp(name, n) == 0;
            }
        }
        if (!known)
            die("%s: tensor \"%s\" is not part of the model config.json describes", st_file_of(&s, &s.tensors[i]), n);
    }
    (void)used_count;
    st_close(&s);
}

void model_save_hf(const Model *m, const char *dir, StDtype dtype, uint64_t max_shard_bytes) {
    make_dir(dir);
    int L = m->cfg.n_layers, n = 0;
    StWriteTensor *t = xcalloc((size_t)(P_KINDS * L + 4), sizeof *t);
    char **names = xcalloc((size_t)(P_KINDS * L + 4), sizeof *names);
    for (int k = 0; k < P_KINDS; k++) {
        const ParamInfo *p = &m->info[k];
        if (!p->present) continue;
        for (int l = 0; l < (p->per_layer ? L : 1); l++) {
            char name[160];
            param_name((ParamKind)k, l, name, sizeof name);
            names[n] = xstrdup(name);
            t[n].name = names[n];
            t[n].ndim = p->ndim;
            t[n].shape[0] = (int64_t)p->rows;
            t[n].shape[1] = (int64_t)p->cols;
            t[n].data = param_ptr(m, m->params, (ParamKind)k, l);
            n++;
        }
    }
    st_write_dir(dir, t, n, dtype, max_shard_bytes);
    const char *torch_dtype = dtype == ST_BF16 ? "bfloat16" : dtype == ST_F16 ? "float16" : "float32";
    cJSON *cj = config_to_json(&m->cfg, torch_dtype);
    char *json = cJSON_Print(cj);
    char *cp = path_join(dir, "config.json");
    write_file_atomic(cp, json, strlen(json));
    free(cp);
    free(json);
    cJSON_Delete(cj);
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    free(t);
}
