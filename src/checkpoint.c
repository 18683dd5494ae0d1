/* checkpoint.c: see checkpoint.h. */
#include "checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "adapter.h"
#include "common.h"

/* Every parameter tensor of m, from a parameter-shaped array, named prefix + HF name. */
static int param_tensors(const Model *m, float *base, const char *prefix, StWriteTensor *t, char **names) {
    int n = 0;
    for (int k = 0; k < P_KINDS; k++) {
        const ParamInfo *p = &m->info[k];
        if (!p->present || p->frozen) continue;
        for (int l = 0; l < (p->per_layer ? m->cfg.n_layers : 1); l++) {
            char name[160];
            param_name((ParamKind)k, l, name, sizeof name);
            names[n] = xsprintf("%s%s", prefix, name);
            t[n] = (StWriteTensor){names[n], p->ndim, {(int64_t)p->rows, (int64_t)p->cols},
                                   param_ptr(m, base, (ParamKind)k, l), NULL, NULL};
            n++;
        }
    }
    return n;
}

static void read_param_tensors(const Model *m, const StSet *s, const char *prefix, float *base, const char *where) {
    for (int k = 0; k < P_KINDS; k++) {
        const ParamInfo *p = &m->info[k];
        if (!p->present || p->frozen) continue;
        for (int l = 0; l < (p->per_layer ? m->cfg.n_layers : 1); l++) {
            char name[200], hf[160];
            param_name((ParamKind)k, l, hf, sizeof hf);
            snprintf(name, sizeof name, "%s%s", prefix, hf);
            const StTensor *t = st_find(s, name);
            if (!t) die("%s: tensor \"%s\" is missing", where, name);
            if ((uint64_t)(t->end - t->begin) != p->numel * 4 || t->dtype != ST_F32)
                die("%s: tensor \"%s\" does not match the model (F32, %zu values expected)", where, name, p->numel);
            st_read_f32(s, t, param_ptr(m, base, (ParamKind)k, l));
        }
    }
}

static void write_optimizer(const Model *m, const char *path, int with_master) {
    int cap = 3 * (P_KINDS * m->cfg.n_layers + 4), n = 0;
    StWriteTensor *t = xcalloc((size_t)cap, sizeof *t);
    char **names = xcalloc((size_t)cap, sizeof *names);
    n += param_tensors(m, m->adam_m, "exp_avg.", t + n, names + n);
    n += param_tensors(m, m->adam_v, "exp_avg_sq.", t + n, names + n);
    if (with_master) n += param_tensors(m, m->params, "master.", t + n, names + n);
    st_write_file(path, t, n, ST_F32);
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    free(t);
}

static void copy_file(const char *from, const char *to) {
    size_t len;
    char *data = read_text_file(from, &len);
    write_file_atomic(to, data, len);
    free(data);
}

static void write_state(const TrainerState *st, const char *path) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "global_step", st->step);
    cJSON_AddNumberToObject(j, "total_steps", st->total_steps);
    cJSON_AddNumberToObject(j, "epoch", st->epoch);
    cJSON_AddNumberToObject(j, "cursor", st->cursor);
    cJSON_AddNumberToObject(j, "bad_steps", st->bad_steps);
    if (st->data_hash) {
        char hex[17];
        snprintf(hex, sizeof hex, "%016llx", (unsigned long long)st->data_hash);
        cJSON_AddStringToObject(j, "data_hash", hex);
    }
    if (st->ref_cache) cJSON_AddStringToObject(j, "ref_logps_cache", st->ref_cache);
    cJSON_AddItemToObject(j, "args", cJSON_Duplicate(st->args, 1));
    char *text = cJSON_Print(j);
    write_file_atomic(path, text, strlen(text));
    free(text);
    cJSON_Delete(j);
}

/* A save that fails midway (a full disk, a write error: die() exits) removes its partial
 * directory on the way out and puts back a same-step checkpoint it had moved aside, so the run
 * stops with the previous checkpoints whole and nothing half-written beside them. */
static char *saving_tmp, *saving_old, *saving_final;

static void abandon_partial_save(void) {
    if (!saving_tmp) return;
    remove_tree(saving_tmp);
    if (saving_old && path_is_dir(saving_old) && !path_is_dir(saving_final)) rename(saving_old, saving_final);
    fprintf(stderr, "note: %s was not written (its partial files are removed); the checkpoints before it are whole\n",
            saving_final);
    saving_tmp = NULL;
}

void checkpoint_save(const char *run_dir, const Model *m, const TrainerState *st, const ModelFiles *tok_src,
                     const char *tok_dir, StDtype dtype, uint64_t max_shard, const char *base_model) {
    static int cleanup_registered;
    if (!cleanup_registered) atexit(abandon_partial_save), cleanup_registered = 1;
    make_dir(run_dir);
    char *name = xsprintf("checkpoint-%d", st->step);
    char *final = path_join(run_dir, name);
    char *tmp_name = xsprintf(".%s.tmp-%d", name, (int)getpid());
    char *tmp = path_join(run_dir, tmp_name);
    char *old = xsprintf("%s/.%s.old-%d", run_dir, name, (int)getpid());
    saving_tmp = tmp, saving_old = NULL, saving_final = final;
    remove_tree(tmp);
    make_dir(tmp);
    if (m->shape.lora.r > 0) adapter_save(tmp, m, base_model, dtype); /* PEFT's adapter directory */
    else model_save_hf(m, tmp, dtype, max_shard, 0);
    if (tok_src) model_save_tokenizer_hf(tok_src, &m->cfg, tmp);
    else if (tok_dir) {
        static const char *const files[] = {"tokenizer.json", "tokenizer_config.json"};
        for (int i = 0; i < 2; i++) {
            char *from = path_join(tok_dir, files[i]), *to = path_join(tmp, files[i]);
            if (path_is_file(from)) copy_file(from, to);
            free(from), free(to);
        }
    }
    /* fault injection for the test that a write killed midway loses nothing: the model files
     * are in the temporary directory, the optimizer state and trainer state not yet */
    const char *kill_at = getenv("TRAIN_TEST_KILL_DURING_CHECKPOINT");
    if (kill_at && atoi(kill_at) == st->step) raise(SIGKILL);
    char *opt = path_join(tmp, "optimizer.safetensors"), *state = path_join(tmp, "trainer_state.json");
    write_optimizer(m, opt, dtype != ST_F32);
    write_state(st, state);
    /* into place: an existing checkpoint of the same step is moved aside first, then removed */
    int had_old = path_is_dir(final);
    if (had_old && rename(final, old) != 0) die("%s: cannot move aside: %s", final, strerror(errno));
    if (had_old) saving_old = old;
    if (rename(tmp, final) != 0) die("%s: cannot rename into place: %s", final, strerror(errno));
    saving_tmp = NULL;
    if (had_old) remove_tree(old);
    free(old), free(opt), free(state), free(tmp), free(tmp_name), free(final), free(name);
}

uint64_t checkpoint_bytes(const Model *m, StDtype dtype) {
    uint64_t n = m->n_params;
    uint64_t weights = n * st_dtype_size(dtype), moments = 2 * n * sizeof(float);
    uint64_t master = dtype == ST_F32 ? 0 : n * sizeof(float);
    return weights + moments + master + (1u << 20); /* headers, config, tokenizer files */
}

void checkpoint_check_room(const char *run_dir, uint64_t need) {
    make_dir(run_dir);
    char *probe = xsprintf("%s/.write-test-%d", run_dir, (int)getpid());
    FILE *f = fopen(probe, "w");
    if (!f) die("%s: cannot write into this --out: %s", run_dir, strerror(errno));
    fclose(f);
    unlink(probe);
    free(probe);
    struct statvfs fs;
    if (statvfs(run_dir, &fs) != 0) die("%s: cannot read its file system's free space: %s", run_dir, strerror(errno));
    uint64_t avail = (uint64_t)fs.f_bavail * fs.f_frsize;
    if (avail < need)
        die("%s: %s free on its file system, but one checkpoint takes %s (weights, optimizer moments): free some "
            "space or give another --out", run_dir, fmt_bytes((double)avail), fmt_bytes((double)need));
}

static int checkpoint_step(const char *name) {
    int step;
    char rest;
    if (sscanf(name, "checkpoint-%d%c", &step, &rest) == 1 && step >= 0) return step;
    return -1;
}

char *checkpoint_find(const char *path) {
    char *state = path_join(path, "trainer_state.json");
    int is_ckpt = path_is_file(state);
    free(state);
    if (is_ckpt) return xstrdup(path);
    DIR *d = opendir(path);
    if (!d) return NULL;
    int best = -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        int s = checkpoint_step(e->d_name);
        if (s > best) best = s;
    }
    closedir(d);
    return best < 0 ? NULL : xsprintf("%s/checkpoint-%d", path, best);
}

/* A count in trainer_state.json: a non-negative integer that fits an int (casting anything
 * else to int is undefined). */
static int is_count(const cJSON *v) {
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 2147483647.0 &&
           v->valuedouble == (double)(int)v->valuedouble;
}

void checkpoint_read_state(const char *ckpt, TrainerState *st) {
    memset(st, 0, sizeof *st);
    char *path = path_join(ckpt, "trainer_state.json");
    cJSON *j = json_parse_file(path);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "global_step"), *e = cJSON_GetObjectItemCaseSensitive(j, "epoch"),
                *c = cJSON_GetObjectItemCaseSensitive(j, "cursor"), *t = cJSON_GetObjectItemCaseSensitive(j, "total_steps"),
                *a = cJSON_GetObjectItemCaseSensitive(j, "args"), *r = cJSON_GetObjectItemCaseSensitive(j, "ref_logps_cache");
    if (!cJSON_IsNumber(s) || !cJSON_IsNumber(e) || !cJSON_IsNumber(c) || !cJSON_IsNumber(t) || !cJSON_IsObject(a))
        die("%s: missing global_step, epoch, cursor, total_steps or args", path);
    if (!is_count(s) || !is_count(e) || !is_count(c) || !is_count(t))
        die("%s: global_step, epoch, cursor and total_steps must be non-negative integers", path);
    st->step = (int)s->valuedouble;
    st->epoch = (int)e->valuedouble;
    st->cursor = (int)c->valuedouble;
    st->total_steps = (int)t->valuedouble;
    st->args = cJSON_Duplicate(a, 1);
    st->ref_cache = cJSON_IsString(r) ? xstrdup(r->valuestring) : NULL;
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(j, "bad_steps"), *h = cJSON_GetObjectItemCaseSensitive(j, "data_hash");
    if (b && !is_count(b)) die("%s: bad_steps must be a non-negative integer", path);
    st->bad_steps = b ? (int)b->valuedouble : 0; /* both absent from older checkpoints */
    if (cJSON_IsString(h)) {
        char *end;
        st->data_hash = strtoull(h->valuestring, &end, 16);
        if (*end || strlen(h->valuestring) != 16 || strspn(h->valuestring, "0123456789abcdef") != 16) die("%s: data_hash \"%s\" is not 16 hex digits", path, h->valuestring);
    }
    cJSON_Delete(j);
    free(path);
}

void checkpoint_load_weights(const char *ckpt, Model *m) {
    char *opt = path_join(ckpt, "optimizer.safetensors");
    StSet s;
    st_open(&s, opt);
    char first[200] = "master.";
    for (int k = 0; k < P_KINDS; k++) /* the first trained tensor tells whether there is a master copy */
        if (m->info[k].present && !m->info[k].frozen) {
            param_name((ParamKind)k, 0, first + 7, sizeof first - 7);
            break;
        }
    if (st_find(&s, first)) {
        read_param_tensors(m, &s, "master.", m->params, opt);
    } else if (m->shape.lora.r > 0) { /* the adapter itself was saved in fp32 */
        if (!adapter_dir_is(ckpt)) die("%s: not a LoRA checkpoint (no adapter_config.json), but the run trains an adapter", ckpt);
        adapter_load(ckpt, m, m->params);
    } else { /* the model itself was saved in fp32 */
        ModelFiles f;
        model_files_open(&f, ckpt);
        config_check_same(&f.cfg, f.config_name, &m->cfg, "the run's model");
        model_files_load(&f, m);
        model_files_close(&f);
    }
    read_param_tensors(m, &s, "exp_avg.", m->adam_m, opt);
    read_param_tensors(m, &s, "exp_avg_sq.", m->adam_v, opt);
    st_close(&s);
    free(opt);
}

void checkpoint_keep_last(const char *run_dir, int keep) {
    if (keep <= 0) return;
    int steps[4096], n = 0;
    DIR *d = opendir(run_dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) && n < 4096) {
        int s = checkpoint_step(e->d_name);
        if (s >= 0) steps[n++] = s;
    }
    closedir(d);
    for (int i = 0; i < n; i++) { /* remove all but the `keep` largest steps */
        int newer = 0;
        for (int j = 0; j < n; j++) newer += steps[j] > steps[i];
        if (newer >= keep) {
            char *p = xsprintf("%s/checkpoint-%d", run_dir, steps[i]);
            remove_tree(p);
            free(p);
        }
    }
}

void checkpoint_remove_partial(const char *run_dir) {
    DIR *d = opendir(run_dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, ".checkpoint-", 12) != 0) continue;
        char *p = path_join(run_dir, e->d_name);
        const char *old = strstr(e->d_name, ".old-");
        if (old) { /* killed between moving the old copy aside and renaming the new one in */
            char *name = xsprintf("%.*s", (int)(old - e->d_name - 1), e->d_name + 1);
            char *final = path_join(run_dir, name);
            if (!path_is_dir(final)) rename(p, final);
            else remove_tree(p);
            free(final), free(name);
        } else if (strstr(e->d_name, ".tmp-")) {
            remove_tree(p);
        }
        free(p);
    }
    closedir(d);
}
