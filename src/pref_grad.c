/* pref_grad.c: see pref_grad.h. */
#include "pref_grad.h"

#include <string.h>

void pref_grad_pair(void *pref_grad, int p) {
    PrefGrad *g = pref_grad;
    const BatchSpan *sp = &g->loader->spans[2 * p];
    Batch *b = g->batch;
    for (int s = 2 * p; s < 2 * p + 2; s++) g->policy[s] = span_logp_sum(b, &g->loader->spans[s], &g->tokens[s]);
    PairLoss pl = pref_pair_loss(&g->loss, g->policy[2 * p], g->policy[2 * p + 1], g->ref[2 * p], g->ref[2 * p + 1],
                                 g->tokens[2 * p], g->tokens[2 * p + 1]);
    g->pairs[p] = pl;
    for (int part = 0; part < 2; part++, sp++) {
        float d = (float)((part ? pl.dpolicy_rejected : pl.dpolicy_chosen) * g->scale);
        for (int t = sp->start; t < sp->start + sp->len; t++) {
            size_t n = (size_t)sp->seq * b->T + t;
            if (b->targets[n] >= 0) b->dlogp[n] = d;
        }
    }
}

LmGroups pref_grad_groups(PrefGrad *g) {
    memset(g->batch->dlogp, 0, sizeof(float) * (size_t)g->batch->B * g->batch->T);
    int n = batch_pair_bounds(g->loader, g->batch, g->bounds);
    return (LmGroups){g->bounds, n, pref_grad_pair, g};
}
