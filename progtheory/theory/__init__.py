"""Analytical predictions for progressive depth training (numpy / scipy / sympy; never torch)."""
