"""`make run`'s port check: a port is taken only while something listens on it."""

from __future__ import annotations

import socket

from bot.devrun import port_free


def _plain_bind_works(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _port_left_in_time_wait() -> int:
    """A port whose server has stopped, leaving a connection it closed in TIME_WAIT: what
    a restart within a minute of Ctrl-C meets."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = int(listener.getsockname()[1])
    client = socket.create_connection(("127.0.0.1", port), timeout=5)
    accepted, _ = listener.accept()
    accepted.close()  # the server's side closes first, so the TIME_WAIT is on its port
    assert client.recv(1) == b""
    client.close()
    listener.close()
    return port


def test_a_port_left_in_time_wait_is_still_free() -> None:
    port = _port_left_in_time_wait()
    assert not _plain_bind_works(port)  # the TIME_WAIT is there: a plain bind is refused
    assert port_free(port)


def test_a_port_something_listens_on_is_taken() -> None:
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = int(listener.getsockname()[1])
        assert not port_free(port)
    assert port_free(port)
