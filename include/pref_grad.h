/* pref_grad.h: a preference batch's loss gradient, pair by pair, as the LM head's fused
 * pass asks for it (ops.h LmGroups): once pair p's chosen and rejected responses have their
 * policy log-probs, the pair's loss gives dlogp over their scored tokens, and the head's
 * backward runs while the pair's logits are still in its tile. */
#pragma once
#include "data.h"
#include "loss.h"

typedef struct {
    const DataLoader *loader; /* the batch's spans: pair p is spans 2p (chosen) and 2p + 1 */
    Batch *batch;
    PrefLoss loss;
    const double *ref;        /* per span: the reference's summed log-probs */
    double scale;             /* dlogp = scale * dLoss/dlogp (1 / the step's pairs) */
    double *policy;           /* out, per span: the policy's summed log-probs */
    int *tokens;              /* out, per span: scored tokens */
    PairLoss *pairs;          /* out, per pair */
    int *bounds;              /* pairs + 1 positions (batch_pair_bounds) */
} PrefGrad;

/* The LmGroups callback: pair `p`'s sums, loss and dlogp. */
void pref_grad_pair(void *pref_grad, int p);
/* Groups over the current batch's pairs (fills g->bounds); dlogp is cleared first. */
LmGroups pref_grad_groups(PrefGrad *g);
