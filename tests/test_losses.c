/* The preference losses against closed-form vectors (../shared/LOSSES.md section d: torchtune's
 * DPO/RSO/IPO test vectors, and values computed from the formulas for cDPO and SPO), their
 * gradients against central differences, and SPO kept finite for very negative u. */
#include <math.h>
#include <stdio.h>

#include "loss.h"

static int fails = 0;

static void check(const char *what, double got, double want, double tol) {
    int ok = fabs(got - want) <= tol && isfinite(got);
    printf("%s: loss %s: got %.6f, want %.6f\n", ok ? "PASS" : "FAIL", what, got, want);
    fails += !ok;
}

int main(void) {
    /* torchtune's fixture: policy chosen/rejected and reference chosen/rejected log-probs,
     * giving margins m = 0, 10, 20 */
    const double pc[3] = {-0.5, -10, -1}, pr[3] = {-0.1, -30, -21}, rc[3] = {-0.5, -10.1, -0.1},
                 rr[3] = {-0.1, -20.1, -0.1};
    struct { PrefLossKind k; double beta, eps; const char *name; double want[3], dldm[3]; int has_dldm; } cases[] = {
        {LOSS_DPO, 0.1, 0.0, "dpo beta 0.1", {0.693147, 0.313262, 0.126928}, {-0.05, -0.026894, -0.011920}, 1},
        {LOSS_DPO, 0.1, 0.1, "cdpo eps 0.1", {0.693147, 0.413262, 0.326928}, {0}, 0},
        {LOSS_SPO, 0.1, 0.0, "spo beta 0.1", {0, -0.367879, -0.270671}, {-0.1, 0, 0.013534}, 1},
        {LOSS_HINGE, 0.1, 0.0, "hinge (RSO) gamma 0.1", {1, 0, 0}, {0}, 0},
        {LOSS_IPO, 0.1, 0.0, "ipo tau 0.1 (one-token responses)", {25, 25, 225}, {0}, 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        PrefLoss l = {cases[k].k, cases[k].beta, cases[k].eps};
        for (int i = 0; i < 3; i++) {
            PairLoss p = pref_pair_loss(&l, pc[i], pr[i], rc[i], rr[i], 1, 1);
            char what[96];
            snprintf(what, sizeof what, "%s, pair %d", cases[k].name, i);
            check(what, p.loss, cases[k].want[i], 1e-5);
            if (cases[k].has_dldm) { /* dL/dm = dL/dpolicy_chosen */
                snprintf(what, sizeof what, "%s, pair %d, dL/dm", cases[k].name, i);
                check(what, p.dpolicy_chosen, cases[k].dldm[i], 1e-5);
            }
            /* every loss's gradients against central differences */
            double h = 1e-6;
            PairLoss a = pref_pair_loss(&l, pc[i] + h, pr[i], rc[i], rr[i], 3, 5);
            PairLoss b = pref_pair_loss(&l, pc[i] - h, pr[i], rc[i], rr[i], 3, 5);
            PairLoss c = pref_pair_loss(&l, pc[i], pr[i] + h, rc[i], rr[i], 3, 5);
            PairLoss d = pref_pair_loss(&l, pc[i], pr[i] - h, rc[i], rr[i], 3, 5);
            PairLoss g = pref_pair_loss(&l, pc[i], pr[i], rc[i], rr[i], 3, 5);
            double num_c = (a.loss - b.loss) / (2 * h), num_r = (c.loss - d.loss) / (2 * h);
            int hinge_kink = cases[k].k == LOSS_HINGE && fabs(g.u - 1) < 1e-3;
            int ok = hinge_kink || (fabs(num_c - g.dpolicy_chosen) < 1e-5 * (1 + fabs(num_c)) &&
                                    fabs(num_r - g.dpolicy_rejected) < 1e-5 * (1 + fabs(num_r)));
            printf("%s: loss %s, pair %d: gradients equal finite differences (%.6g, %.6g vs %.6g, %.6g)\n",
                   ok ? "PASS" : "FAIL", cases[k].name, i, g.dpolicy_chosen, g.dpolicy_rejected, num_c, num_r);
            fails += !ok;
        }
    }
    /* at step 0 the policy is the reference: dpo = ln 2, spo = 0 */
    PrefLoss dpo = {LOSS_DPO, 0.1, 0}, spo = {LOSS_SPO, 0.1, 0};
    check("dpo at policy = reference", pref_pair_loss(&dpo, -5, -7, -5, -7, 4, 4).loss, log(2.0), 1e-12);
    check("spo at policy = reference", pref_pair_loss(&spo, -5, -7, -5, -7, 4, 4).loss, 0, 1e-12);
    /* SPO far below its minimum: finite, counted, still pushing the margin up */
    PairLoss far = pref_pair_loss(&spo, -5000, 0, 0, 0, 100, 100);
    int ok = isfinite(far.loss) && isfinite(far.dpolicy_chosen) && far.clamped && far.dpolicy_chosen < 0 &&
             far.u == -500.0;
    printf("%s: loss spo at u = -500 stays finite and is counted (loss %.4g, dL/dchosen %.4g)\n", ok ? "PASS" : "FAIL",
           far.loss, far.dpolicy_chosen);
    fails += !ok;
    PairLoss near = pref_pair_loss(&spo, -199, 0, 0, 0, 1, 1);
    ok = !near.clamped && isfinite(near.loss);
    printf("%s: loss spo at u = -19.9 is not clamped\n", ok ? "PASS" : "FAIL");
    fails += !ok;
    return fails ? 1 : 0;
}
