"""Reference ε of the Poisson-subsampled Gaussian for trainer/test/pld.test.ts.

Prints one line per case: q, σ, steps, δ, then ε from Google's dp_accounting PLD accountant
(connect-the-dots, pessimistic, add/remove relation, value discretisation 1e-4), from its RDP
accountant, and from Opacus' PRV accountant (eps_error 0.01, δ error δ/1000, its defaults): the
lower bound, estimate and upper bound it computes (get_epsilon returns the upper bound).

    python3 -m venv /tmp/venv-dp
    /tmp/venv-dp/bin/pip install dp-accounting==0.6.0
    /tmp/venv-dp/bin/pip install --no-deps opacus==1.6.0   # PRV only: no torch needed (see below)
    /tmp/venv-dp/bin/python scripts/dp-reference/pld_reference.py

Opacus' package imports torch at its top level; its PRV accountant needs only numpy and scipy,
so this script loads opacus.accountants without running opacus/__init__.py.
"""

import importlib
import os
import sys
import types

import dp_accounting
from dp_accounting.pld import pld_privacy_accountant
from dp_accounting.rdp import rdp_privacy_accountant

# q, σ, steps, δ. The first four are the demo's (3 × 50,000 patients → 40,000 training rows,
# batch 32, 5 epochs × 10 rounds) and the experiment's quick look (8,000 rows, 2 epochs × 5
# rounds), each at the σ the RDP calibrator chooses for ε = 1 and ε = 5.
CASES = [
    (32 / 40000, 1.063232421875, 62500, 1e-5),
    (32 / 40000, 0.587188720703125, 62500, 1e-5),
    (32 / 8000, 1.13494873046875, 2500, 1e-5),
    (32 / 8000, 0.6260986328125, 2500, 1e-5),
    (256 / 60000, 1.1, 14062, 1e-5),
    (0.01, 1.0, 1000, 1e-5),
    (0.05, 2.0, 500, 1e-6),
    (1.0, 5.0, 10, 1e-5),
]


def load_opacus_prv():
    """opacus.accountants.prv.PRVAccountant without importing torch."""
    import importlib.util

    spec = importlib.util.find_spec("dp_accounting")  # any installed package, for site-packages
    site = os.path.dirname(os.path.dirname(spec.origin))
    root = os.path.join(site, "opacus")
    for name, path in [("opacus", root), ("opacus.accountants", os.path.join(root, "accountants"))]:
        module = types.ModuleType(name)
        module.__path__ = [path]
        sys.modules[name] = module
    optimizers = types.ModuleType("opacus.optimizers")
    optimizers.DPOptimizer = object
    sys.modules["opacus.optimizers"] = optimizers
    return importlib.import_module("opacus.accountants.prv").PRVAccountant


def main():
    try:
        prv_accountant = load_opacus_prv()
    except Exception as err:  # report, and still print dp_accounting's values
        print(f"# opacus PRV unavailable: {err}", file=sys.stderr)
        prv_accountant = None
    for q, sigma, steps, delta in CASES:
        event = dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(sigma))
        if q == 1.0:
            event = dp_accounting.GaussianDpEvent(sigma)
        pld = pld_privacy_accountant.PLDAccountant(value_discretization_interval=1e-4)
        pld.compose(event, steps)
        rdp = rdp_privacy_accountant.RdpAccountant()
        rdp.compose(event, steps)
        prv = [float("nan")] * 3
        if prv_accountant is not None:
            acc = prv_accountant()
            acc.history = [(sigma, q, steps)]
            dprv = acc._get_dprv(eps_error=0.01, delta_error=delta / 1000)
            prv = [float(e) for e in dprv.compute_epsilon(delta, delta / 1000, 0.01)]
        values = [float(pld.get_epsilon(delta)), float(rdp.get_epsilon(delta)), *prv]
        print(f"[{q!r}, {sigma!r}, {steps}, {delta!r}, " + ", ".join(repr(v) for v in values) + "],")


if __name__ == "__main__":
    main()
