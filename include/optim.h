/* optim.h: AdamW with decoupled weight decay and bias correction (torch.optim.AdamW), the
 * learning-rate schedule of transformers' get_cosine_schedule_with_warmup, and clipping by
 * the global gradient norm (torch.nn.utils.clip_grad_norm_). */
#pragma once
#include <stddef.h>

typedef struct {
    double lr;            /* peak learning rate */
    double beta1, beta2, eps;
    double weight_decay;  /* applied only where decay[] says so (2-D weights, as HF Trainer) */
    int warmup_steps;
    int total_steps;
    double max_grad_norm; /* 0 = no clipping */
} OptimConfig;

/* Learning rate of optimizer step `step` (0-based): linear from 0 over the warmup, then a
 * half cosine down to 0 at total_steps; exactly the HF scheduler's multiplier times lr. */
double optim_lr(const OptimConfig *c, int step);

/* Global L2 norm of the gradient (in double); scales g by max_norm / (norm + 1e-6) when that
 * is below 1. Returns the norm before clipping (what HF logs as grad_norm). */
double clip_grad_norm(float *g, size_t n, double max_norm);

/* One AdamW step over n parameters; t is the 1-based step count (bias correction).
 * decay: whether weight decay applies to these parameters (HF Trainer: not to norms and
 * biases), so a model's step is a few calls over contiguous ranges. */
void adamw_step(float *p, const float *g, float *m, float *v, size_t n, int decay, double lr, const OptimConfig *c,
                long t);
