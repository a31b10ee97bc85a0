"""The IRC adapter: the only code that imports the `irc` library.

Public API for the engine: `NetworkClient` (one network: core events out on a queue,
`perform(Say | SetTopic)` in) and `Supervisor` (keeps it connected; `stop()` quits).
"""

from bot.irc.client import ClientOptions, NetworkClient
from bot.irc.session import Timings
from bot.irc.supervisor import Backoff, Supervisor

__all__ = ["Backoff", "ClientOptions", "NetworkClient", "Supervisor", "Timings"]
