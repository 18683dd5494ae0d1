/* Fuzz target: JSONL rows from a stranger (src/data.c tokenized_rows_load): the chat schemas
 * (ultrachat "messages", ultrafeedback "prompt"/"chosen"/"rejected") rendered with a chat
 * template and tokenized, and the pre-tokenized ones (input_ids/labels, prompt_/chosen_/
 * rejected_input_ids). Read as the trainer reads them (a short --seq-len, so truncation
 * happens), and when that stops at a bad line, again with --skip-bad-rows. Inputs of even
 * length get a tiny Qwen2 tokenizer (ChatML), odd ones a tiny Llama-3 one (its headers); each
 * try builds its own from a copy made once (tests/fuzz/corpus/tokenizer_json/tiny-*.json), so
 * nothing a die frees outlives the try. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "common.h"
#include "data.h"
#include "fuzz.h"
#include "tokenizer.h"

static Vocab pristine[2];
static const char *rows_path;
static int parity, skip_bad;
static FILE *devnull;

static char *dup_or_null(const char *s) { return s ? xstrdup(s) : NULL; }

static void vocab_copy(Vocab *d, const Vocab *s) {
    *d = *s;
    d->tokens = xmalloc(sizeof(char *) * (size_t)s->n_tokens);
    d->types = xmalloc(sizeof(int) * (size_t)s->n_tokens);
    memcpy(d->types, s->types, sizeof(int) * (size_t)s->n_tokens);
    for (int i = 0; i < s->n_tokens; i++) d->tokens[i] = dup_or_null(s->tokens[i]);
    d->merges = xmalloc(sizeof(char *) * (size_t)(s->n_merges + 1));
    for (int i = 0; i < s->n_merges; i++) d->merges[i] = xstrdup(s->merges[i]);
    d->pre = dup_or_null(s->pre);
    d->chat_template = dup_or_null(s->chat_template);
}

static void load_rows(void *unused) {
    Vocab v;
    vocab_copy(&v, &pristine[parity]);
    Tokenizer *tok = tokenizer_new(&v, "tiny tokenizer");
    ChatTemplate ct;
    chat_template_init(&ct, tok, NULL, "tiny tokenizer");
    DataOptions o = {.vocab_size = tokenizer_vocab(tok)->n_tokens, .seq_len = 96, .skip_bad_rows = skip_bad,
                     .chat = &ct};
    TokenizedRows d;
    tokenized_rows_load(&d, rows_path, &o);
    for (int i = 0; i < d.n_rows; i++) FUZZ_CHECK(tokenized_row_len(&d, i) <= o.seq_len, "row %d is too long", i);
    data_stats_print(&d.stats, rows_path, devnull);
    tokenized_rows_free(&d);
    chat_template_free(&ct);
    tokenizer_free(tok);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    static const char *const names[2] = {"tiny-qwen2.json", "tiny-llama3.json"};
    for (int k = 0; k < 2; k++) { /* tokenizer.json, NUL, tokenizer_config.json: tokenizer_json's inputs */
        char rel[128];
        snprintf(rel, sizeof rel, "tests/fuzz/corpus/tokenizer_json/%s", names[k]);
        size_t len;
        char *text = read_text_file(fuzz_repo_path(rel), &len);
        const char *nul = memchr(text, 0, len);
        FUZZ_CHECK(nul, "%s: no NUL between tokenizer.json and tokenizer_config.json", rel);
        make_dir(fuzz_path("tok"));
        fuzz_write("tok/tokenizer.json", text, (size_t)(nul - text));
        fuzz_write("tok/tokenizer_config.json", nul + 1, len - (size_t)(nul - text) - 1);
        vocab_from_hf(&pristine[k], fuzz_path("tok"));
        free(text);
    }
    devnull = fopen("/dev/null", "w");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    rows_path = fuzz_write("rows.jsonl", data, size);
    parity = (int)(size & 1);
    skip_bad = 0;
    if (fuzz_try(load_rows, NULL, 0)) {
        skip_bad = 1;
        fuzz_try(load_rows, NULL, 0);
    }
    fuzz_end();
    return 0;
}
