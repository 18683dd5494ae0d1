/* optim_check: the optimizer on given gradients, for tests/test_optim.py to compare with
 * torch.optim.AdamW + clip_grad_norm_ + the HF cosine-with-warmup schedule.
 *   optim_check IN.safetensors OUT.safetensors lr wd warmup total max_norm
 * IN: "param" [n], "decay" [n] (1 for a first stretch, then 0), "grad.<k>" [n] for k = 0..K-1.
 * OUT: "param.<k>" after step k, "lr" [K], "grad_norm" [K]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "optim.h"
#include "safetensors.h"

int main(int argc, char **argv) {
    if (argc != 8) die("usage: optim_check IN OUT lr wd warmup total max_norm");
    StSet s;
    st_open(&s, argv[1]);
    const StTensor *tp = st_find(&s, "param"), *td = st_find(&s, "decay");
    size_t n = (size_t)tp->shape[0];
    float *p = xmalloc(n * 4), *d = xmalloc(n * 4), *g = xmalloc(n * 4), *m = xcalloc(n, 4), *v = xcalloc(n, 4);
    st_read_f32(&s, tp, p);
    st_read_f32(&s, td, d);
    size_t nd = 0; /* parameters [0, nd) decay, the rest do not: two calls, as the trainer makes per kind */
    while (nd < n && d[nd] != 0) nd++;
    OptimConfig c = {atof(argv[3]), 0.9, 0.999, 1e-8, atof(argv[4]), atoi(argv[5]), atoi(argv[6]), atof(argv[7])};
    int K = 0;
    while (1) {
        char name[32];
        snprintf(name, sizeof name, "grad.%d", K);
        if (!st_find(&s, name)) break;
        K++;
    }
    StWriteTensor *out = xcalloc((size_t)K + 2, sizeof *out);
    float *hist = xmalloc(n * 4 * (size_t)K), *lrs = xmalloc(4 * (size_t)K), *norms = xmalloc(4 * (size_t)K);
    char **names = xcalloc((size_t)K, sizeof *names);
    for (int k = 0; k < K; k++) {
        char name[32];
        snprintf(name, sizeof name, "grad.%d", k);
        st_read_f32(&s, st_find(&s, name), g);
        norms[k] = (float)clip_grad_norm(g, n, c.max_grad_norm);
        double lr = optim_lr(&c, k);
        lrs[k] = (float)lr;
        adamw_step(p, g, m, v, nd, 1, lr, &c, k + 1);
        adamw_step(p + nd, g + nd, m + nd, v + nd, n - nd, 0, lr, &c, k + 1);
        memcpy(hist + n * (size_t)k, p, n * 4);
        names[k] = xsprintf("param.%d", k);
        out[k] = (StWriteTensor){names[k], 1, {(int64_t)n}, hist + n * (size_t)k, NULL, NULL};
    }
    out[K] = (StWriteTensor){"lr", 1, {K}, lrs, NULL, NULL};
    out[K + 1] = (StWriteTensor){"grad_norm", 1, {K}, norms, NULL, NULL};
    st_write_file(argv[2], out, K + 2, ST_F32);
    st_close(&s); /* the rest is this check's own, freed by its exit */
    return 0;
}
