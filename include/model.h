/* model.h: a Qwen2 / Llama decoder in one arena; forward and hand-written backward.
 *
 * Parameters of one kind are stored for all layers back to back (llm.c's layout), in one
 * flat fp32 array, so the optimizer sees a single vector and gradients mirror it exactly. */
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
    P_KINDS
} ParamKind;

typedef struct {
    int present;        /* 0: no bias in this architecture, or lm_head tied */
    int per_layer;
    int ndim;
    size_t rows, cols;  /* shape [rows, cols] for ndim 2, [rows] for ndim 1 (per layer) */
    size_t numel;       /* per layer */
    size_t offset;      /* into the flat parameter array, of layer 0 */
} ParamInfo;

/* Hugging Face name of one tensor, e.g. "model.layers.3.mlp.up_proj.weight". */
void param_name(ParamKind kind, int layer, char *buf, size_t size);
/* Shapes and offsets for a config; returns the total parameter count. */
size_t param_layout(const ModelConfig *c, ParamInfo info[P_KINDS]);

typedef enum { REF_NONE = 0, REF_FP32 = 1, REF_BF16 = 2 } RefMode;

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
 * backward, else in scratch (shared by every layer). */
typedef struct {
    float *x_in, *a, *rstd1, *q, *k, *v, *att, *lse, *h_mid, *m, *rstd2, *g, *u, *s, *x_out;
} LayerBufs;

typedef struct {
    float *x, *a, *rstd1, *q, *k, *v, *att, *lse, *h_mid, *m, *rstd2, *g, *u, *s; /* [slots][N_max * width] */
    float *xf, *rstdf, *lm_lse;
    float *tmp, *attn_buf, *lm_chunk;
} ForwardBufs;

typedef struct {
    float *dres, *dtmp, *dq, *datt, *dk, *dv, *dff1, *dff2;
} BackwardBufs;

typedef struct {
    ModelConfig cfg;
    RunShape shape;
    ParamInfo info[P_KINDS];
    size_t n_params;
    Arena arena;
    float *params, *grads, *adam_m, *adam_v;
    void *ref_params;
    ForwardBufs keep;    /* in activations (train) */
    ForwardBufs infer;   /* in scratch */
    BackwardBufs bwd;    /* in scratch */
    float *inv_freq, *rope_cos, *rope_sin;
    Batch batch;
    int head_done;       /* the last forward was fused: the LM head's backward is done */
} Model;

ArenaPlan model_plan(const ModelConfig *c, const RunShape *s);
void model_create(Model *m, const ModelConfig *c, const RunShape *s);
void model_destroy(Model *m);

/* Offset of kind's tensor for `layer` in a parameter-shaped array, (size_t)-1 if absent. */
size_t param_offset(const Model *m, ParamKind kind, int layer);
/* Pointer to kind's tensor for `layer` (0 for global tensors) inside a flat array laid out
 * like the parameters: params, grads, or moments. Tied lm_head resolves to the embedding. */
float *param_ptr(const Model *m, float *base, ParamKind kind, int layer);

/* Hugging Face initialisation: weights ~ N(0, initializer_range), biases 0, norms 1. */
void model_init_random(Model *m, uint64_t seed);

/* Whether the plan has room for a forward that keeps nothing (keep=0): inference-only
 * runs, and training runs that forward a frozen reference. */
int model_has_inference(const RunShape *s);
/* Run on m->batch. keep=1 stores activations for model_backward (needs shape.train). */
void model_forward(Model *m, int keep);
/* A kept forward whose LM head also runs its backward, so each tile of logits is made once;
 * gradients must be zeroed (or accumulating) already, and model_backward then does the
 * rest. groups == NULL: m->batch.dlogp is known before the forward (SFT). Otherwise each
 * group's callback fills dlogp over its positions once their log-probs are in (ops.h). */
void model_forward_fused(Model *m, const LmGroups *groups);
/* Rows of logits the LM head's tile holds in a training plan of this shape. */
int model_head_tile_rows(const RunShape *s);
/* The frozen reference's forward (fp32 or bf16 weights, keeping nothing): its per-position
 * log-probs land in m->batch.ref_logp. */
void model_forward_ref(Model *m);
/* Make the reference a copy of the current parameters (rounded to bf16 if so planned). */
void model_ref_from_params(Model *m);
/* Gradients of sum_n dlogp[n] * logp[n], ADDED into m->grads. */
void model_backward(Model *m);
void model_zero_grad(Model *m);
/* After a forward that kept nothing: the V logits at position n of the batch (sampling). */
void model_position_logits(Model *m, int n, float *out);
/* After a forward: all logits, out[N, V] (tests; not used in training). */
void model_logits(Model *m, int keep, float *out);
