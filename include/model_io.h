/* model_io.h: moving weights between files and the arena.
 *
 * A model comes from a Hugging Face directory (config.json + safetensors) or a GGUF file.
 * model_files_open reads only what describes the model (the config), so plans can be made
 * before anything big is touched; model_files_load then streams the weights into the arena. */
#pragma once
#include "gguf.h"
#include "model.h"
#include "safetensors.h"
#include "vocab.h"

typedef struct {
    char *path;         /* as given */
    char *config_name;  /* what error lines call the config: DIR/config.json or FILE.gguf */
    int is_gguf;
    Gguf gguf;          /* open (mapped) while is_gguf: the tokenizer reads its metadata too */
    StSet st;           /* the safetensors files, headers read, while !is_gguf */
    ModelConfig cfg;
} ModelFiles;

void model_files_open(ModelFiles *f, const char *path);
/* The decoder's weights into the model: the fp32 parameters, or a frozen base kept in the
 * types its plan gave it (the file's own, or converted to F32, F16, BF16 or Q8_0 as it is
 * read). Llama's Q/K rows come back to Hugging Face order in any type. */
void model_files_load(ModelFiles *f, Model *m);
/* The same into the reference copy (REF_FP32 or REF_BF16), e.g. eval's --ref-model. */
void model_files_load_ref(ModelFiles *f, Model *m);
/* The type each decoder tensor is stored in, index kind * n_layers + layer (vectors F32):
 * what RunShape.base_types asks for to keep the base as the file has it. */
void model_files_types(const ModelFiles *f, uint32_t *types);
void model_files_close(ModelFiles *f);
void vocab_check_fits(const Vocab *v, const ModelConfig *c, const char *where);

/* ModelConfig from GGUF metadata (FORMATS.md 1.5) and its tensor list. */
void config_from_gguf(ModelConfig *c, const Gguf *g);

/* Write a Hugging Face model directory: config.json and the weights (sharded above
 * max_shard_bytes, 0 = never), a few rows at a time from whatever type they are kept in;
 * merge: with the adapter merged into its layers (W + s B A). */
void model_save_hf(const Model *m, const char *dir, StDtype dtype, uint64_t max_shard_bytes, int merge);

/* The tokenizer files that go with a checkpoint: copied from a source directory, or
 * tokenizer.json + tokenizer_config.json made from a source GGUF's tokenizer keys. */
void model_save_tokenizer_hf(const ModelFiles *src, const ModelConfig *c, const char *dir);

/* Write a GGUF file llama.cpp can load: its metadata and tensor names, Q/K rows permuted
 * back for llama, 2-D tensors as `type` (F32, F16, BF16 or Q8_0), 1-D tensors F32.
 * Tokenizer keys: a GGUF source's copied verbatim, a directory's tokenizer.json converted. */
void model_export_gguf(const Model *m, const char *path, uint32_t type, const ModelFiles *tok_src, int merge);
