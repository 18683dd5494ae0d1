/* vocab.h: a byte-level BPE tokenizer's data, whichever file it came from: token strings
 * (in the byte-to-unicode alphabet, FORMATS.md 6.1), token types, merges, special ids,
 * the pre-tokenizer's name and the chat template. Read from tokenizer.json (+
 * tokenizer_config.json) or a GGUF's tokenizer.ggml.* keys; written to either, so a model
 * converted between the formats keeps its tokenizer. The encoder builds on this. */
#pragma once
#include "gguf.h"

enum { TOKEN_NORMAL = 1, TOKEN_UNKNOWN = 2, TOKEN_CONTROL = 3, TOKEN_USER_DEFINED = 4, TOKEN_UNUSED = 5,
       TOKEN_BYTE = 6 };

typedef struct {
    int n_tokens;        /* ids 0 .. n_tokens-1 */
    int cap_tokens;      /* allocated room in tokens and types */
    char **tokens;       /* NUL-terminated; NULL for ids nothing names */
    int *types;          /* TOKEN_* */
    int n_merges;
    char **merges;       /* "left right", index = rank */
    char *pre;           /* pre-tokenizer: "qwen2" or "llama-bpe" */
    int nfc;             /* NFC normalizer (Qwen2) */
    int ignore_merges;   /* Llama-3: a whole pre-token found in the vocab is one token */
    int bos_id, eos_id, pad_id; /* -1 when absent */
    int add_bos;
    char *chat_template; /* or NULL */
    int clean_up_spaces; /* decode's clean_up_tokenization_spaces */
} Vocab;

/* dir holds tokenizer.json (required) and tokenizer_config.json (optional). */
void vocab_from_hf(Vocab *v, const char *dir);
/* Returns 0 when the file has no tokenizer.ggml.tokens. */
int vocab_from_gguf(Vocab *v, const Gguf *g);
/* Pad with "[PAD<id>]" UNUSED entries up to n (the embedding's rows), as llama.cpp does. */
void vocab_pad_to(Vocab *v, int n);
void vocab_to_gguf(const Vocab *v, GgufWriter *w);
/* Writes tokenizer.json and tokenizer_config.json into dir. */
void vocab_write_hf(const Vocab *v, const char *dir);
void vocab_free(Vocab *v);
int vocab_find(const Vocab *v, const char *token); /* linear search; -1 when absent */
/* The pre-tokenizer regex as tokenizer.json writes it (FORMATS.md 6.3). */
const char *vocab_pre_regex(const char *pre);
