/* chat.c: see chat.h. */
#include "chat.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"

/* ---------------------------------------------------------------- parts */

/* A rendered conversation is a list of parts: special token ids and text pieces; a text
 * piece is marked when it is assistant content. */
typedef struct {
    int special;        /* token id, or -1 for text */
    char *text;         /* owned */
    int assistant;
} Part;

typedef struct {
    Part *p;
    int n, cap;
} Parts;

static void add_part(Parts *ps, int special, const char *text, size_t len, int assistant) {
    if (ps->n == ps->cap) {
        ps->cap = ps->cap ? 2 * ps->cap : 16;
        ps->p = xrealloc(ps->p, sizeof(Part) * (size_t)ps->cap);
    }
    Part *p = &ps->p[ps->n++];
    p->special = special;
    p->assistant = assistant;
    p->text = NULL;
    if (special < 0) {
        p->text = xmalloc(len + 1);
        memcpy(p->text, text, len);
        p->text[len] = 0;
    }
}
static void add_special(Parts *ps, int id, int assistant) { add_part(ps, id, NULL, 0, assistant); }
static void add_text(Parts *ps, const char *s, int assistant) { add_part(ps, -1, s, strlen(s), assistant); }

static void free_parts(Parts *ps) {
    for (int i = 0; i < ps->n; i++) free(ps->p[i].text);
    free(ps->p);
}

/* Jinja's trim is Python's str.strip(): Unicode whitespace at both ends. */
static int py_space_at(const char *s, size_t len, size_t i, int *w) {
    const unsigned char *u = (const unsigned char *)s + i;
    *w = 1;
    if (*u == ' ' || (*u >= 0x09 && *u <= 0x0d) || (*u >= 0x1c && *u <= 0x1f)) return 1;
    if (*u == 0xc2 && i + 1 < len && (u[1] == 0x85 || u[1] == 0xa0)) return *w = 2;
    if (*u == 0xe1 && i + 2 < len && u[1] == 0x9a && u[2] == 0x80) return *w = 3;                /* U+1680 */
    if (*u == 0xe2 && i + 2 < len && u[1] == 0x80 && (u[2] <= 0x8a || u[2] == 0xa8 || u[2] == 0xa9 || u[2] == 0xaf))
        return *w = 3;                                                                           /* U+2000.. */
    if (*u == 0xe2 && i + 2 < len && u[1] == 0x81 && u[2] == 0x9f) return *w = 3;                /* U+205F */
    if (*u == 0xe3 && i + 2 < len && u[1] == 0x80 && u[2] == 0x80) return *w = 3;                /* U+3000 */
    return 0;
}

static char *py_strip(const char *s) {
    size_t len = strlen(s), a = 0, b = len;
    int w;
    while (a < len && py_space_at(s, len, a, &w)) a += (size_t)w;
    while (b > a) { /* find the last non-space character by scanning forward */
        size_t i = a, last_end = a;
        while (i < b) {
            int is = py_space_at(s, len, i, &w);
            if (!is) {
                int l = 1;
                unsigned char c = (unsigned char)s[i];
                if (c >= 0xf0) l = 4;
                else if (c >= 0xe0) l = 3;
                else if (c >= 0xc0) l = 2;
                if ((size_t)l > b - i) l = (int)(b - i); /* a sequence cut off by the end (not UTF-8) */
                last_end = i + (size_t)l;
                i += (size_t)l;
            } else {
                i += (size_t)w;
            }
        }
        b = last_end;
        break;
    }
    char *o = xmalloc(b - a + 1);
    memcpy(o, s + a, b - a);
    o[b - a] = 0;
    return o;
}

static void build_parts(const ChatTemplate *ct, const ChatMessage *m, int n, int gen, Parts *ps) {
    if (ct->format == CHAT_CHATML) {
        int first = 0;
        const char *system = ct->default_system;
        if (n > 0 && strcmp(m[0].role, "system") == 0) system = m[0].content, first = 1;
        if (system) {
            add_special(ps, ct->im_start, 0);
            char *t = xsprintf("system\n%s", system);
            add_text(ps, t, 0);
            free(t);
            add_special(ps, ct->im_end, 0);
            add_text(ps, "\n", 0);
        }
        for (int i = first; i < n; i++) {
            int asst = strcmp(m[i].role, "assistant") == 0;
            add_special(ps, ct->im_start, 0);
            char *head = xsprintf("%s\n", m[i].role);
            add_text(ps, head, 0);
            free(head);
            add_text(ps, m[i].content, asst);
            add_special(ps, ct->im_end, asst);
            add_text(ps, "\n", 0);
        }
        if (gen) {
            add_special(ps, ct->im_start, 0);
            add_text(ps, "assistant\n", 0);
        }
    } else {
        add_special(ps, ct->bos, 0);
        for (int i = 0; i < n; i++) {
            int asst = strcmp(m[i].role, "assistant") == 0;
            add_special(ps, ct->start_header, 0);
            add_text(ps, m[i].role, 0);
            add_special(ps, ct->end_header, 0);
            add_text(ps, "\n\n", 0);
            char *c = py_strip(m[i].content);
            add_text(ps, c, asst);
            free(c);
            add_special(ps, ct->eot, asst);
        }
        if (gen) {
            add_special(ps, ct->start_header, 0);
            add_text(ps, "assistant", 0);
            add_special(ps, ct->end_header, 0);
            add_text(ps, "\n\n", 0);
        }
    }
}

/* Tokenize parts: each run of text parts is one segment, normalized piece by piece (the
 * pieces meet at newlines and headers, where NFC cannot compose across) and encoded as a
 * whole, so token boundaries are those of the full rendered string. A token is assistant's
 * when its bytes overlap assistant content. */
static void tokenize_parts(Tokenizer *tok, const Parts *ps, TokenList *ids, uint8_t **assistant) {
    int cap = ids->n + 64;
    uint8_t *mask = xcalloc((size_t)cap, 1);
    for (int i = 0; i < ps->n;) {
        if (ps->p[i].special >= 0) {
            token_list_push(ids, ps->p[i].special, 0);
            if (ids->n > cap) mask = xrealloc(mask, (size_t)(cap = 2 * ids->n));
            mask[ids->n - 1] = (uint8_t)ps->p[i].assistant;
            i++;
            continue;
        }
        size_t seg_len = 0, seg_cap = 256;
        char *seg = xmalloc(seg_cap);
        int ranges[2 * 64], n_ranges = 0;
        int j = i;
        for (; j < ps->n && ps->p[j].special < 0; j++) {
            size_t cl, nl;
            char *clean = utf8_sanitize(ps->p[j].text, strlen(ps->p[j].text), &cl);
            char *norm = tokenizer_normalize(tok, clean, cl, &nl);
            if (seg_len + nl + 1 > seg_cap) seg = xrealloc(seg, seg_cap = 2 * (seg_len + nl + 1));
            memcpy(seg + seg_len, norm, nl);
            if (ps->p[j].assistant && n_ranges < 64) {
                ranges[2 * n_ranges] = (int)seg_len;
                ranges[2 * n_ranges + 1] = (int)(seg_len + nl);
                n_ranges++;
            }
            seg_len += nl;
            free(clean);
            free(norm);
        }
        int first = ids->n;
        tokenizer_encode_normalized(tok, seg, seg_len, 0, ids);
        if (ids->n > cap) mask = xrealloc(mask, (size_t)(cap = 2 * ids->n));
        for (int k = first; k < ids->n; k++) {
            int a = ids->offsets[k], b = k + 1 < ids->n ? ids->offsets[k + 1] : (int)seg_len, on = 0;
            for (int r = 0; r < n_ranges && !on; r++) on = a < ranges[2 * r + 1] && b > ranges[2 * r];
            mask[k] = (uint8_t)on;
        }
        free(seg);
        i = j;
    }
    if (assistant) *assistant = mask;
    else free(mask);
}

void chat_render_tokens(ChatTemplate *ct, const ChatMessage *m, int n, int gen, TokenList *ids, uint8_t **assistant) {
    Parts ps = {0};
    build_parts(ct, m, n, gen, &ps);
    tokenize_parts(ct->tok, &ps, ids, assistant);
    free_parts(&ps);
}

void chat_render_response(ChatTemplate *ct, const char *content, TokenList *ids) {
    Parts ps = {0};
    if (ct->format == CHAT_LLAMA3) {
        char *c = py_strip(content);
        add_text(&ps, c, 1);
        free(c);
        add_special(&ps, ct->eot, 1);
    } else {
        add_text(&ps, content, 1);
        add_special(&ps, ct->im_end, 1);
    }
    tokenize_parts(ct->tok, &ps, ids, NULL);
    free_parts(&ps);
}

char *chat_render_text(const ChatTemplate *ct, const ChatMessage *m, int n, int gen) {
    Parts ps = {0};
    build_parts(ct, m, n, gen, &ps);
    size_t len = 0, cap = 256;
    char *out = xmalloc(cap);
    for (int i = 0; i < ps.n; i++) {
        const char *s = ps.p[i].special >= 0 ? tokenizer_piece(ct->tok, ps.p[i].special) : ps.p[i].text;
        size_t l = strlen(s);
        if (len + l + 1 > cap) out = xrealloc(out, cap = 2 * (len + l + 1));
        memcpy(out + len, s, l);
        len += l;
    }
    out[len] = 0;
    free_parts(&ps);
    return out;
}

/* ---------------------------------------------------------------- choosing a template */

char *chat_default_system_from_jinja(const char *j) {
    /* Qwen2.5's template spells the default as one string literal:
     * '<|im_start|>system\nYou are ...<|im_end|>\n' (\n written as backslash-n). */
    static const char head[] = "<|im_start|>system\\n";
    for (const char *p = j ? strstr(j, head) : NULL; p; p = strstr(p + 1, head)) {
        const char *s = p + sizeof head - 1, *e = strstr(s, "<|im_end|>");
        if (!e || *s == '\'' || *s == '"' || e == s) continue;
        int plain = 1; /* the literal must not be interrupted by Jinja code */
        for (const char *q = s; q < e && plain; q++) plain = !(*q == '\'' && q[-1] != '\\') && *q != '{' && *q != '}';
        if (!plain) continue;
        char *out = xmalloc((size_t)(e - s) + 1), *w = out;
        for (const char *q = s; q < e; q++) {
            if (*q == '\\' && q + 1 < e) {
                q++;
                *w++ = *q == 'n' ? '\n' : *q == 't' ? '\t' : *q;
            } else {
                *w++ = *q;
            }
        }
        *w = 0;
        return out;
    }
    return NULL;
}

static int need_token(Tokenizer *tok, const char *s, const char *where) {
    int id = tokenizer_token_id(tok, s);
    if (id < 0) die("%s: the chat template needs the special token %s, which this tokenizer lacks", where, s);
    return id;
}

void chat_template_init(ChatTemplate *ct, Tokenizer *tok, const char *name, const char *where) {
    memset(ct, 0, sizeof *ct);
    ct->tok = tok;
    if (name && strcmp(name, "chatml") == 0) ct->format = CHAT_CHATML;
    else if (name && strcmp(name, "llama3") == 0) ct->format = CHAT_LLAMA3;
    else if (name) die("--chat-template must be chatml or llama3, got \"%s\"", name);
    else if (tokenizer_token_id(tok, "<|im_start|>") >= 0) ct->format = CHAT_CHATML;
    else if (tokenizer_token_id(tok, "<|start_header_id|>") >= 0) ct->format = CHAT_LLAMA3;
    else die("%s: no chat template fits this tokenizer (it has neither <|im_start|> nor <|start_header_id|>)", where);
    if (ct->format == CHAT_CHATML) {
        ct->im_start = need_token(tok, "<|im_start|>", where);
        ct->im_end = need_token(tok, "<|im_end|>", where);
        const char *jinja = tokenizer_vocab(tok)->chat_template;
        ct->default_system = chat_default_system_from_jinja(jinja);
        /* without a template to read it from, the base models' text */
        if (!ct->default_system && !jinja) ct->default_system = xstrdup("You are a helpful assistant.");
    } else {
        ct->bos = need_token(tok, "<|begin_of_text|>", where);
        ct->start_header = need_token(tok, "<|start_header_id|>", where);
        ct->end_header = need_token(tok, "<|end_header_id|>", where);
        ct->eot = need_token(tok, "<|eot_id|>", where);
    }
}

void chat_template_free(ChatTemplate *ct) {
    free(ct->default_system);
    memset(ct, 0, sizeof *ct);
}
