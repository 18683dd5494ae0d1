/* checkpoint.h: a training run's checkpoints, OUT/checkpoint-<step>/:
 *   config.json, model.safetensors (+ tokenizer files)  a Hugging Face model, loadable as is;
 *                           with LoRA instead adapter_config.json + adapter_model.safetensors,
 *                           PEFT's adapter directory (base_model_name_or_path = the run's base)
 *   optimizer.safetensors   AdamW moments ("exp_avg.<name>", "exp_avg_sq.<name>"), and the fp32
 *                           master weights ("master.<name>") when the model was saved in 16 bits
 *   trainer_state.json      step, data position (epoch, cursor), the run's flags, its reference
 * Written into a temporary directory and renamed into place, so a crash at any moment
 * leaves the previous checkpoint whole. */
#pragma once
#include <cjson/cJSON.h>

#include "model.h"
#include "model_io.h"

typedef struct {
    int step, total_steps, epoch, cursor;
    int bad_steps;        /* steps skipped for a non-finite loss or gradient */
    uint64_t data_hash;   /* of the tokenized rows trained on (0: not recorded) */
    cJSON *args;          /* the run's effective flags (options_to_json) */
    char *ref_cache;      /* file of precomputed reference log-probs, or NULL */
} TrainerState;

/* tok_src: where the tokenizer files come from (a model directory or GGUF), or NULL for
 * tok_dir, a directory holding tokenizer.json and tokenizer_config.json. */
void checkpoint_save(const char *run_dir, const Model *m, const TrainerState *st, const ModelFiles *tok_src,
                     const char *tok_dir, StDtype dtype, uint64_t max_shard, const char *base_model);
/* A checkpoint directory itself, or the newest checkpoint in a run directory; NULL if none. */
char *checkpoint_find(const char *path);
void checkpoint_read_state(const char *ckpt, TrainerState *st);
/* Parameters (fp32, from the master copy when the model or adapter was saved in 16 bits) and
 * moments. */
void checkpoint_load_weights(const char *ckpt, Model *m);
void checkpoint_keep_last(const char *run_dir, int keep);
/* Bytes one checkpoint of this model takes on disk (weights or adapter in `dtype`, the
 * optimizer's moments and master copy, tokenizer files: an estimate within a few KiB). */
uint64_t checkpoint_bytes(const Model *m, StDtype dtype);
/* Before training: dies with one line if run_dir cannot be written or its file system has
 * less free space than `need` bytes. */
void checkpoint_check_room(const char *run_dir, uint64_t need);
/* Leftovers of a write that was killed midway. */
void checkpoint_remove_partial(const char *run_dir);
