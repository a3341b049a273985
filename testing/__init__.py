"""Test-mode stand-ins for the vendors: local HTTP servers that follow each vendor's
published API docs, the demo receivers and the demo data generators.

Production code (``loaders/``, ``exports/``, ``orchestration/``) never imports this
package at module level; only the test-mode branch (``OUTREACH_TEST_MODE=true`` without a
loopback base URL) starts a server from here, lazily.
"""
