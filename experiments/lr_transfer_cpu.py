"""LR transfer on CPU: calibrate lr* = c L^e w^f and score it at shapes the fit never saw (P14).

Question: for sp + AdamW and for the paper's recipe (`presets.recipe()`: CompleteP, spectral
init, Muon-NSGD), where is the optimal peak LR at each depth and width, does
`theory.lr_calibration.fit_lr_transfer` fitted on the FIT shapes predict the optimum at the
HELD_OUT shapes within x1.3 (`score_held_out`), and does the optimum move with the run length?

Design (CPU-sized, 2 cores): widths 32 and 64 (not the GPU sweep's 128 and 256), depths 1-8,
400 steps of batch 16 x context 64 (0.4 M tokens, not 2000 x 32): the fit and held-out shapes
are scaled down together, and the LENGTH_CHECK runs (one shape, seed 0, twice the steps) show
whether the optimum moves with the run length.  LR grids are x sqrt(2) around each arm's
expected optimum; a grid whose best LR is at an edge in the committed results is extended by
one step beyond that edge each time the run list is built (up to MAX_EXTRA steps), so running
`progtheory sweep lr_transfer_cpu` again until `--dry-run` lists nothing to train leaves every
optimum inside its grid.  Seeds are outermost, so a sweep stopped early leaves whole seeds.
"""

import csv
import math
from dataclasses import replace
from functools import cache

from progtheory import presets
from progtheory.sweep import Experiment, Run, experiments_dir

SQRT2 = math.sqrt(2)
FIT = tuple((depth, width) for depth in (1, 2, 4, 8) for width in (32, 64))
HELD_OUT = ((6, 48), (12, 48))  # a new width between the fitted ones; depth 6 interpolated, 12 extrapolated
LENGTH_CHECK = (4, 64)          # shape rerun at 2x steps (seed 0) to check the optimum against the run length
SEEDS = (0, 1, 2)
STEPS, BATCH = 400, 16
# arm -> (preset, centre of its LR grid); sp + AdamW near presets.TUNED_LR x 2 (narrower
# models take larger LRs under sp), the recipe near presets.RECIPE_LR
ARMS = {"sp-adamw": ("tuned", 3e-3), "recipe": ("recipe", 1e-2)}
GRID = tuple(SQRT2 ** k for k in range(-3, 4))  # 7 points, x sqrt(2), a factor 8 wide
MAX_EXTRA = 4
SMOKE_GRID = (SQRT2 ** -3, 0.5, SQRT2 ** -1)  # below the centre: the 40-step tiny model diverges above it


def _lr(x: float) -> float:
    return float(f"{x:.4g}")  # grid values as written in runs.csv (same run id every time)


@cache
def _extensions() -> dict[tuple, list[float]]:
    return extensions(experiments_dir() / "results" / "lr_transfer_cpu" / "runs.csv")


def extensions(path) -> dict[tuple, list[float]]:
    """(arm, depth, width, seed, steps) -> LRs beyond the base grid: those already run, plus
    one x sqrt(2) step beyond the edge where a complete grid of `path` (runs.csv) has its best
    final loss (MAX_EXTRA extra LRs at most; a diverged run counts as +inf)."""
    if not path.is_file():
        return {}
    grids: dict[tuple, dict[float, float]] = {}
    with path.open(newline="") as fh:
        for r in csv.DictReader(fh):
            if r.get("status") not in ("completed", "diverged"):
                continue
            key = (r["arm"], int(r["depth"]), int(r["width"]), int(r["seed"]), int(r["steps"]))
            diverged = r["status"] == "diverged" or not r.get("final_val_loss")
            loss = math.inf if diverged else float(r["final_val_loss"])
            grids.setdefault(key, {})[float(r["lr"])] = loss if math.isfinite(loss) else math.inf
    out = {}
    for key, grid in grids.items():
        lrs = sorted(grid)
        best = min(lrs, key=grid.get)
        centre = ARMS[key[0]][1]
        base = {_lr(centre * g) for g in GRID}
        if not base <= {_lr(lr) for lr in lrs}:  # the base grid is not complete yet: no edge to judge
            continue
        if best == lrs[0] and len(lrs) < len(GRID) + MAX_EXTRA:
            out[key] = [_lr(best / SQRT2)]
        elif best == lrs[-1] and len(lrs) < len(GRID) + MAX_EXTRA:
            out[key] = [_lr(best * SQRT2)]
        out.setdefault(key, [])
        out[key] = sorted({*out[key], *(lr for lr in lrs if _lr(lr) not in base)})
    return out


def _config(arm: str, depth: int, width: int, lr: float, seed: int, steps: int, smoke: bool):
    preset, _ = ARMS[arm]
    base = presets.get(preset)
    if smoke:
        tiny = presets.tiny()
        base = replace(base, data=tiny.data, steps=tiny.steps, batch_size=tiny.batch_size, eval_every=tiny.eval_every,
                       eval_batches=tiny.eval_batches, ckpt_every=tiny.ckpt_every, device="cpu")
        model = replace(base.model, block_size=tiny.model.block_size)
    else:
        base = replace(base, steps=steps, batch_size=BATCH, ckpt_every=steps, device="cpu")
        model = base.model
    model = replace(model, n_layer=depth, n_embd=width, n_head=max(1, width // 16))
    return replace(base, model=model, lr=lr, seed=seed, growth=None)


def runs(smoke: bool) -> list[Run]:
    if smoke:
        return [Run(dict(arm=arm, depth=d, width=32, lr=_lr(c * g), seed=0, steps=40, held_out=False),
                    _config(arm, d, 32, _lr(c * g), 0, 40, True))
                for arm, (_, c) in ARMS.items() for d in (1, 2) for g in SMOKE_GRID]
    ext = _extensions()
    out = []
    shapes = [(d, w, STEPS, s) for s in SEEDS for d, w in FIT + HELD_OUT]
    shapes += [(*LENGTH_CHECK, 2 * STEPS, 0)]
    for depth, width, steps, seed in shapes:
        for arm, (_, centre) in ARMS.items():
            lrs = sorted({_lr(centre * g) for g in GRID} | set(ext.get((arm, depth, width, seed, steps), ())))
            for lr in lrs:
                tags = dict(arm=arm, depth=depth, width=width, lr=lr, seed=seed, steps=steps,
                            held_out=(depth, width) in HELD_OUT)
                out.append(Run(tags, _config(arm, depth, width, lr, seed, steps, False)))
    return out


EXPERIMENT = Experiment(
    name="lr_transfer_cpu",
    question="Does lr* = c L^e w^f fitted on small shapes predict the LR optimum at held-out shapes within x1.3, "
             "for sp + AdamW and for the recipe (CompleteP + Muon-NSGD)?",
    predictions=("P14", "P21"),
    theory=("theory.lr_calibration.fit_lr_transfer", "theory.lr_calibration.score_held_out", "progtheory.predict_lr"),
    runs=runs,
    scientific=("arm", "depth", "width", "lr", "steps"),
    design=dict(fit=[list(s) for s in FIT], held_out=[list(s) for s in HELD_OUT],
                length_check=list(LENGTH_CHECK), steps=STEPS, batch_size=BATCH),
    metrics_stride=100,  # the fit needs final losses only; keep the eval steps
    budget="2 arms x (8 fit + 2 held-out shapes) x 7 LRs x 3 seeds + 14 length-check runs = 434 runs of "
           "400 steps (batch 16, context 64), 2.1e14 FLOPs: about 1-2 hours on 2 CPU cores as two shards "
           "(--shard 0/2, 1/2) at the 47-57 GFLOP/s of the width-128 CPU runs, longer since narrow models run "
           "less efficiently; each edge extension adds runs",
)
