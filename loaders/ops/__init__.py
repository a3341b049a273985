"""raw_ops.url_checks: company URL check history (no production writer yet, see README).

See ``loaders/ops/README.md``; the writer is ``loaders.ops.run.record_url_checks``.
"""
