/* vocab.c: see vocab.h. */
#include "vocab.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static const char *const REGEX_QWEN2 =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
    "\\s+(?!\\S)|\\s+";
static const char *const REGEX_LLAMA3 =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const char *vocab_pre_regex(const char *pre) {
    if (pre && strcmp(pre, "qwen2") == 0) return REGEX_QWEN2;
    if (pre && strcmp(pre, "llama-bpe") == 0) return REGEX_LLAMA3;
    return NULL;
}

static void grow_to(Vocab *v, int n) {
    if (n <= v->n_tokens) return;
    if (n > v->cap_tokens) { /* doubling: tokens come one id at a time */
        v->cap_tokens = MAX(n, 2 * v->cap_tokens);
        v->tokens = xrealloc(v->tokens, sizeof(char *) * (size_t)v->cap_tokens);
        v->types = xrealloc(v->types, sizeof(int) * (size_t)v->cap_tokens);
    }
    for (int i = v->n_tokens; i < n; i++) v->tokens[i] = NULL, v->types[i] = TOKEN_UNUSED;
    v->n_tokens = n;
}

int vocab_find(const Vocab *v, const char *token) {
    for (int i = 0; i < v->n_tokens; i++)
        if (v->tokens[i] && strcmp(v->tokens[i], token) == 0) return i;
    return -1;
}

void vocab_pad_to(Vocab *v, int n) {
    int old = v->n_tokens;
    grow_to(v, n);
    for (int i = 0; i < n; i++)
        if (!v->tokens[i] || i >= old) {
            if (!v->tokens[i]) v->tokens[i] = xsprintf("[PAD%d]", i);
            v->types[i] = TOKEN_UNUSED;
        }
}

void vocab_free(Vocab *v) {
    for (int i = 0; i < v->n_tokens; i++) free(v->tokens[i]);
    for (int i = 0; i < v->n_merges; i++) free(v->merges[i]);
    free(v->tokens);
    free(v->types);
    free(v->merges);
    free(v->pre);
    free(v->chat_template);
    memset(v, 0, sizeof *v);
}

/* ---------------------------------------------------------------- tokenizer.json */

/* tokenizer_config.json names special tokens as a string or as {"content": ...}. */
static const char *token_content(const cJSON *t) {
    if (cJSON_IsString(t)) return t->valuestring;
    if (cJSON_IsObject(t)) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(t, "content");
        if (cJSON_IsString(c)) return c->valuestring;
    }
    return NULL;
}

void vocab_from_hf(Vocab *v, const char *dir) {
    memset(v, 0, sizeof *v);
    v->bos_id = v->eos_id = v->pad_id = -1;
    char *path = path_join(dir, "tokenizer.json");
    if (!path_is_file(path)) die("%s: missing (the model's tokenizer)", path);
    cJSON *j = json_parse_file(path);
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(j, "model");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(model, "type");
    if (!cJSON_IsString(type) || strcmp(type->valuestring, "BPE") != 0)
        die("%s: model.type must be \"BPE\" (byte-level BPE)", path);
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    if (!cJSON_IsObject(vocab)) die("%s: model.vocab must be an object", path);
    for (const cJSON *e = vocab->child; e; e = e->next) {
        if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > 16777216)
            die("%s: model.vocab[\"%s\"] is not a token id", path, e->string);
        int id = (int)e->valuedouble;
        grow_to(v, id + 1);
        if (v->tokens[id]) die("%s: token id %d is given twice in model.vocab", path, id);
        v->tokens[id] = xstrdup(e->string);
        v->types[id] = TOKEN_NORMAL;
    }
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(j, "added_tokens");
    for (const cJSON *a = cJSON_IsArray(added) ? added->child : NULL; a; a = a->next) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(a, "id"), *c = cJSON_GetObjectItemCaseSensitive(a, "content");
        if (!cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble > 16777216 || !cJSON_IsString(c))
            die("%s: an added_tokens entry lacks a valid id or content", path);
        int i = (int)id->valuedouble;
        grow_to(v, i + 1);
        if (v->tokens[i] && strcmp(v->tokens[i], c->valuestring) != 0)
            die("%s: added token %d \"%s\" collides with \"%s\"", path, i, c->valuestring, v->tokens[i]);
        free(v->tokens[i]);
        v->tokens[i] = xstrdup(c->valuestring);
        v->types[i] = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "special")) ? TOKEN_CONTROL : TOKEN_USER_DEFINED;
    }
    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
    if (!cJSON_IsArray(merges)) die("%s: model.merges must be an array", path);
    v->n_merges = cJSON_GetArraySize(merges);
    v->merges = xmalloc(sizeof(char *) * (size_t)(v->n_merges ? v->n_merges : 1));
    int k = 0;
    for (const cJSON *m = merges->child; m; m = m->next, k++) { /* "a b" or ["a", "b"] */
        if (cJSON_IsString(m)) v->merges[k] = xstrdup(m->valuestring);
        else if (cJSON_IsArray(m) && cJSON_GetArraySize(m) == 2 && cJSON_IsString(m->child) &&
                 cJSON_IsString(m->child->next))
            v->merges[k] = xsprintf("%s %s", m->child->valuestring, m->child->next->valuestring);
        else die("%s: model.merges[%d] is neither \"a b\" nor [\"a\", \"b\"]", path, k);
    }
    v->ignore_merges = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(model, "ignore_merges"));
    const cJSON *norm = cJSON_GetObjectItemCaseSensitive(j, "normalizer");
    const cJSON *nt = cJSON_GetObjectItemCaseSensitive(norm, "type");
    v->nfc = cJSON_IsString(nt) && strcmp(nt->valuestring, "NFC") == 0;
    /* which of the two known pre-tokenizers: told apart by their digit rule */
    char *pre_json = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(j, "pre_tokenizer"));
    if (pre_json && strstr(pre_json, "\\\\p{N}{1,3}")) v->pre = xstrdup("llama-bpe");
    else if (pre_json && strstr(pre_json, "\\\\p{N}|")) v->pre = xstrdup("qwen2");
    else die("%s: the pre-tokenizer is neither Qwen2's nor Llama-3's regex split", path);
    free(pre_json);
    char *post_json = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(j, "post_processor"));
    int post_bos = post_json && strstr(post_json, "TemplateProcessing") && strstr(post_json, "SpecialToken");
    free(post_json);
    cJSON_Delete(j);

    /* special tokens and the chat template from tokenizer_config.json */
    char *cfg_path = path_join(dir, "tokenizer_config.json");
    v->add_bos = strcmp(v->pre, "llama-bpe") == 0 ? 1 : post_bos; /* llama.cpp's defaults */
    if (post_bos) v->add_bos = 1;
    if (path_is_file(cfg_path)) {
        cJSON *c = json_parse_file(cfg_path);
        const char *bos = token_content(cJSON_GetObjectItemCaseSensitive(c, "bos_token"));
        const char *eos = token_content(cJSON_GetObjectItemCaseSensitive(c, "eos_token"));
        const char *pad = token_content(cJSON_GetObjectItemCaseSensitive(c, "pad_token"));
        if (bos) v->bos_id = vocab_find(v, bos);
        if (eos) v->eos_id = vocab_find(v, eos);
        if (pad) v->pad_id = vocab_find(v, pad);
        v->clean_up_spaces = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "clean_up_tokenization_spaces"));
        const cJSON *ab = cJSON_GetObjectItemCaseSensitive(c, "add_bos_token");
        if (cJSON_IsBool(ab)) v->add_bos = cJSON_IsTrue(ab);
        const cJSON *ct = cJSON_GetObjectItemCaseSensitive(c, "chat_template");
        if (cJSON_IsString(ct)) v->chat_template = xstrdup(ct->valuestring);
        else if (cJSON_IsArray(ct)) /* [{"name": "default", "template": ...}, ...] */
            for (const cJSON *t = ct->child; t; t = t->next) {
                const cJSON *n = cJSON_GetObjectItemCaseSensitive(t, "name"), *tt = cJSON_GetObjectItemCaseSensitive(t, "template");
                if (cJSON_IsString(tt) && (!v->chat_template || (cJSON_IsString(n) && !strcmp(n->valuestring, "default")))) {
                    free(v->chat_template);
                    v->chat_template = xstrdup(tt->valuestring);
                }
            }
        cJSON_Delete(c);
    }
    if (v->bos_id < 0 && !strcmp(v->pre, "qwen2")) v->bos_id = vocab_find(v, "<|endoftext|>"); /* as Qwen's GGUFs */
    free(cfg_path);
    free(path);
}

/* ---------------------------------------------------------------- GGUF keys */

int vocab_from_gguf(Vocab *v, const Gguf *g) {
    memset(v, 0, sizeof *v);
    v->bos_id = v->eos_id = v->pad_id = -1;
    const GgufKV *tok = gguf_find_kv(g, "tokenizer.ggml.tokens");
    if (!tok) return 0;
    char *model = gguf_get_string(g, "tokenizer.ggml.model");
    if (!model || strcmp(model, "gpt2") != 0)
        die("%s: tokenizer.ggml.model is \"%s\"; only \"gpt2\" (byte-level BPE) is supported", g->path,
            model ? model : "(missing)");
    free(model);
    if (tok->type != GGUF_ARRAY || tok->elem_type != GGUF_STRING || tok->count > 16777216)
        die("%s: tokenizer.ggml.tokens must be an array of strings", g->path);
    grow_to(v, (int)tok->count);
    for (uint64_t i = 0; i < tok->count; i++) {
        uint64_t len;
        const char *s = gguf_array_string(g, tok, i, &len);
        v->tokens[i] = xmalloc(len + 1);
        memcpy(v->tokens[i], s, len);
        v->tokens[i][len] = 0;
        v->types[i] = TOKEN_NORMAL;
    }
    const GgufKV *types = gguf_find_kv(g, "tokenizer.ggml.token_type");
    if (types) {
        if (types->type != GGUF_ARRAY || types->count != tok->count)
            die("%s: tokenizer.ggml.token_type must have one entry per token", g->path);
        for (uint64_t i = 0; i < tok->count; i++) v->types[i] = (int)gguf_array_int(g, types, i);
    }
    const GgufKV *merges = gguf_find_kv(g, "tokenizer.ggml.merges");
    if (merges) {
        if (merges->type != GGUF_ARRAY || merges->elem_type != GGUF_STRING)
            die("%s: tokenizer.ggml.merges must be an array of strings", g->path);
        v->n_merges = (int)merges->count;
        v->merges = xmalloc(sizeof(char *) * (merges->count ? merges->count : 1));
        for (uint64_t i = 0; i < merges->count; i++) {
            uint64_t len;
            const char *s = gguf_array_string(g, merges, i, &len);
            v->merges[i] = xmalloc(len + 1);
            memcpy(v->merges[i], s, len);
            v->merges[i][len] = 0;
        }
    }
    v->pre = gguf_get_string(g, "tokenizer.ggml.pre");
    if (!v->pre) v->pre = xstrdup("llama-bpe"); /* llama.cpp's fallback for gpt2 vocabularies */
    v->nfc = strcmp(v->pre, "qwen2") == 0;
    v->ignore_merges = strcmp(v->pre, "llama-bpe") == 0;
    int64_t x;
    if (gguf_get_int(g, "tokenizer.ggml.bos_token_id", &x)) v->bos_id = (int)x;
    if (gguf_get_int(g, "tokenizer.ggml.eos_token_id", &x)) v->eos_id = (int)x;
    if (gguf_get_int(g, "tokenizer.ggml.padding_token_id", &x)) v->pad_id = (int)x;
    int b;
    v->add_bos = gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &b) ? b : strcmp(v->pre, "llama-bpe") == 0;
    v->chat_template = gguf_get_string(g, "tokenizer.chat_template");
    for (int *id = &v->bos_id; id <= &v->pad_id; id++)
        if (*id >= v->n_tokens) die("%s: special token id %d is outside the %d tokens", g->path, *id, v->n_tokens);
    return 1;
}

void vocab_to_gguf(const Vocab *v, GgufWriter *w) {
    gguf_w_str(w, "tokenizer.ggml.model", "gpt2");
    gguf_w_str(w, "tokenizer.ggml.pre", v->pre);
    const char **tok = xmalloc(sizeof(char *) * (size_t)v->n_tokens);
    int32_t *types = xmalloc(sizeof(int32_t) * (size_t)v->n_tokens);
    char **pads = xcalloc((size_t)v->n_tokens, sizeof(char *));
    for (int i = 0; i < v->n_tokens; i++) {
        tok[i] = v->tokens[i] ? v->tokens[i] : (pads[i] = xsprintf("[PAD%d]", i));
        types[i] = v->tokens[i] ? v->types[i] : TOKEN_UNUSED;
    }
    gguf_w_str_array(w, "tokenizer.ggml.tokens", tok, NULL, (uint64_t)v->n_tokens);
    gguf_w_i32_array(w, "tokenizer.ggml.token_type", types, (uint64_t)v->n_tokens);
    gguf_w_str_array(w, "tokenizer.ggml.merges", (const char *const *)v->merges, NULL, (uint64_t)v->n_merges);
    if (v->bos_id >= 0) gguf_w_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)v->bos_id);
    if (v->eos_id >= 0) gguf_w_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)v->eos_id);
    if (v->pad_id >= 0) gguf_w_u32(w, "tokenizer.ggml.padding_token_id", (uint32_t)v->pad_id);
    gguf_w_bool(w, "tokenizer.ggml.add_bos_token", v->add_bos);
    if (v->chat_template) gguf_w_str(w, "tokenizer.chat_template", v->chat_template);
    for (int i = 0; i < v->n_tokens; i++) free(pads[i]);
    free(pads);
    free(tok);
    free(types);
}

/* ---------------------------------------------------------------- writing tokenizer.json */

static cJSON *byte_level(int add_prefix_space) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "ByteLevel");
    cJSON_AddBoolToObject(o, "add_prefix_space", add_prefix_space);
    cJSON_AddBoolToObject(o, "trim_offsets", 0);
    cJSON_AddBoolToObject(o, "use_regex", 0);
    return o;
}

void vocab_write_hf(const Vocab *v, const char *dir) {
    const char *regex = vocab_pre_regex(v->pre);
    if (!regex) die("cannot write tokenizer.json for pre-tokenizer \"%s\" (qwen2 or llama-bpe)", v->pre);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "version", "1.0");
    cJSON_AddNullToObject(j, "truncation");
    cJSON_AddNullToObject(j, "padding");
    cJSON *added = cJSON_AddArrayToObject(j, "added_tokens");
    for (int i = 0; i < v->n_tokens; i++) {
        if (!v->tokens[i] || (v->types[i] != TOKEN_CONTROL && v->types[i] != TOKEN_USER_DEFINED)) continue;
        cJSON *a = cJSON_CreateObject();
        cJSON_AddNumberToObject(a, "id", i);
        cJSON_AddStringToObject(a, "content", v->tokens[i]);
        cJSON_AddBoolToObject(a, "single_word", 0);
        cJSON_AddBoolToObject(a, "lstrip", 0);
        cJSON_AddBoolToObject(a, "rstrip", 0);
        cJSON_AddBoolToObject(a, "normalized", 0);
        cJSON_AddBoolToObject(a, "special", v->types[i] == TOKEN_CONTROL);
        cJSON_AddItemToArray(added, a);
    }
    if (v->nfc) {
        cJSON *n = cJSON_AddObjectToObject(j, "normalizer");
        cJSON_AddStringToObject(n, "type", "NFC");
    } else {
        cJSON_AddNullToObject(j, "normalizer");
    }
    cJSON *pre = cJSON_AddObjectToObject(j, "pre_tokenizer");
    cJSON_AddStringToObject(pre, "type", "Sequence");
    cJSON *seq = cJSON_AddArrayToObject(pre, "pretokenizers");
    cJSON *split = cJSON_CreateObject();
    cJSON_AddStringToObject(split, "type", "Split");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(split, "pattern"), "Regex", regex);
    cJSON_AddStringToObject(split, "behavior", "Isolated");
    cJSON_AddBoolToObject(split, "invert", 0);
    cJSON_AddItemToArray(seq, split);
    cJSON_AddItemToArray(seq, byte_level(0));
    if (v->add_bos && v->bos_id >= 0) { /* prepend BOS as Llama-3's TemplateProcessing does */
        const char *bos = v->tokens[v->bos_id];
        cJSON *post = cJSON_AddObjectToObject(j, "post_processor");
        cJSON_AddStringToObject(post, "type", "TemplateProcessing");
        for (int pair = 0; pair < 2; pair++) {
            cJSON *arr = cJSON_AddArrayToObject(post, pair ? "pair" : "single");
            for (int part = 0; part < (pair ? 2 : 1); part++) {
                cJSON *st = cJSON_CreateObject(), *sq = cJSON_CreateObject();
                cJSON *sti = cJSON_AddObjectToObject(st, "SpecialToken");
                cJSON_AddStringToObject(sti, "id", bos);
                cJSON_AddNumberToObject(sti, "type_id", part);
                cJSON *sqi = cJSON_AddObjectToObject(sq, "Sequence");
                cJSON_AddStringToObject(sqi, "id", part ? "B" : "A");
                cJSON_AddNumberToObject(sqi, "type_id", part);
                cJSON_AddItemToArray(arr, st);
                cJSON_AddItemToArray(arr, sq);
            }
        }
        cJSON *sp = cJSON_AddObjectToObject(cJSON_AddObjectToObject(post, "special_tokens"), bos);
        cJSON_AddStringToObject(sp, "id", bos);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(sp, "ids"), cJSON_CreateNumber(v->bos_id));
        cJSON_AddItemToArray(cJSON_AddArrayToObject(sp, "tokens"), cJSON_CreateString(bos));
    } else {
        cJSON_AddItemToObject(j, "post_processor", byte_level(0));
    }
    cJSON_AddItemToObject(j, "decoder", byte_level(0));
    cJSON *model = cJSON_AddObjectToObject(j, "model");
    cJSON_AddStringToObject(model, "type", "BPE");
    cJSON_AddNullToObject(model, "dropout");
    cJSON_AddNullToObject(model, "unk_token");
    cJSON_AddStringToObject(model, "continuing_subword_prefix", "");
    cJSON_AddStringToObject(model, "end_of_word_suffix", "");
    cJSON_AddBoolToObject(model, "fuse_unk", 0);
    cJSON_AddBoolToObject(model, "byte_fallback", 0);
    cJSON_AddBoolToObject(model, "ignore_merges", v->ignore_merges);
    cJSON *vocab = cJSON_AddObjectToObject(model, "vocab");
    for (int i = 0; i < v->n_tokens; i++)
        if (v->tokens[i] && v->types[i] == TOKEN_NORMAL) cJSON_AddNumberToObject(vocab, v->tokens[i], i);
    cJSON *merges = cJSON_AddArrayToObject(model, "merges");
    for (int i = 0; i < v->n_merges; i++) cJSON_AddItemToArray(merges, cJSON_CreateString(v->merges[i]));
    char *text = cJSON_PrintUnformatted(j);
    char *p = path_join(dir, "tokenizer.json");
    write_file_atomic(p, text, strlen(text));
    free(p);
    free(text);
    cJSON_Delete(j);

    cJSON *c = cJSON_CreateObject();
    cJSON_AddBoolToObject(c, "add_bos_token", v->add_bos);
    cJSON_AddBoolToObject(c, "add_prefix_space", 0);
    if (v->bos_id >= 0 && !(strcmp(v->pre, "qwen2") == 0 && !v->add_bos)) cJSON_AddStringToObject(c, "bos_token", v->tokens[v->bos_id]);
    else cJSON_AddNullToObject(c, "bos_token");
    if (v->eos_id >= 0) cJSON_AddStringToObject(c, "eos_token", v->tokens[v->eos_id]);
    if (v->pad_id >= 0) cJSON_AddStringToObject(c, "pad_token", v->tokens[v->pad_id]);
    if (v->chat_template) cJSON_AddStringToObject(c, "chat_template", v->chat_template);
    cJSON_AddBoolToObject(c, "clean_up_tokenization_spaces", v->clean_up_spaces);
    cJSON_AddStringToObject(c, "tokenizer_class", "PreTrainedTokenizerFast");
    text = cJSON_Print(c);
    p = path_join(dir, "tokenizer_config.json");
    write_file_atomic(p, text, strlen(text));
    free(p);
    free(text);
    cJSON_Delete(c);
}
