"""BatchNorm: eps from another convention, gamma copied where fix_gamma means 1 (PITFALLS 3, 4)."""
from __future__ import annotations

import numpy as np

from modelport.verify.diagnose import Hypothesis, fmt, rule

# eps values converters and frameworks use: MXNet default, Caffe / Gluon / PyTorch, face models, TF, none
CONVENTIONS = (1e-3, 1e-5, 2e-5, 1e-4, 1e-6, 1.001e-5, 1e-9, 0.0)


@rule("BatchNormalization")
def eps_convention(ctx):
    eps = float(ctx.node.attrs.get("epsilon", 1e-5))
    for other in CONVENTIONS:
        if not np.isclose(other, eps, rtol=1e-3, atol=0):
            yield Hypothesis("bn_eps", f"eps {other:g} instead of {eps:g}",
                             f"BatchNorm eps differs: the reference uses eps {other:g}, the candidate {eps:g}; carry "
                             "the model's own eps into the target (MXNet's default is 1e-3, Gluon's 1e-5, face "
                             "models often 2e-5) - PITFALL 4", attrs={"epsilon": other})


@rule("BatchNormalization")
def gamma_one(ctx):
    gamma = ctx.value(ctx.node.inputs[1])
    if gamma is None or np.allclose(gamma, 1.0):
        return
    beta = ctx.value(ctx.node.inputs[2])
    zero = int(np.sum(np.abs(gamma) < 1e-6))
    stored = (f"the stored gamma ({zero} of {gamma.size} channels zero)" if zero
              else f"the stored gamma (in [{fmt(gamma.min())}, {fmt(gamma.max())}])")
    shows = (": those channels become the constant beta" if zero and beta is not None and np.any(beta != 0)
             else ": whole channels become zero" if zero else "")
    yield Hypothesis("bn_fix_gamma", f"gamma = 1 instead of {stored}",
                     f"BatchNorm gamma: the source uses gamma = 1 (fix_gamma=True, or absent) and the candidate "
                     f"{stored.replace('the stored', 'copied the stored')}{shows}; gamma must become 1 under "
                     "fix_gamma - PITFALL 3", inputs={1: np.ones_like(gamma)})
