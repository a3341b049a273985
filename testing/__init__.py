"""Test-mode stand-ins: local HTTP servers that follow each vendor's published API docs
(apify, linkedin_ads, millionverifier) and the webhook receiver of the demo, the tests and
the benchmarks (receiver).

A layer above the exports and the loaders, beside ``orchestration`` (pyproject.toml
``[tool.importlinter]``). Production code never imports it at module level; the one
exception is the loaders' test-mode branch (``OUTREACH_TEST_MODE=true`` without a loopback
base URL), which starts a stand-in from here, lazily: those three imports are listed in the
contract's ``ignore_imports``.
"""
