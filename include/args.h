/* args.h: command-line flags, and --config FILE (a JSON object whose keys are flag names;
 * flags given on the command line win over the file). */
#pragma once
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
    const char *stage;         /* eval, convert; sft and pref are planned only (--dry-run) today */
    const char *model;         /* HF model directory (config.json + safetensors) */
    const char *data;          /* JSONL rows */
    const char *out;           /* output file (eval) or directory (convert, training) */
    const char *config;        /* run config JSON */
    int dry_run;               /* print the arena plan and exit */
    int batch_size;            /* rows per step (preference: pairs) */
    int grad_accum;
    int seq_len;
    int threads;
    long long seed;
    double lr, weight_decay;
    int warmup, max_steps, epochs;
    const char *loss;          /* dpo | spo | ipo | hinge */
    double beta;
    double label_smoothing;    /* dpo: conservative DPO epsilon */
    double max_grad_norm;
    int save_every, keep_last;
    const char *resume;        /* a checkpoint (or a run directory: its newest checkpoint) */
    int recompute;             /* activations recomputed layer by layer in the backward */
    int precompute_ref;        /* reference log-probs computed once, weights not kept */
    const char *ref_model;     /* eval: the reference for rewards */
    const char *prompt;        /* generate */
    int max_new_tokens;
    int num_samples;           /* generate: completions per prompt */
    int no_kv_cache;           /* generate: the reference loop without a cache */
    double temperature, top_p;
    const char *dtype;         /* the matrix products' inputs: fp32 | bf16 (gemm.h) */
    const char *ref_dtype;     /* fp32 | bf16 */
    const char *save_dtype;    /* f32 | bf16 | f16 | q8_0 (GGUF only) */
    const char *export_gguf;   /* also write the model as this GGUF file */
    const char *max_shard_size;
    int report_memory;
    int log_pairs;             /* pref: per-pair lines in <out>/pairs.jsonl */
    const char *chat_template; /* chatml | llama3 (default: from the tokenizer's special tokens) */
    int packing;               /* SFT: several rows per sequence */
    int skip_bad_rows;         /* count malformed JSONL lines instead of stopping */
    int shuffle;               /* training: a seeded shuffle of the rows every epoch */
    int max_bad_steps;         /* training: non-finite steps skipped before the run stops */
    int mpi_timeout;           /* seconds a collective may wait (dist.h) */
    int overlap_allreduce;     /* start each layer's gradient sum inside the backward */
    int lora_r;                /* LoRA rank (0: full fine-tuning) */
    double lora_alpha;         /* 0: 2 * lora_r */
    double lora_dropout;
    const char *lora_targets;  /* NULL: all-linear */
    int use_rslora;
    const char *adapter;       /* a PEFT adapter directory */
    const char *base_dtype;    /* stored | f32 | bf16 | f16 | q8_0 (| planning-only block types) */
    int merge;                 /* convert: merge the adapter into the weights */
    const char *text;          /* --stage tokenize: text to encode */
    const char *text_file;     /* --stage tokenize: JSONL of strings */
    cJSON *model_config;       /* "model_config" from the --config file, if any */
    const char *config_path;
    unsigned char given[64];   /* flags set on the command line (they win over files) */
} Options;

/* Apply a JSON object of flags (a --config file, or a checkpoint's saved args), leaving the
 * flags given on the command line as they are. */
void options_apply_json(Options *o, const cJSON *j, const char *where);
/* The effective flags as a JSON object, for trainer_state.json. */
cJSON *options_to_json(const Options *o);
/* --resume: every flag given now must agree with the checkpoint's run (`saved`), except those
 * a resumed run may change (--out, --threads, --save-every, ...); one error line otherwise. */
void options_check_resume(const Options *o, const cJSON *saved, const char *ckpt);

void options_parse(Options *o, int argc, char **argv);
void options_validate(Options *o);
void options_print_help(FILE *f);
/* Bytes from "5GB", "500MB", "2GiB", "123" (bytes). Dies on a bad value naming the flag. */
uint64_t parse_size(const char *s, const char *flag);
