"""The model and what changes it during training: `model` (a GPT-2 of any depth, 0 included),
`optim` (parameter groups and the optimizers), `growth` (depth expansion and the optimizer-state
transplant at a growth step).

Imports `progtheory.theory`, `progtheory.config` and `progtheory.theory.growth_layout`; nothing of
`progtheory.train` or above.
"""
