/* Fuzz target: a model's tokenizer files from a stranger (src/vocab.c, src/tokenizer.c,
 * src/chat.c): the input up to its first NUL byte is tokenizer.json, the rest (if any)
 * tokenizer_config.json (JSON text holds no raw NUL, so nothing is lost). tokenizer_load on
 * the directory, a fixed text encoded both ways and decoded; then the chat template chosen
 * from its special tokens and a conversation rendered with it. One try: the tokenizer's cache
 * grows as it encodes, so nothing of it may outlive a die. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chat.h"
#include "common.h"
#include "fuzz.h"
#include "tokenizer.h"

static const char text[] = "Hello world, it's 2024!\n\n<|im_start|>user  caf\xc3\xa9 \xf0\x9f\x91\x8d <|eot_id|>x";

static void load(void *unused) {
    Tokenizer *tok = tokenizer_load(fuzz_path("tok"));
    for (int match = 0; match < 2; match++) {
        TokenList l = {0};
        tokenizer_encode(tok, text, sizeof text - 1, match, &l);
        size_t n;
        free(tokenizer_decode(tok, l.ids, l.n, &n));
        for (int i = 0; i < l.n; i++) tokenizer_piece(tok, l.ids[i]);
        token_list_free(&l);
    }
    ChatTemplate ct;
    chat_template_init(&ct, tok, NULL, "tokenizer_config.json");
    ChatMessage m[] = {{"system", "Be brief."}, {"user", text}, {"assistant", " Sure: 42 <|im_end|>"}};
    TokenList l = {0};
    uint8_t *mask;
    chat_render_tokens(&ct, m, 3, 0, &l, &mask);
    free(mask);
    chat_render_response(&ct, "  ok  ", &l);
    free(chat_render_text(&ct, m, 3, 1));
    token_list_free(&l);
    chat_template_free(&ct);
    tokenizer_free(tok);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    make_dir(fuzz_path("tok"));
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nul = memchr(data, 0, size);
    size_t n = nul ? (size_t)(nul - data) : size;
    fuzz_write("tok/tokenizer.json", data, n);
    if (nul) fuzz_write("tok/tokenizer_config.json", nul + 1, size - n - 1);
    else unlink(fuzz_path("tok/tokenizer_config.json"));
    fuzz_try(load, NULL, 0);
    fuzz_end();
    return 0;
}
