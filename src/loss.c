/* loss.c: see loss.h. Formulas from ../shared/LOSSES.md section (b). */
#include "loss.h"

#include <math.h>
#include <string.h>

/* log(1 + e^x) without overflow */
static double softplus(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }
static double sigmoid(double x) { return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x)); }

PairLoss pref_pair_loss(const PrefLoss *l, double pc, double pr, double rc, double rr, int nc, int nr) {
    PairLoss out = {0};
    double c = pc - rc, r = pr - rr, b = l->beta, dl_du = 0;
    switch (l->kind) {
    case LOSS_DPO: { /* -(1-e) log sigmoid(u) - e log sigmoid(-u) */
        double u = b * (c - r), e = l->label_smoothing;
        out.u = u;
        out.loss = (1 - e) * softplus(-u) + e * softplus(u);
        dl_du = -(1 - e) * sigmoid(-u) + e * sigmoid(u);
        break;
    }
    case LOSS_SPO: { /* -u e^(-u), minimal at u = 1; dL/du = (u - 1) e^(-u) */
        double u = b * (c - r);
        out.u = u;
        if (u < SPO_U_MIN) {
            out.clamped = 1;
            u = SPO_U_MIN;
        }
        double e = exp(-u);
        out.loss = -u * e;
        dl_du = (u - 1) * e;
        break;
    }
    case LOSS_IPO: { /* (m_bar - 1/(2 beta))^2 with length-averaged log-probs; beta is IPO's tau */
        double cb = c / (nc > 0 ? nc : 1), rb = r / (nr > 0 ? nr : 1), d = (cb - rb) - 1.0 / (2 * b);
        out.u = b * (cb - rb);
        out.loss = d * d;
        out.dpolicy_chosen = 2 * d / (nc > 0 ? nc : 1);
        out.dpolicy_rejected = -2 * d / (nr > 0 ? nr : 1);
        out.dloss_du = 2 * d / b;
        return out;
    }
    case LOSS_HINGE: { /* max(0, 1 - u) */
        double u = b * (c - r);
        out.u = u;
        out.loss = u < 1 ? 1 - u : 0;
        dl_du = u < 1 ? -1 : 0;
        break;
    }
    }
    out.dloss_du = dl_du;
    out.dpolicy_chosen = dl_du * b;
    out.dpolicy_rejected = -dl_du * b;
    return out;
}

int pref_loss_parse(const char *name, PrefLossKind *out) {
    static const char *const names[] = {"dpo", "spo", "ipo", "hinge"};
    for (int i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0) {
            *out = (PrefLossKind)i;
            return 1;
        }
    return 0;
}

const char *pref_loss_name(PrefLossKind k) {
    static const char *const names[] = {"dpo", "spo", "ipo", "hinge"};
    return names[k];
}
