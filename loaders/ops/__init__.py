"""raw_ops: check and delivery history recorded by steps that are not vendor loaders.

See ``loaders/ops/README.md``; the writers are in ``loaders.ops.run``.
"""
