/* loss.h: the preference losses on sequence log-probs (../shared/LOSSES.md), and their
 * gradients with respect to the policy's log-probs. Everything in double precision.
 *
 * For a pair: c = logp_policy(chosen) - logp_ref(chosen), r = the same for the rejected
 * response, m = c - r, u = beta * m. Sequence log-probs are SUMS over response tokens; only
 * IPO divides by the response lengths (as its paper and TRL do). */
#pragma once

typedef enum { LOSS_DPO, LOSS_SPO, LOSS_IPO, LOSS_HINGE } PrefLossKind;

typedef struct {
    PrefLossKind kind;
    double beta;
    double label_smoothing; /* DPO only: conservative DPO (cDPO), epsilon in [0, 0.5) */
} PrefLoss;

/* SPO's e^(-u) overflows for very negative u. Below this u, SPO's loss and gradient are
 * taken at SPO_U_MIN (still pushing u up, with a bounded magnitude) and the pair is counted. */
#define SPO_U_MIN (-20.0)

typedef struct {
    double loss;
    double dpolicy_chosen;   /* dLoss / d logp_policy(chosen) (summed over its tokens) */
    double dpolicy_rejected; /* dLoss / d logp_policy(rejected) */
    double u;                /* beta * margin (IPO: beta * length-averaged margin) */
    double dloss_du;         /* dLoss / du at this pair (the figures' |dL/du| against u) */
    int clamped;             /* SPO: u was below SPO_U_MIN */
} PairLoss;

/* policy_* and ref_* are summed log-probs; n_* the response token counts (for IPO). */
PairLoss pref_pair_loss(const PrefLoss *l, double policy_chosen, double policy_rejected, double ref_chosen,
                        double ref_rejected, int n_chosen, int n_rejected);
int pref_loss_parse(const char *name, PrefLossKind *out);
const char *pref_loss_name(PrefLossKind k);
