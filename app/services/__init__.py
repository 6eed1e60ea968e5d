"""Use-cases: each owns its transaction and takes explicit arguments, including ``now``."""
