/* Fuzz target: BPE encoding of arbitrary bytes (src/tokenizer.c). The repository's tokenizer
 * (data/tokenizer, Qwen2's pre-tokenizer and NFC) and the same vocabulary with Llama-3's
 * (digits in threes, ignore_merges, no normalizer), loaded once; each input is encoded by
 * both, with added tokens matched and not, and decoded back. Checked: every id names a token,
 * offsets rise within the text, and decoding gives back the text exactly (after the UTF-8
 * repair and NFC that encoding applies). Nothing here may die: a die() exits the process,
 * which libFuzzer reports. */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "fuzz.h"
#include "tokenizer.h"

static Tokenizer *tok[2]; /* Qwen2, Llama-3 */

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    for (int k = 0; k < 2; k++) {
        Vocab v;
        vocab_from_hf(&v, fuzz_repo_path("data/tokenizer"));
        if (k == 1) {
            free(v.pre);
            v.pre = xstrdup("llama-bpe");
            v.nfc = 0;
            v.ignore_merges = 1;
            v.clean_up_spaces = 0;
        }
        FUZZ_CHECK(!v.clean_up_spaces, "data/tokenizer cleans up spaces: decoding would not give the text back");
        tok[k] = tokenizer_new(&v, "data/tokenizer");
    }
    return 0;
}

static void check(Tokenizer *t, const char *name, const uint8_t *data, size_t size, int match) {
    TokenList l = {0};
    tokenizer_encode(t, (const char *)data, size, match, &l);
    size_t clen, nlen, dlen;
    char *clean = utf8_sanitize((const char *)data, size, &clen);
    char *norm = tokenizer_normalize(t, clean, clen, &nlen);
    for (int i = 0; i < l.n; i++) {
        FUZZ_CHECK(tokenizer_piece(t, l.ids[i]), "%s: id %d names no token", name, l.ids[i]);
        if (!match) /* one segment: offsets are the normalized text's */
            FUZZ_CHECK(l.offsets[i] >= (i ? l.offsets[i - 1] : 0) && (size_t)l.offsets[i] < nlen,
                       "%s: token %d's offset %d is out of order or past the text (%zu bytes)", name, i,
                       l.offsets[i], nlen);
    }
    char *back = tokenizer_decode(t, l.ids, l.n, &dlen);
    /* with added tokens matched, Qwen2 normalizes the pieces between them apart: not checked */
    const char *want = match ? clean : norm;
    size_t wlen = match ? clen : nlen;
    if (!match || !tokenizer_vocab(t)->nfc)
        FUZZ_CHECK(dlen == wlen && memcmp(back, want, wlen) == 0,
                   "%s, match_added %d: decode(encode(text)) is not the text (%zu bytes back, %zu expected)", name,
                   match, dlen, wlen);
    free(back);
    free(norm);
    free(clean);
    token_list_free(&l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    for (int match = 0; match < 2; match++) {
        check(tok[0], "qwen2", data, size, match);
        check(tok[1], "llama-bpe", data, size, match);
    }
    fuzz_end();
    return 0;
}
