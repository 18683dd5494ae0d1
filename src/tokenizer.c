/* tokenizer.c: see tokenizer.h. */
#include "tokenizer.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "common.h"
#define STBDS_NO_SHORT_NAMES
#define typeof __typeof__ /* stb_ds's key macros use GNU typeof, absent from strict C11 */
#include <stb/stb_ds.h>

typedef struct { uint64_t key; struct { int rank, result; } value; } MergeEntry;
typedef struct { char *key; int value; } StrEntry;
typedef struct { const char *text; int len, id; } AddedToken;

struct Tokenizer {
    Vocab v;
    StrEntry *tok2id;        /* every token string -> id */
    MergeEntry *merges;      /* (left id, right id) -> rank, merged id */
    int byte_token[256];     /* id of the one-byte symbol for each byte */
    int char_to_byte[324];   /* byte-level alphabet back to bytes (FORMATS.md 6.1) */
    uint16_t byte_to_char[256];
    AddedToken *added;       /* longest first, so the first match at a position is the longest */
    int n_added;
    uint8_t added_first[256];
    int max_digits;          /* numbers split in runs of 1 (Qwen2) or up to 3 (Llama-3) */
    int clean_up_spaces;
    StrEntry *cache;         /* pre-token -> offset into cache_ids (count first) */
    int *cache_ids;
};

void token_list_push(TokenList *l, int id, int offset) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->ids = xrealloc(l->ids, sizeof(int) * (size_t)l->cap);
        l->offsets = xrealloc(l->offsets, sizeof(int) * (size_t)l->cap);
    }
    l->ids[l->n] = id;
    l->offsets[l->n++] = offset;
}

void token_list_free(TokenList *l) {
    free(l->ids);
    free(l->offsets);
    memset(l, 0, sizeof *l);
}

const Vocab *tokenizer_vocab(const Tokenizer *t) { return &t->v; }

/* ---------------------------------------------------------------- UTF-8 */

static int utf8_encode(uint32_t cp, char *out) {
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) { out[0] = (char)(0xc0 | cp >> 6); out[1] = (char)(0x80 | (cp & 63)); return 2; }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12); out[1] = (char)(0x80 | ((cp >> 6) & 63)); out[2] = (char)(0x80 | (cp & 63));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18); out[1] = (char)(0x80 | ((cp >> 12) & 63));
    out[2] = (char)(0x80 | ((cp >> 6) & 63)); out[3] = (char)(0x80 | (cp & 63));
    return 4;
}

/* Length of the well-formed sequence at s (Unicode table 3-7), or 0 with *bad set to the
 * length of the maximal ill-formed subpart to replace by one U+FFFD. */
static int utf8_valid_len(const uint8_t *s, size_t n, int *bad) {
    uint8_t b = s[0];
    int need;
    uint8_t lo = 0x80, hi = 0xbf;
    if (b < 0x80) return 1;
    else if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b == 0xe0) need = 2, lo = 0xa0;
    else if ((b >= 0xe1 && b <= 0xec) || b == 0xee || b == 0xef) need = 2;
    else if (b == 0xed) need = 2, hi = 0x9f;
    else if (b == 0xf0) need = 3, lo = 0x90;
    else if (b >= 0xf1 && b <= 0xf3) need = 3;
    else if (b == 0xf4) need = 3, hi = 0x8f;
    else { *bad = 1; return 0; }
    for (int k = 1; k <= need; k++) {
        if ((size_t)k >= n || s[k] < lo || s[k] > hi) {
            *bad = k;
            return 0;
        }
        lo = 0x80, hi = 0xbf; /* only the second byte has the narrower range */
    }
    return need + 1;
}

char *utf8_sanitize(const char *s, size_t len, size_t *out_len) {
    char *out = xmalloc(len * 3 + 1); /* one bad byte can become the 3 bytes of U+FFFD */
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        int bad = 0, k = utf8_valid_len((const uint8_t *)s + i, len - i, &bad);
        if (k) {
            memcpy(out + o, s + i, (size_t)k);
            o += (size_t)k, i += (size_t)k;
        } else {
            o += (size_t)utf8_encode(0xfffd, out + o);
            i += (size_t)bad;
        }
    }
    out[o] = 0;
    *out_len = o;
    return out;
}

/* Decode valid UTF-8 (already sanitized) at s. */
static uint32_t utf8_next(const char *s, int *len) {
    const uint8_t *u = (const uint8_t *)s;
    if (u[0] < 0x80) { *len = 1; return u[0]; }
    if (u[0] < 0xe0) { *len = 2; return (uint32_t)(u[0] & 31) << 6 | (u[1] & 63); }
    if (u[0] < 0xf0) { *len = 3; return (uint32_t)(u[0] & 15) << 12 | (uint32_t)(u[1] & 63) << 6 | (u[2] & 63); }
    *len = 4;
    return (uint32_t)(u[0] & 7) << 18 | (uint32_t)(u[1] & 63) << 12 | (uint32_t)(u[2] & 63) << 6 | (u[3] & 63);
}

/* ---------------------------------------------------------------- character classes */

static int is_letter(uint32_t c) {
    if (c < 0x80) return (c | 32) >= 'a' && (c | 32) <= 'z';
    int cat = utf8proc_category((utf8proc_int32_t)c);
    return cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO;
}

static int is_number(uint32_t c) {
    if (c < 0x80) return c >= '0' && c <= '9';
    int cat = utf8proc_category((utf8proc_int32_t)c);
    return cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO;
}

/* \s as Hugging Face's regex engine (Oniguruma) reads it: Unicode White_Space. (The JS port
 * used as a test reference differs on U+0085, which it leaves out, and U+FEFF, which it
 * adds; the tests check those two against an independent White_Space reference.) */
static int is_space(uint32_t c) {
    if (c == ' ' || (c >= 0x09 && c <= 0x0d)) return 1;
    if (c < 0x85) return 0;
    return c == 0x85 || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
           c == 0x202f || c == 0x205f || c == 0x3000;
}

static int is_crlf(uint32_t c) { return c == '\r' || c == '\n'; }

/* ---------------------------------------------------------------- the regex split */

/* Length (in code points) of the pre-token starting at i, following
 *   (?i:'s|'t|'re|'ve|'m|'ll|'d) | [^\r\n\p{L}\p{N}]?\p{L}+ | \p{N}{1,max} |
 *    ?[^\s\p{L}\p{N}]+[\r\n]* | \s*[\r\n]+ | \s+(?!\S) | \s+
 * tried in that order, each with the regex engine's greedy-then-backtrack meaning. */
static int pretoken_len(const uint32_t *c, int n, int i, int max_digits) {
    if (c[i] == '\'' && i + 1 < n) { /* contractions, ASCII case-insensitively */
        uint32_t a = c[i + 1] | 32, b = i + 2 < n ? (c[i + 2] | 32) : 0;
        int a_ascii = c[i + 1] < 0x80, b_ascii = i + 2 < n && c[i + 2] < 0x80;
        if (a_ascii && b_ascii && ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))) return 3;
        if (a_ascii && (a == 's' || a == 't' || a == 'm' || a == 'd')) return 2;
    }
    if (is_letter(c[i])) {
        int j = i;
        while (j < n && is_letter(c[j])) j++;
        return j - i;
    }
    if (!is_crlf(c[i]) && !is_number(c[i]) && i + 1 < n && is_letter(c[i + 1])) {
        int j = i + 1;
        while (j < n && is_letter(c[j])) j++;
        return j - i;
    }
    if (is_number(c[i])) {
        int j = i;
        while (j < n && j - i < max_digits && is_number(c[j])) j++;
        return j - i;
    }
    { /*  ?[^\s\p{L}\p{N}]+[\r\n]* */
        int j = i;
        if (c[j] == ' ') j++;
        int k = j;
        while (k < n && !is_space(c[k]) && !is_letter(c[k]) && !is_number(c[k])) k++;
        if (k > j) {
            while (k < n && is_crlf(c[k])) k++;
            return k - i;
        }
    }
    int e = i; /* the whitespace run */
    while (e < n && is_space(c[e])) e++;
    if (e > i) {
        for (int p = e - 1; p >= i; p--) /* \s*[\r\n]+ ends after the run's last CR or LF */
            if (is_crlf(c[p])) return p + 1 - i;
        if (e == n) return e - i;       /* \s+(?!\S) at the end of the text */
        if (e - i >= 2) return e - i - 1; /* leave the last space to the next word */
        return 1;                       /* \s+ */
    }
    return 1; /* not reached: every code point matches one of the above */
}

/* ---------------------------------------------------------------- BPE */

static uint64_t pair_key(int a, int b) { return (uint64_t)(uint32_t)a << 32 | (uint32_t)b; }

static MergeEntry *find_merge(Tokenizer *t, int a, int b) {
    uint64_t key = pair_key(a, b);
    ptrdiff_t i = stbds_hmgeti(t->merges, key);
    return i >= 0 ? &t->merges[i] : NULL;
}

typedef struct { int rank, pos, left, right; } HeapItem;

static int heap_less(const HeapItem *a, const HeapItem *b) {
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static void heap_push(HeapItem **h, int *n, int *cap, HeapItem it) {
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 64;
        *h = xrealloc(*h, sizeof(HeapItem) * (size_t)*cap);
    }
    int i = (*n)++;
    while (i > 0 && heap_less(&it, &(*h)[(i - 1) / 2])) {
        (*h)[i] = (*h)[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    (*h)[i] = it;
}

static HeapItem heap_pop(HeapItem *h, int *n) {
    HeapItem top = h[0], last = h[--(*n)];
    int i = 0;
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        const HeapItem *best = &last;
        if (l < *n && heap_less(&h[l], best)) m = l, best = &h[l];
        if (r < *n && heap_less(&h[r], best)) m = r;
        if (m == i) break;
        h[i] = h[m];
        i = m;
    }
    h[i] = last;
    return top;
}

/* BPE over one pre-token's bytes; appends ids, offsets from `offset`. Symbols live in a
 * linked list; candidate pairs in a heap by (rank, position); stale entries are skipped. */
static void bpe(Tokenizer *t, const char *bytes, int n, int offset, TokenList *out) {
    /* Llama-3's ignore_merges: a pre-token that is itself in the vocabulary is one token */
    char small[1024], *mapped = n * 2 + 1 <= (int)sizeof small ? small : xmalloc((size_t)n * 2 + 1);
    int m = 0;
    for (int i = 0; i < n; i++) m += utf8_encode(t->byte_to_char[(uint8_t)bytes[i]], mapped + m);
    mapped[m] = 0;
    if (t->v.ignore_merges) {
        ptrdiff_t k = stbds_shgeti(t->tok2id, mapped);
        if (k >= 0) {
            token_list_push(out, t->tok2id[k].value, offset);
            if (mapped != small) free(mapped);
            return;
        }
    }
    ptrdiff_t ck = n < 256 ? stbds_shgeti(t->cache, mapped) : -1;
    if (ck >= 0) {
        int at = t->cache[ck].value, count = t->cache_ids[at], off = offset;
        for (int k = 0; k < count; k++) {
            token_list_push(out, t->cache_ids[at + 1 + 2 * k], off);
            off += t->cache_ids[at + 2 + 2 * k];
        }
        if (mapped != small) free(mapped);
        return;
    }
    int *id = xmalloc(sizeof(int) * (size_t)n * 4), *len = id + n, *prev = id + 2 * n, *next = id + 3 * n;
    for (int i = 0; i < n; i++) {
        id[i] = t->byte_token[(uint8_t)bytes[i]];
        if (id[i] < 0) die("the tokenizer has no token for byte 0x%02x", (uint8_t)bytes[i]);
        len[i] = 1, prev[i] = i - 1, next[i] = i + 1 < n ? i + 1 : -1;
    }
    HeapItem *heap = NULL;
    int hn = 0, hcap = 0;
    for (int i = 0; i + 1 < n; i++) {
        MergeEntry *e = find_merge(t, id[i], id[i + 1]);
        if (e) heap_push(&heap, &hn, &hcap, (HeapItem){e->value.rank, i, id[i], id[i + 1]});
    }
    while (hn > 0) {
        HeapItem it = heap_pop(heap, &hn);
        int a = it.pos, b = next[a];
        if (len[a] == 0 || b < 0 || id[a] != it.left || id[b] != it.right) continue; /* stale */
        MergeEntry *e = find_merge(t, id[a], id[b]);
        id[a] = e->value.result;
        len[a] += len[b];
        len[b] = 0;
        next[a] = next[b];
        if (next[b] >= 0) prev[next[b]] = a;
        if (prev[a] >= 0) {
            MergeEntry *l = find_merge(t, id[prev[a]], id[a]);
            if (l) heap_push(&heap, &hn, &hcap, (HeapItem){l->value.rank, prev[a], id[prev[a]], id[a]});
        }
        if (next[a] >= 0) {
            MergeEntry *r = find_merge(t, id[a], id[next[a]]);
            if (r) heap_push(&heap, &hn, &hcap, (HeapItem){r->value.rank, a, id[a], id[next[a]]});
        }
    }
    int count = 0, off = offset;
    for (int i = 0; i >= 0; i = next[i]) count++;
    if (n < 256) { /* remember short pre-tokens: text repeats words a lot */
        if (stbds_shlen(t->cache) > 200000) {
            stbds_shfree(t->cache);
            stbds_sh_new_arena(t->cache);
            stbds_arrsetlen(t->cache_ids, 0);
        }
        int at = (int)stbds_arrlen(t->cache_ids);
        stbds_arrput(t->cache_ids, count);
        for (int i = 0; i >= 0; i = next[i]) {
            stbds_arrput(t->cache_ids, id[i]);
            stbds_arrput(t->cache_ids, len[i]);
        }
        stbds_shput(t->cache, mapped, at);
    }
    for (int i = 0; i >= 0; i = next[i]) {
        token_list_push(out, id[i], off);
        off += len[i];
    }
    free(heap);
    free(id);
    if (mapped != small) free(mapped);
}

/* ---------------------------------------------------------------- encode */

char *tokenizer_normalize(const Tokenizer *t, const char *text, size_t len, size_t *out_len) {
    if (!t->v.nfc) {
        char *s = xmalloc(len + 1);
        memcpy(s, text, len);
        s[len] = 0;
        *out_len = len;
        return s;
    }
    utf8proc_uint8_t *dst = NULL;
    utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)text, (utf8proc_ssize_t)len, &dst,
                                      UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (n < 0) die("NFC normalization failed: %s", utf8proc_errmsg(n));
    *out_len = (size_t)n;
    return (char *)dst;
}

void tokenizer_encode_normalized(Tokenizer *t, const char *text, size_t len, int base_offset, TokenList *out) {
    /* code points and their byte offsets */
    uint32_t *cp = xmalloc(sizeof(uint32_t) * (len + 1));
    int *at = xmalloc(sizeof(int) * (len + 1));
    int n = 0;
    for (size_t i = 0; i < len;) {
        int l;
        at[n] = (int)i;
        cp[n++] = utf8_next(text + i, &l);
        i += (size_t)l;
    }
    at[n] = (int)len;
    for (int i = 0; i < n;) {
        int k = pretoken_len(cp, n, i, t->max_digits);
        bpe(t, text + at[i], at[i + k] - at[i], base_offset + at[i], out);
        i += k;
    }
    free(cp);
    free(at);
}

static void encode_segment(Tokenizer *t, const char *text, size_t len, int base, TokenList *out) {
    size_t nlen;
    char *norm = tokenizer_normalize(t, text, len, &nlen);
    tokenizer_encode_normalized(t, norm, nlen, base, out);
    free(norm);
}

void tokenizer_encode(Tokenizer *t, const char *text, size_t len, int match_added, TokenList *out) {
    size_t clen;
    char *clean = utf8_sanitize(text, len, &clen);
    size_t start = 0;
    if (match_added)
        for (size_t i = 0; i < clen; i++) {
            if (!t->added_first[(uint8_t)clean[i]]) continue;
            for (int k = 0; k < t->n_added; k++) {
                const AddedToken *a = &t->added[k];
                if ((size_t)a->len <= clen - i && memcmp(clean + i, a->text, (size_t)a->len) == 0) {
                    if (i > start) encode_segment(t, clean + start, i - start, (int)start, out);
                    token_list_push(out, a->id, (int)i);
                    i += (size_t)a->len - 1;
                    start = i + 1;
                    break;
                }
            }
        }
    if (clen > start) encode_segment(t, clean + start, clen - start, (int)start, out);
    free(clean);
}

/* ---------------------------------------------------------------- decode */

/* Replace every `from` by `to` in the len bytes of *s (which may hold NUL bytes). */
static void replace_all(char **s, const char *from, const char *to, size_t *len) {
    size_t fl = strlen(from), tl = strlen(to), o = 0;
    char *p = *s, *w = xmalloc(*len + 1);
    for (size_t i = 0; i < *len;) {
        if (i + fl <= *len && memcmp(p + i, from, fl) == 0) memcpy(w + o, to, tl), o += tl, i += fl;
        else w[o++] = p[i++];
    }
    w[o] = 0;
    free(*s);
    *s = w;
    *len = o;
}

char *tokenizer_decode(const Tokenizer *t, const int *ids, int n, size_t *out_len_p) {
    size_t cap = 64, len = 0;
    char *bytes = xmalloc(cap);
    for (int k = 0; k < n; k++) {
        const char *s = ids[k] >= 0 && ids[k] < t->v.n_tokens ? t->v.tokens[ids[k]] : NULL;
        if (!s) continue;
        size_t sl = strlen(s);
        if (len + sl + 1 > cap) bytes = xrealloc(bytes, cap = 2 * (len + sl + 1));
        int ty = t->v.types[ids[k]];
        if (ty == TOKEN_CONTROL || ty == TOKEN_USER_DEFINED) { /* added tokens are their text */
            memcpy(bytes + len, s, sl);
            len += sl;
            continue;
        }
        for (size_t i = 0; i < sl;) {
            int l;
            uint32_t c = utf8_next(s + i, &l);
            i += (size_t)l;
            if (c < 324 && t->char_to_byte[c] >= 0) bytes[len++] = (char)t->char_to_byte[c];
        }
    }
    size_t out_len;
    char *out = utf8_sanitize(bytes, len, &out_len); /* a token may end mid-character */
    free(bytes);
    if (t->clean_up_spaces) {
        static const char *const pairs[][2] = {{" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
                                                {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"},
                                                {" 're", "'re"}};
        for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) replace_all(&out, pairs[i][0], pairs[i][1], &out_len);
    }
    if (out_len_p) *out_len_p = out_len;
    return out;
}

const char *tokenizer_piece(const Tokenizer *t, int id) {
    return id >= 0 && id < t->v.n_tokens ? t->v.tokens[id] : NULL;
}

int tokenizer_token_id(const Tokenizer *t, const char *piece) {
    StrEntry *map = t->tok2id; /* the lookup macro assigns to its argument */
    ptrdiff_t k = stbds_shgeti(map, piece);
    return k >= 0 ? map[k].value : -1;
}

/* ---------------------------------------------------------------- construction */

static int cmp_added(const void *a, const void *b) {
    const AddedToken *x = a, *y = b;
    return y->len - x->len;
}

Tokenizer *tokenizer_new(Vocab *v, const char *where) {
    Tokenizer *t = xcalloc(1, sizeof *t);
    t->v = *v;
    memset(v, 0, sizeof *v);
    if (strcmp(t->v.pre, "qwen2") == 0) t->max_digits = 1;
    else if (strcmp(t->v.pre, "llama-bpe") == 0 || strcmp(t->v.pre, "llama3") == 0) t->max_digits = 3;
    else die("%s: pre-tokenizer \"%s\" is not supported (qwen2, llama-bpe)", where, t->v.pre);
    t->clean_up_spaces = t->v.clean_up_spaces;

    int n = 0; /* the byte-level alphabet (FORMATS.md 6.1) */
    for (int b = 0; b < 324; b++) t->char_to_byte[b] = -1;
    for (int b = 0; b < 256; b++) {
        int keep = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
        t->byte_to_char[b] = (uint16_t)(keep ? b : 256 + n++);
        t->char_to_byte[t->byte_to_char[b]] = b;
    }
    stbds_sh_new_arena(t->tok2id);
    stbds_sh_new_arena(t->cache);
    for (int i = 0; i < t->v.n_tokens; i++) {
        if (!t->v.tokens[i] || t->v.types[i] == TOKEN_UNUSED) continue;
        if (stbds_shgeti(t->tok2id, t->v.tokens[i]) < 0) stbds_shput(t->tok2id, t->v.tokens[i], i);
        if (t->v.types[i] == TOKEN_CONTROL || t->v.types[i] == TOKEN_USER_DEFINED) {
            stbds_arrput(t->added, ((AddedToken){t->v.tokens[i], (int)strlen(t->v.tokens[i]), i}));
            t->n_added++;
        }
    }
    if (t->n_added) qsort(t->added, (size_t)t->n_added, sizeof *t->added, cmp_added); /* NULL when none */
    for (int k = 0; k < t->n_added; k++)
        if (t->added[k].len > 0) t->added_first[(uint8_t)t->added[k].text[0]] = 1;
    for (int b = 0; b < 256; b++) {
        char s[4];
        int l = utf8_encode(t->byte_to_char[b], s);
        s[l] = 0;
        t->byte_token[b] = tokenizer_token_id(t, s);
    }
    for (int r = 0; r < t->v.n_merges; r++) {
        const char *m = t->v.merges[r], *sp = strchr(m + 1, ' '); /* tokens never hold a raw space */
        if (!sp) die("%s: merge %d (\"%s\") is not \"left right\"", where, r, m);
        char *left = xmalloc((size_t)(sp - m) + 1);
        memcpy(left, m, (size_t)(sp - m));
        left[sp - m] = 0;
        size_t ll = strlen(left), rl = strlen(sp + 1);
        char *joined = xmalloc(ll + rl + 1);
        memcpy(joined, left, ll);
        memcpy(joined + ll, sp + 1, rl + 1);
        int a = tokenizer_token_id(t, left), b = tokenizer_token_id(t, sp + 1), c = tokenizer_token_id(t, joined);
        if (a < 0 || b < 0 || c < 0)
            die("%s: merge %d (\"%s\") names a token that is not in the vocabulary", where, r, m);
        uint64_t key = pair_key(a, b);
        if (!find_merge(t, a, b)) { /* the first (lowest) rank of a pair wins */
            MergeEntry e = {key, {r, c}};
            stbds_hmputs(t->merges, e);
        }
        free(left);
        free(joined);
    }
    return t;
}

Tokenizer *tokenizer_load(const char *path) {
    Vocab v;
    size_t n = strlen(path);
    if (n > 5 && strcmp(path + n - 5, ".gguf") == 0 && !path_is_dir(path)) {
        Gguf g;
        gguf_open(&g, path);
        if (!vocab_from_gguf(&v, &g)) die("%s: no tokenizer in this GGUF (tokenizer.ggml.tokens is missing)", path);
        gguf_close(&g);
        Tokenizer *t = tokenizer_new(&v, path);
        return t;
    }
    vocab_from_hf(&v, path);
    char *where = path_join(path, "tokenizer.json");
    Tokenizer *t = tokenizer_new(&v, where);
    free(where);
    return t;
}

void tokenizer_free(Tokenizer *t) {
    if (!t) return;
    vocab_free(&t->v);
    stbds_shfree(t->tok2id);
    stbds_hmfree(t->merges);
    stbds_arrfree(t->added);
    stbds_shfree(t->cache);
    stbds_arrfree(t->cache_ids);
    free(t);
}
