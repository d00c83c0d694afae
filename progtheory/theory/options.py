"""The choices a run can make, each listed once: `progtheory.config` validates its fields
against these tuples and the theory functions check their arguments against the same ones.
Plain data, no imports.

Inits of new blocks (`GrowthPlan.init`; exact definitions in `progtheory.core.growth`):

  random             a fresh block, the parametrization's own init at the target depth
  copy, copy_stack,  copies of trained source blocks (`growth_layout.expansion_layout`
  copy_inter,        says which block each copy takes)
  copy_last
  zero               every new weight 0, LayerNorm gains included
  copy_zero,         a copy, or a fresh block, whose output projections (weights and
  random_zero_out    biases) are 0
  copy_noise,        a copy combined with a fresh draw weighted by `GrowthPlan.init_noise`
  copy_mix
"""

PARAMETRIZATIONS = ("sp", "mup", "depth-mup", "completep")
OPTIMIZERS = ("adamw", "sgd", "muon")
SCHEDULES = ("wsd", "cosine", "linear", "constant")  # `ScheduleConfig.kind`
DECAY_SHAPES = ("linear", "cosine", "sqrt")           # `ScheduleConfig.decay_shape` (WSD)
HIDDEN_INITS = ("normal", "spectral")                 # `GPTConfig.hidden_init`

GROWTH_INITS = (
    "random", "copy", "copy_stack", "copy_inter", "copy_last",
    "zero", "copy_zero", "random_zero_out", "copy_noise", "copy_mix",
)
COPYING_INITS = ("copy", "copy_stack", "copy_inter", "copy_last", "copy_zero", "copy_noise", "copy_mix")
ONE_BLOCK_INITS = ("copy", "copy_noise", "copy_mix")  # repeat the single block of a one-layer source
NOISY_COPIES = ("copy_noise", "copy_mix")             # a copy combined with a fresh draw, weighted by growth.init_noise
ZERO_TYPES = ("zero", "copy_zero", "random_zero_out")  # new blocks that leave the function unchanged

PLACEMENTS = ("end", "interleave")                    # where new blocks go
OPT_STATE_POLICIES = ("fresh_new", "reset_all", "copy_source")
OLD_BLOCK_POLICIES = ("absorb", "rescale", "keep")    # residual multipliers of existing blocks at growth
REWARMUP_SCOPES = ("new", "all")                      # what an LR ramp after growth covers

TOKENIZERS = ("bpe", "bytes", "gpt2")                 # `DataConfig.tokenizer` (`progtheory.data.tokenizer`)
DEVICES = ("auto", "cpu", "cuda")                     # `TrainConfig.device`
