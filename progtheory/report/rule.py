"""The decision rule of the validation report and the records it judges (no torch, no I/O).

One rule decides every prediction.  A claim covers one or more *conditions* (a schedule and
tau, a source depth, an init arm, ...); each condition has a measured value with a 95%
interval and a tolerance band, the range of values for which the claim holds there.  Then

- **holds** when every condition's interval lies inside its band,
- **fails** when at least one condition's interval lies wholly outside its band,
- **inconclusive** otherwise (some interval straddles a band edge, or is unknown),
- **open** when no condition has been measured yet.

A prediction of several parts (P6: "cosine leaves a gap; WSD at 0.8T mixes") gets a verdict
per part and an overall verdict by the same rule, each part standing for one condition whose
interval lies inside (holds), outside (fails) or across (inconclusive) its band.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

HOLDS, FAILS, INCONCLUSIVE, OPEN = "holds", "fails", "inconclusive", "open"
VERDICTS = (HOLDS, FAILS, INCONCLUSIVE, OPEN)


@dataclass(frozen=True)
class Condition:
    """One measured condition of a claim: `value` with 95% interval [lo, hi] over `n` seeds
    (or runs), judged against the band [band_lo, band_hi] where the claim holds.

    An interval from one seed is unknown (a point is no interval) unless `exact` is set, for
    a quantity with no sampling noise (a count, an exact test).  `unit` says how to print it:
    "pct" (a relative gap), "pp" (percentage points), "nats", "x" (a ratio), "share" or ""
    (a plain number)."""

    label: str
    value: float
    lo: float
    hi: float
    n: int
    band_lo: float = -math.inf
    band_hi: float = math.inf
    unit: str = "pct"
    exact: bool = False

    @classmethod
    def from_ci(cls, label: str, ci: tuple, **kw) -> "Condition":
        """From an `analysis.mean_ci` tuple (mean, lo, hi, n)."""
        m, lo, hi, n = ci
        return cls(label, float(m), float(lo), float(hi), int(n), **kw)

    @property
    def interval(self) -> tuple[float, float]:
        """The interval the rule judges: (-inf, inf) when it is unknown."""
        known = self.n >= 2 or (self.exact and self.n >= 1)
        if not known or not (math.isfinite(self.lo) and math.isfinite(self.hi)):
            return -math.inf, math.inf
        return self.lo, self.hi

    @property
    def verdict(self) -> str:
        if self.n < 1:
            return INCONCLUSIVE
        lo, hi = self.interval
        if self.band_lo <= lo and hi <= self.band_hi:
            return HOLDS
        if hi < self.band_lo or lo > self.band_hi:
            return FAILS
        return INCONCLUSIVE


def decide(verdicts) -> str:
    """The rule over several conditions (or parts), given their verdicts: holds when all hold,
    fails when at least one fails, inconclusive otherwise; open when there are none or all are
    open."""
    verdicts = [v for v in verdicts if v != OPEN]
    for v in verdicts:
        if v not in VERDICTS:
            raise ValueError(f"verdict {v!r} is not one of {VERDICTS}")
    if not verdicts:
        return OPEN
    if FAILS in verdicts:
        return FAILS
    return HOLDS if all(v == HOLDS for v in verdicts) else INCONCLUSIVE


@dataclass(frozen=True)
class Part:
    """One part of a prediction: its claim, the conditions that decide it, and the tolerance in
    words.  `judged=False` marks a part that is reported but is not the prediction's claim
    (e.g. a baseline measured beside it); `note` says what is missing or special.  A part with
    runs but no condition that can be measured on them (a quantity undefined on every run) is
    `undecided`: inconclusive rather than open."""

    claim: str
    conditions: tuple[Condition, ...] = ()
    tolerance: str = ""
    judged: bool = True
    note: str = ""
    undecided: bool = False

    @property
    def verdict(self) -> str:
        if not self.conditions and self.undecided:
            return INCONCLUSIVE
        return decide(c.verdict for c in self.conditions)

    @property
    def deciding(self) -> Condition | None:
        """The condition that decides the verdict: a failing one if any, else an undecided one,
        else the one whose interval comes closest to its band's edge."""
        if not self.conditions:
            return None
        for want in (FAILS, INCONCLUSIVE):
            hit = [c for c in self.conditions if c.verdict == want]
            if hit:
                return max(hit, key=_distance_outside) if want == FAILS else hit[0]

        def room(c):
            lo, hi = c.interval
            return min(lo - c.band_lo, c.band_hi - hi)
        return min(self.conditions, key=room)


def _distance_outside(c: Condition) -> float:
    lo, hi = c.interval
    return max(c.band_lo - hi, lo - c.band_hi)


@dataclass(frozen=True)
class Record:
    """One prediction as measured: its parts, the recipe (parametrization + optimizer) of the
    runs, the figure and data it comes from, and free-text detail lines for its section.
    `prediction` is the claim in words; `build_records` fills it from the registry
    (`progtheory.report.predictions`), so a section's builder leaves it out."""

    pid: str
    prediction: str = ""
    parts: tuple[Part, ...] = ()
    recipe: str = ""
    figure: str = ""
    source: str = ""
    detail: tuple[str, ...] = ()

    @property
    def verdict(self) -> str:
        return decide(p.verdict for p in self.parts if p.judged)

    @property
    def n(self) -> int:
        """The smallest n over the conditions of the judged parts (0 without any)."""
        ns = [c.n for p in self.parts if p.judged for c in p.conditions]
        return min(ns) if ns else 0

    @property
    def deciding(self) -> Condition | None:
        """The condition behind the overall verdict (see `Part.deciding`)."""
        judged = [p for p in self.parts if p.judged and p.conditions]
        for want in (FAILS, INCONCLUSIVE, HOLDS):
            for p in judged:
                if p.verdict == want:
                    return p.deciding
        return None


UNITS = {"pct": "+.1%", "pp": ".2f", "nats": ".3f", "x": ".2f", "share": ".0%", "": ".3g"}
SUFFIXES = {"x": "x", "pp": " pp"}


def fmt(x: float, spec: str) -> str:
    """`format(x, spec)` without a signed zero ("-0.00" prints as "+0.00" or "0.00"), so a
    regenerated report does not change with the sign of a rounding residue; a fixed-point
    `spec` prints values of 10^4 and more with 3 significant digits ("2.54e+27")."""
    if spec.endswith("f") and math.isfinite(x) and abs(x) >= 1e4:
        spec = ("+" if "+" in spec else "") + ".3g"
    s = format(x, spec)
    if s.startswith("-") and set(s[1:]) <= set("0.%x"):
        s = ("+" if "+" in spec else "") + s[1:]
    return s


def format_condition(c: Condition, with_label: bool = True) -> str:
    """'label: value [lo, hi] (n=k)'; a value without a known interval prints without brackets."""
    spec = UNITS[c.unit]
    suffix = SUFFIXES.get(c.unit, "")
    known = c.interval != (-math.inf, math.inf)
    if not math.isfinite(c.value):
        text = "not measurable" if math.isnan(c.value) else fmt(c.value, spec)
        return f"{c.label}: {text} (n={c.n})" if with_label else f"{text} (n={c.n})"
    text = fmt(c.value, spec) + suffix
    if known and c.lo != c.hi:
        text += f" [{fmt(c.lo, spec)}{suffix}, {fmt(c.hi, spec)}{suffix}]"
    text += " (exact)" if c.exact else f" (n={c.n})"
    return f"{c.label}: {text}" if with_label else text


def format_band(c: Condition) -> str:
    """The tolerance band in the condition's unit: '≤ +0.5%', '≥ 0.950', '[-0.5%, +0.5%]'."""
    spec, suffix = UNITS[c.unit], SUFFIXES.get(c.unit, "")
    lo, hi = (None if not math.isfinite(b) else fmt(b, spec) + suffix for b in (c.band_lo, c.band_hi))
    if lo is None and hi is None:
        return "any"
    if lo is None:
        return f"≤ {hi}"
    if hi is None:
        return f"≥ {lo}"
    return f"[{lo}, {hi}]"
