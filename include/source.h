/* source.h: what a stage starts from: the model (files, or a config to initialise from the
 * seed), the types a frozen base is kept in, the adapter, the tokenizer, and the arena's
 * shape for the stage. Shared by every stage (train.c, generate.c). */
#pragma once
#include "args.h"
#include "model.h"
#include "model_io.h"
#include "tokenizer.h"

typedef struct {
    ModelFiles files;   /* files.path == NULL: no weights, initialise from --seed */
    ModelConfig cfg;
    char *config_name;
    uint32_t *types;    /* a frozen base's type per tensor (RunShape.base_types) */
    LoraConfig lora;    /* r 0: no adapter */
    char *adapter;      /* the adapter's starting values come from this directory (else PEFT's init) */
    char *base_model;   /* base_model_name_or_path for the adapters this run writes */
} ModelSource;

/* --model (a Hugging Face directory or a GGUF, its config checked against a run config's
 * model_config), else --config's model_config, else the default model; the frozen base's
 * types (as stored, or --base-dtype; weights: the run will fill them, not only plan); the
 * adapter (--adapter's config, LoRA flags checked against it, or a new one from --lora-*). */
void source_resolve(ModelSource *src, const Options *o, int weights);
/* Everything source_resolve allocated (after the stage's model is destroyed: its config
 * shares the parsed config.json). */
void source_free(ModelSource *src);
/* Fill the arena: the decoder's weights from the files (or initialised from the seed), and
 * the adapter from --adapter (or PEFT's initialisation). */
void source_load(ModelSource *src, Model *m, const Options *o);
/* What the stage keeps in memory. The base is frozen (kept as stored) unless every weight is
 * trained: in eval, generate and convert, and under LoRA. */
RunShape source_shape(const Options *o, const ModelSource *src, int pref, int seq_len);
/* The tokenizer of --model (a directory's tokenizer.json or a .gguf's keys), else the
 * default model's in data/tokenizer. NULL when the model has none (tokenized rows only). */
Tokenizer *source_tokenizer(const Options *o, int required);
int stage_is_training(const Options *o);
/* An absolute path where one can be had: what base_model_name_or_path should say. */
char *absolute_path(const char *p);
