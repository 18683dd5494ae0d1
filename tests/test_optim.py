"""The optimizer against PyTorch: torch.optim.AdamW (decoupled weight decay, bias
correction), torch.nn.utils.clip_grad_norm_, and the learning-rate multiplier of
transformers' get_cosine_schedule_with_warmup (written here from its definition), on the
same gradient sequence, with weight decay on some parameters only. Parameters after every
step must agree to 1e-5 relative; learning rates and gradient norms too."""
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_numpy  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def hf_cosine_with_warmup(step, warmup, total):
    if step < warmup:
        return step / max(1, warmup)
    progress = (step - warmup) / max(1, total - warmup)
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * 0.5 * 2.0 * progress)))


def run(name, lr, wd, warmup, total, max_norm, K=12, n=300, seed=0):
    rng = np.random.default_rng(seed)
    p0 = rng.normal(0, 1, n).astype(np.float32)
    decay = (np.arange(n) < int(0.6 * n)).astype(np.float32)  # a decayed stretch, then the rest
    grads = [rng.normal(0, 3 if k % 3 else 0.01, n).astype(np.float32) for k in range(K)]
    with tempfile.TemporaryDirectory() as tmp:
        inp, out = os.path.join(tmp, "in.safetensors"), os.path.join(tmp, "out.safetensors")
        st_numpy.write(inp, {"param": p0, "decay": decay, **{f"grad.{k}": g for k, g in enumerate(grads)}})
        subprocess.run([os.path.join(ROOT, "build", "optim_check"), inp, out, str(lr), str(wd), str(warmup),
                        str(total), str(max_norm)], check=True)
        C, _ = st_numpy.read(out)
    pd = torch.tensor(p0[decay == 1].astype(np.float64), requires_grad=True)
    pn = torch.tensor(p0[decay == 0].astype(np.float64), requires_grad=True)
    opt = torch.optim.AdamW([{"params": [pd], "weight_decay": wd}, {"params": [pn], "weight_decay": 0.0}], lr=lr,
                            betas=(0.9, 0.999), eps=1e-8)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: hf_cosine_with_warmup(s, warmup, total))
    worst, lr_err, norm_err = 0.0, 0.0, 0.0
    for k, g in enumerate(grads):
        pd.grad = torch.tensor(g[decay == 1].astype(np.float64))
        pn.grad = torch.tensor(g[decay == 0].astype(np.float64))
        norm = torch.nn.utils.clip_grad_norm_([pd, pn], max_norm if max_norm > 0 else float("inf"))
        lr_err = max(lr_err, abs(opt.param_groups[0]["lr"] - C["lr"][k]) / lr)
        norm_err = max(norm_err, abs(norm.item() - C["grad_norm"][k]) / norm.item())
        opt.step()
        sched.step()
        want = np.empty(n)
        want[decay == 1] = pd.detach().numpy()
        want[decay == 0] = pn.detach().numpy()
        worst = max(worst, np.abs(C[f"param.{k}"] - want).max() / np.abs(want).max())
    ok = worst < 1e-5 and lr_err < 1e-6 and norm_err < 1e-5
    print(f"{'PASS' if ok else 'FAIL'}: optim {name}: parameters {worst:.1e}, learning rates {lr_err:.1e}, "
          f"grad norms {norm_err:.1e} (relative, worst over {K} steps)")


def main():
    run("AdamW, warmup 3 then cosine over 12 steps, clipping at 1.0, weight decay 0.1", 1e-2, 0.1, 3, 12, 1.0)
    run("AdamW, no warmup, no clipping, no decay, schedule longer than the run", 3e-3, 0.0, 0, 40, 0.0, seed=1)
    run("AdamW, warmup longer than the run, strong decay, tight clipping", 5e-2, 0.5, 20, 100, 0.1, seed=2)


if __name__ == "__main__":
    main()
