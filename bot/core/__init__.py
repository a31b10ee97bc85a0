"""The meeting logic of Gavel: pure, synchronous, deterministic.

Nothing in this package performs I/O, reads the clock, or imports asyncio, sqlite, the
`irc` library or structlog. Events arrive already stamped with their time and id; the
core answers with effects for the adapters to carry out. `tests/test_architecture.py`
enforces this.
"""
