/* tokenizer.h: byte-level BPE as Hugging Face tokenizers does it (FORMATS.md section 6),
 * for the Qwen2 and Llama-3 pre-tokenizers, on top of the Vocab loaded from tokenizer.json
 * or a GGUF. Encoding: added-token split, NFC (Qwen2), the regex split by hand, then BPE
 * merges by rank through a heap (no quadratic loop on long pre-tokens). Decoding back to
 * UTF-8. Unicode categories and NFC come from utf8proc. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "vocab.h"

typedef struct Tokenizer Tokenizer;

/* A growable list of token ids, with each token's byte offset in the (normalized) text it
 * came from, which the chat templates use to tell which tokens a message produced. */
typedef struct {
    int *ids;
    int *offsets;
    int n, cap;
} TokenList;

void token_list_push(TokenList *l, int id, int offset);
void token_list_free(TokenList *l);

/* Takes ownership of *v. `where` names the source for error messages. */
Tokenizer *tokenizer_new(Vocab *v, const char *where);
/* From a model directory (tokenizer.json + tokenizer_config.json) or a .gguf file. */
Tokenizer *tokenizer_load(const char *path);
void tokenizer_free(Tokenizer *t);
const Vocab *tokenizer_vocab(const Tokenizer *t);

/* Invalid UTF-8 is first replaced: each maximal ill-formed subsequence becomes U+FFFD, as
 * Python's bytes.decode("utf-8", "replace") does. The result is malloc'd. */
char *utf8_sanitize(const char *s, size_t len, size_t *out_len);

/* Encode text as `tokenizer(text, add_special_tokens=False)` does. match_added: added tokens
 * written in the text become their ids (Hugging Face's behaviour); 0 treats them as plain
 * text (used for message contents, so a message cannot forge a special token). Appends to
 * out; offsets are relative to `base_offset` plus the normalized text's bytes. */
void tokenizer_encode(Tokenizer *t, const char *text, size_t len, int match_added, TokenList *out);
/* Normalize (NFC for Qwen2; identity otherwise) into a malloc'd string; the text must be
 * valid UTF-8. Pre-tokenize + BPE of already normalized text, appending ids with offsets. */
char *tokenizer_normalize(const Tokenizer *t, const char *text, size_t len, size_t *out_len);
void tokenizer_encode_normalized(Tokenizer *t, const char *text, size_t len, int base_offset, TokenList *out);

/* Decode ids to UTF-8 (malloc'd, NUL-terminated; its length in *len, since U+0000 may be
 * inside), as Hugging Face's decode with skip_special_tokens=False (and
 * clean_up_tokenization_spaces when the tokenizer's config asks for it). */
char *tokenizer_decode(const Tokenizer *t, const int *ids, int n, size_t *len);
/* The token's string in the vocabulary (byte-level form, e.g. "Ġthe"), or NULL. */
const char *tokenizer_piece(const Tokenizer *t, int id);
/* Id of an exact token string (vocabulary or added), or -1. */
int tokenizer_token_id(const Tokenizer *t, const char *piece);
