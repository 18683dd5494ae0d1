/* chat.h: chat templates without a Jinja interpreter: Qwen2.5's ChatML and Llama-3's
 * headers (FORMATS.md 6.5), chosen from the tokenizer's special tokens or by name.
 *
 * A conversation is rendered as the template's text would be, then tokenized one text
 * segment at a time (the stretches between special tokens), exactly as Hugging Face
 * tokenizes the rendered string. Special tokens come from the template as ids: text inside
 * a message that looks like a special token stays text. Each token carries a flag saying
 * whether it belongs to an assistant message (its content and end-of-turn token). */
#pragma once
#include <stdint.h>

#include "tokenizer.h"

typedef enum { CHAT_CHATML, CHAT_LLAMA3 } ChatFormat;

typedef struct {
    const char *role;     /* "system", "user", "assistant" */
    const char *content;
} ChatMessage;

typedef struct {
    ChatFormat format;
    Tokenizer *tok;
    char *default_system; /* ChatML: injected when the first message is not a system one */
    int bos, im_start, im_end, start_header, end_header, eot;
} ChatTemplate;

/* name: NULL (pick from the tokenizer), "chatml" or "llama3". */
void chat_template_init(ChatTemplate *ct, Tokenizer *tok, const char *name, const char *where);
void chat_template_free(ChatTemplate *ct);

/* Tokens of the conversation (+ the generation prompt), appended to ids; assistant[i] = 1
 * for tokens of assistant contents and their end-of-turn token (caller frees *assistant). */
void chat_render_tokens(ChatTemplate *ct, const ChatMessage *m, int n, int add_generation_prompt, TokenList *ids,
                        uint8_t **assistant);
/* The rendered text, as the template would print it (tests compare it with the reference). */
char *chat_render_text(const ChatTemplate *ct, const ChatMessage *m, int n, int add_generation_prompt);
/* One assistant response on its own: content then end-of-turn, as a completion after a
 * prompt rendered with the generation prompt. */
void chat_render_response(ChatTemplate *ct, const char *content, TokenList *ids);
/* The default system text a Qwen-style Jinja chat template injects, or NULL. */
char *chat_default_system_from_jinja(const char *jinja);
