/* model.h: a Qwen2 / Llama decoder in one arena; forward and hand-written backward.
 *
 * The parameter table lists every tensor a model can have: the decoder's own weights and,
 * with LoRA, an adapter pair (A, B) for each of seven linear layers. The tensors that are
 * trained, fp32, of one kind stored for all layers back to back (llm.c's layout), form one
 * flat array, so the optimizer sees a single vector and gradients mirror it exactly: the
 * whole decoder in full fine-tuning, the adapter alone with LoRA. A frozen base (LoRA, eval,
 * generate, convert) instead stays in the type its file stores it in (F32, F16, BF16 or
 * quantized blocks); forwards read every decoder weight through a typed view (ops.h Weight). */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "config.h"
#include "ops.h"

typedef enum {
    P_EMBED,      /* model.embed_tokens.weight                    [V, E] */
    P_ATTN_NORM,  /* model.layers.N.input_layernorm.weight         [E] */
    P_WQ,         /* model.layers.N.self_attn.q_proj.weight        [nh*D, E] */
    P_BQ,         /* model.layers.N.self_attn.q_proj.bias          [nh*D]    (qkv_bias only) */
    P_WK,         /* model.layers.N.self_attn.k_proj.weight        [nkv*D, E] */
    P_BK,         /* model.layers.N.self_attn.k_proj.bias          [nkv*D] */
    P_WV,         /* model.layers.N.self_attn.v_proj.weight        [nkv*D, E] */
    P_BV,         /* model.layers.N.self_attn.v_proj.bias          [nkv*D] */
    P_WO,         /* model.layers.N.self_attn.o_proj.weight        [E, nh*D] */
    P_FFN_NORM,   /* model.layers.N.post_attention_layernorm.weight [E] */
    P_WG,         /* model.layers.N.mlp.gate_proj.weight           [F, E] */
    P_WU,         /* model.layers.N.mlp.up_proj.weight             [F, E] */
    P_WD,         /* model.layers.N.mlp.down_proj.weight           [E, F] */
    P_FINAL_NORM, /* model.norm.weight                             [E] */
    P_LM_HEAD,    /* lm_head.weight                                [V, E]    (absent when tied) */
    /* LoRA (--lora-r R > 0), PEFT's names: base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight
     * [R, in] and ...lora_B.weight [out, R], for q, k, v, o, gate, up and down in that order */
    P_QA, P_QB, P_KA, P_KB, P_VA, P_VB, P_OA, P_OB, P_GA, P_GB, P_UA, P_UB, P_DA, P_DB,
    P_KINDS
} ParamKind;
#define P_BASE_KINDS (P_LM_HEAD + 1) /* the decoder's own tensors: kinds below this */

/* The linear layers LoRA adapts (PEFT's target_modules; "all-linear" is all seven). */
typedef enum { T_Q, T_K, T_V, T_O, T_GATE, T_UP, T_DOWN, LORA_TARGETS } LoraTarget;
extern const char *const lora_target_names[LORA_TARGETS]; /* "q_proj", ... "down_proj" */
static inline ParamKind lora_a_kind(LoraTarget t) { return (ParamKind)(P_QA + 2 * (int)t); }
static inline ParamKind lora_b_kind(LoraTarget t) { return (ParamKind)(P_QA + 2 * (int)t + 1); }

typedef struct {
    int r;            /* rank; 0: no adapter */
    double alpha;     /* lora_alpha */
    double dropout;   /* lora_dropout: on the adapted layers' inputs, in training forwards only */
    unsigned targets; /* bit t: LoraTarget t is adapted */
    int rslora;       /* scale alpha / sqrt(r) instead of alpha / r */
} LoraConfig;
/* s in y = W x + b + s B A x */
double lora_scale(const LoraConfig *l);

typedef struct {
    int present;        /* 0: no bias in this architecture, lm_head tied, or not an adapted layer */
    int frozen;         /* kept in the frozen base region in its stored type, not trained */
    int per_layer;
    int ndim;
    size_t rows, cols;  /* shape [rows, cols] for ndim 2, [rows] for ndim 1 (per layer) */
    size_t numel;       /* per layer */
    size_t offset;      /* into the flat fp32 parameter array, of layer 0 (not frozen kinds) */
} ParamInfo;

/* The name of one tensor: Hugging Face's, e.g. "model.layers.3.mlp.up_proj.weight", or
 * PEFT's for the adapter kinds. */
void param_name(ParamKind kind, int layer, char *buf, size_t size);
/* Shapes and offsets for a config, an adapter (NULL or r 0: none) and whether the decoder's
 * weights are a frozen base; returns the count of fp32 parameters. */
size_t param_layout(const ModelConfig *c, const LoraConfig *lora, int frozen_base, ParamInfo info[P_KINDS]);

typedef enum {
    REF_NONE = 0,    /* no reference in memory (SFT, or --precompute-ref) */
    REF_FP32 = 1,    /* full fine-tuning: a frozen copy of the starting weights, fp32 */
    REF_BF16 = 2,    /* the same with its matrices in bf16 (--ref-dtype bf16) */
    REF_BASE = 3,    /* LoRA: the base with the adapter off; costs no memory */
    REF_ADAPTER = 4, /* LoRA: the base with a frozen copy of the starting adapter (TRL's ref adapter) */
} RefMode;

/* What a run needs room for; the arena plan follows from this and the config. */
typedef struct {
    int batch;     /* sequences per forward pass (B) */
    int seq_len;   /* longest sequence (T) */
    int threads;   /* OpenMP threads (attention keeps a row buffer per thread) */
    int train;     /* gradients, kept activations, backward scratch */
    int adam;      /* AdamW moments */
    RefMode ref;   /* frozen reference weights kept in memory */
    int recompute; /* keep only each layer's input; the backward recomputes the rest */
    int pairs;     /* preference training: the LM head's tile holds a pair's scored tokens,
                      up to LMHEAD_ROWS, so the pair's head runs forward and backward at once */
    LoraConfig lora;            /* an adapter (r > 0): the trained parameters, or applied in eval */
    int kv_seqs;                /* generation: sequences of up to seq_len tokens whose keys and
                                   values are cached (model_forward_cached); 0: none */
    const uint32_t *base_types; /* a frozen base: the ggml type of each decoder tensor, index
                                   kind * n_layers + layer (model_files_types); vectors F32.
                                   NULL: the decoder's weights are the fp32 parameters */
} RunShape;

/* One forward's tokens. targets[n] is the token that position n predicts (the label
 * shift already applied), -1 where nothing is scored. seg and pos as in ops.h. */
typedef struct {
    int B, T;
    int *tokens, *targets, *pos, *seg;
    float *logp;   /* per-position log-prob of its target (0 where none) */
    float *dlogp;  /* d loss / d logp, filled by the loss before model_backward */
    float *ref_logp; /* the frozen reference's logp, by model_forward_ref */
} Batch;

/* One layer's buffers: in the arena's activations when the forward keeps them for the
 * backward, else in scratch (shared by every layer). lh[t]: LoRA target t's s * x A^T. */
typedef struct {
    float *x_in, *a, *rstd1, *q, *k, *v, *att, *lse, *h_mid, *m, *rstd2, *g, *u, *s, *x_out;
    float *lh[LORA_TARGETS];
} LayerBufs;

typedef struct {
    float *x, *a, *rstd1, *q, *k, *v, *att, *lse, *h_mid, *m, *rstd2, *g, *u, *s, *lh; /* [slots][N_max * width] */
    float *xf, *rstdf, *lm_lse;
    float *tmp, *attn_buf, *lm_chunk;
    float *lora_x;   /* an adapted layer's input after dropout (dropout > 0 only) */
} ForwardBufs;

typedef struct {
    float *dres, *dtmp, *dq, *datt, *dk, *dv, *dff1, *dff2;
    float *lora_g, *lora_dx; /* LoRA: s * dy B; the branch's input gradient before dropout's mask */
} BackwardBufs;

typedef struct {
    ModelConfig cfg;
    RunShape shape;
    ParamInfo info[P_KINDS];
    size_t n_params;     /* fp32 parameters: the decoder (full fine-tuning) or the adapter */
    Arena arena;
    float *params, *grads, *adam_m, *adam_v;
    uint32_t *base_types; /* a copy of shape.base_types (shape's pointer then points here) */
    Weight *w;           /* each decoder tensor as forwards read it, index kind * n_layers + layer:
                            into params (F32) or into the frozen base region (its stored type) */
    Weight *ref_w;       /* REF_FP32 / REF_BF16: the reference copy's tensors, in ref_params */
    float *ref_adapter;  /* REF_ADAPTER: the reference's adapter, laid out like params */
    ForwardBufs keep;    /* in activations (train) */
    ForwardBufs infer;   /* in scratch */
    BackwardBufs bwd;    /* in scratch */
    float *inv_freq, *rope_cos, *rope_sin;
    float *kv_k, *kv_v;  /* generation's cache: [n_layers][kv_seqs][seq_len][nkv * head_dim] each */
    float *gen_logits;   /* [kv_seqs][vocab]: the logits model_forward_cached emits */
    Batch batch;
    uint64_t dropout_key; /* LoRA dropout's masks for the next training forward (model_forward_fused) */
    int head_done;       /* the last forward was fused: the LM head's backward is done */
    int dropout_on;      /* the kept activations were made with dropout (recompute repeats it) */
    int share_grads;     /* data parallel, the step's last backward: each layer's gradient sum
                            starts as soon as that layer is done (model_share_layer_grads) */
} Model;

ArenaPlan model_plan(const ModelConfig *c, const RunShape *s);
void model_create(Model *m, const ModelConfig *c, const RunShape *s);
void model_destroy(Model *m);

/* Offset of kind's tensor for `layer` in a parameter-shaped array, (size_t)-1 if absent or
 * frozen. */
size_t param_offset(const Model *m, ParamKind kind, int layer);
/* Pointer to kind's tensor for `layer` (0 for global tensors) inside a flat array laid out
 * like the parameters: params, grads, or moments; NULL if absent or frozen. Tied lm_head
 * resolves to the embedding. */
float *param_ptr(const Model *m, float *base, ParamKind kind, int layer);
/* A decoder tensor (kind < P_BASE_KINDS) as forwards read it; tied lm_head resolves to the
 * embedding. */
Weight model_weight(const Model *m, ParamKind kind, int layer);
/* Bytes of a decoder tensor stored in `type`; ggml's row layout (vectors: F32). */
size_t tensor_bytes(const ParamInfo *p, uint32_t type);

/* Hugging Face initialisation of the decoder: weights ~ N(0, initializer_range), biases 0,
 * norms 1 (into a frozen base too, in its type). */
void model_init_random(Model *m, uint64_t seed);
/* PEFT's initialisation of an adapter: A ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform with
 * a = sqrt(5)), B = 0, so the adapted model starts as the base. */
void model_init_adapter(Model *m, uint64_t seed);

/* Whether the plan has room for a forward that keeps nothing (keep=0): inference-only
 * runs, and training runs that forward a frozen reference. */
int model_has_inference(const RunShape *s);
/* Run on m->batch. keep=1 stores activations for model_backward (needs shape.train); no
 * LoRA dropout (the reference, eval, a precomputation). */
void model_forward(Model *m, int keep);
/* The training forward: kept activations, LoRA dropout with m->dropout_key, and the LM
 * head's backward run with its forward, so each tile of logits is made once; gradients must
 * be zeroed (or accumulating) already, and model_backward then does the rest. groups ==
 * NULL: m->batch.dlogp is known before the forward (SFT). Otherwise each group's callback
 * fills dlogp over its positions once their log-probs are in (ops.h). */
void model_forward_fused(Model *m, const LmGroups *groups);
/* Generation with a cache of keys and values (RunShape.kv_seqs sequences of up to seq_len
 * tokens): n new tokens, token i the one of sequence seq[i] at position pos[i] (a prompt's
 * tokens at once, or one per sequence for each step), run through the decoder with the
 * adapter if there is one; each appends its keys and values to its sequence's cache and
 * attends to the cached positions up to its own. The logits of the tokens with emit[i] set
 * land in m->gen_logits, a row each in their order (at most kv_seqs). n is at most
 * batch x seq_len. */
void model_forward_cached(Model *m, int n, const int *tokens, const int *seq, const int *pos, const int *emit);
/* Rows of logits the LM head's tile holds in a training plan of this shape. */
int model_head_tile_rows(const RunShape *s);
/* The frozen reference's forward (keeping nothing): its per-position log-probs land in
 * m->batch.ref_logp. */
void model_forward_ref(Model *m);
/* Make the reference from the current parameters: a copy of the weights (rounded to bf16
 * if so planned), or of the adapter (REF_ADAPTER); nothing for REF_BASE. */
void model_ref_from_params(Model *m);
/* Gradients of sum_n dlogp[n] * logp[n], ADDED into m->grads. */
void model_backward(Model *m);
/* Data parallel: start the sum over ranks of trained gradients (dist.h), one bucket per
 * tensor, in the order the backward finishes them: the head's (final norm, untied LM
 * head), each layer's from the last, the embedding's. With share_grads set the backward
 * starts the first two itself; the embedding's is the caller's. */
void model_share_head_grads(Model *m);
void model_share_layer_grads(Model *m, int l);
void model_share_embed_grads(Model *m);
void model_zero_grad(Model *m);
/* The LoRA dropout mask (0 or 1 / (1 - p) per element) that the next training forward
 * applies to the input of layer `layer`'s target t, N x I: for tests and tools. */
void model_dropout_mask(const Model *m, int layer, LoraTarget t, int N, int I, float *out);
/* Rows [r0, r0 + n) of decoder tensor (kind, layer) as fp32, whatever its stored type (a
 * vector is one row); merge: plus the adapter's s * B A where the layer has one (PEFT's
 * merge, in fp32). What a checkpoint or a conversion writes, a few rows at a time. */
void model_tensor_rows(const Model *m, ParamKind kind, int layer, size_t r0, size_t n, float *dst, int merge);
/* After a forward that kept nothing: the V logits at position n of the batch (sampling). */
void model_position_logits(Model *m, int n, float *out);
/* After a forward: all logits, out[N, V] (tests; not used in training). */
void model_logits(Model *m, int keep, float *out);
