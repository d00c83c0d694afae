"""Matplotlib as every figure uses it: the Agg backend (files only, no display), fixed ids in
SVG output, and the palette of ordered series.  Imported before pyplot by every figure module."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
matplotlib.rcParams["svg.hashsalt"] = "progtheory"  # reproducible ids in SVG output

import matplotlib.pyplot as plt  # noqa: E402,F401

PALETTE = "viridis"
