/* config.h: the decoder's architecture, read from a Hugging Face config.json
 * (Qwen2ForCausalLM or LlamaForCausalLM; FORMATS.md section 5). */
#pragma once
#include <cjson/cJSON.h>

typedef enum { ARCH_QWEN2 = 0, ARCH_LLAMA = 1 } ModelArch;
typedef enum { ROPE_SCALING_NONE = 0, ROPE_SCALING_LINEAR = 1, ROPE_SCALING_LLAMA3 = 2 } RopeScaling;

typedef struct {
    ModelArch arch;
    int dim;            /* hidden_size, E */
    int n_layers;       /* num_hidden_layers, L */
    int n_heads;        /* num_attention_heads */
    int n_kv_heads;     /* num_key_value_heads (GQA; = n_heads without GQA) */
    int head_dim;       /* D: explicit head_dim or dim / n_heads */
    int ffn_dim;        /* intermediate_size, F */
    int vocab_size;     /* embedding rows, V */
    int max_pos;        /* max_position_embeddings (informational) */
    double rope_theta;
    double norm_eps;    /* rms_norm_eps */
    int qkv_bias;       /* Qwen2: always; Llama: attention_bias */
    int tie_embeddings; /* lm_head shares embed_tokens */
    RopeScaling rope_scaling;
    double rope_factor, rope_low_freq_factor, rope_high_freq_factor;
    int rope_orig_max_pos;
    double init_std;    /* initializer_range, for models made from scratch */
    float *rope_freq_factors; /* D/2 divisors of the inverse frequencies (GGUF rope_freqs), or NULL */
    int bos_token_id, eos_token_id; /* -1 when absent */
    cJSON *source;      /* the parsed config.json, kept so checkpoints write it back whole */
} ModelConfig;

/* Parse and validate; `where` names the file for error messages. Dies on bad input. */
void config_from_json(ModelConfig *c, const cJSON *json, const char *where);
void config_load_file(ModelConfig *c, const char *path);
/* A config.json object for this config (the source's fields kept, ours written over them). */
cJSON *config_to_json(const ModelConfig *c, const char *torch_dtype);
/* Dies with a clear line when two configs describe different architectures. */
void config_check_same(const ModelConfig *a, const char *a_name, const ModelConfig *b, const char *b_name);

/* RoPE inverse frequencies, D/2 of them, in fp32 as transformers computes them, with
 * linear or Llama-3.1 "llama3" scaling applied (FORMATS.md 5.3, 5.4), or divided by the
 * rope_freqs factors a GGUF file carries instead (FORMATS.md 3.3). */
void config_rope_inv_freq(const ModelConfig *c, float *inv_freq);

/* A GGUF's rope_freqs factors, when they are exactly what llama3 scaling with some factor
 * (and Llama-3.1's low 1, high 4, original context 8192) produces, become that rope_scaling
 * so config.json can say it. Returns 0 when they are something else. */
int config_factors_to_llama3(ModelConfig *c);

long long config_param_count(const ModelConfig *c);
const char *config_arch_name(ModelArch a);
