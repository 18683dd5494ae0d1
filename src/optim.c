/* optim.c: see optim.h. */
#include "optim.h"

#include <math.h>

double optim_lr(const OptimConfig *c, int step) {
    if (step < c->warmup_steps) return c->lr * (double)step / (double)(c->warmup_steps > 1 ? c->warmup_steps : 1);
    double span = (double)(c->total_steps - c->warmup_steps > 1 ? c->total_steps - c->warmup_steps : 1);
    double progress = (double)(step - c->warmup_steps) / span;
    double f = 0.5 * (1.0 + cos(M_PI * progress)); /* num_cycles 0.5: one half cosine */
    return c->lr * (f > 0 ? f : 0);
}

double clip_grad_norm(float *g, size_t n, double max_norm) {
    double ss = 0;
#pragma omp parallel for simd reduction(+ : ss) schedule(static)
    for (size_t i = 0; i < n; i++) ss += (double)g[i] * g[i];
    double norm = sqrt(ss);
    if (max_norm > 0) {
        double coef = max_norm / (norm + 1e-6);
        if (coef < 1) {
            float cf = (float)coef;
#pragma omp parallel for schedule(static)
            for (size_t i = 0; i < n; i++) g[i] *= cf;
        }
    }
    return norm;
}

void adamw_step(float *p, const float *g, float *m, float *v, size_t n, int decay, double lr, const OptimConfig *c,
                long t) {
    double bc1 = 1.0 - pow(c->beta1, (double)t), bc2 = 1.0 - pow(c->beta2, (double)t);
    float b1 = (float)c->beta1, b2 = (float)c->beta2;
    float step = (float)(lr / bc1), sqrt_bc2 = (float)sqrt(bc2), eps = (float)c->eps;
    float keep = decay ? (float)(1.0 - lr * c->weight_decay) : 1.0f;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        p[i] *= keep; /* decoupled: shrink the weight, not the gradient */
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
        p[i] -= step * m[i] / (sqrtf(v[i]) / sqrt_bc2 + eps);
    }
}
