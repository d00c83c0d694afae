"""Test data from the declared experiments: a smoke sweep run into a temporary folder, and
synthetic LR-sweep rows with a known optimum."""

from pathlib import Path

from progtheory import sweep

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = sorted(p.stem for p in (ROOT / "experiments").glob("*.py") if not p.stem.startswith("_"))


def smoke(name, tmp_path, **kw):
    """The smoke variant of experiment `name`, swept into tmp_path/runs and tmp_path/results."""
    exp = sweep.load_experiment(name, root=ROOT)
    return exp, sweep.run_sweep(exp, smoke=True, runs_root=tmp_path / "runs", results_root=tmp_path / "results",
                                progress=False, **kw)


def lr_grid(best_of, lrs=(7.5e-4, 1.5e-3, 3e-3, 6e-3, 1.2e-2), seeds=(0, 1, 2), **fixed):
    """Synthetic LR-sweep rows whose loss is a parabola in log10(lr) around best_of(tags)."""
    import numpy as np

    rows = []
    for par in ("sp", "depth-mup"):
        for width in (128, 256):
            for depth in (1, 2, 4, 8):
                for lr in lrs:
                    for seed in seeds:
                        tags = dict(parametrization=par, width=width, depth=depth, lr=lr, seed=seed, **fixed)
                        best = best_of(tags)
                        rows.append({**tags, "final_val_loss": 2.0 + np.log10(lr / best) ** 2})
    return rows
