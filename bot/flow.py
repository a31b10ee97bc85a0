"""Flow control between the IRC side and the engine: the one number both must agree on.

The IRC side stops reading a connection's socket when `BATCH_EVENTS` events wait for the
engine (the server holds what follows; TCP keeps the order, nothing is lost), and the
engine steps and commits up to `BATCH_EVENTS` events together. Equal on purpose: a burst
that fills the queue is then one commit, however fast people talk.
"""

from __future__ import annotations

BATCH_EVENTS = 2048
