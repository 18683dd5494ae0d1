/* model_io.h: moving weights between files and the arena. */
#pragma once
#include "model.h"
#include "safetensors.h"

/* Fill m->params from a Hugging Face safetensors directory (or file) whose tensors must
 * match m->cfg exactly: names, shapes, nothing missing, nothing unexpected. */
void model_load_safetensors(Model *m, const char *path);

/* Write a Hugging Face model directory: config.json and the weights (sharded above
 * max_shard_bytes, 0 = never). */
void model_save_hf(const Model *m, const char *dir, StDtype dtype, uint64_t max_shard_bytes);
