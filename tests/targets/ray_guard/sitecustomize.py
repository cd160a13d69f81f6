"""The network guard of the Ray tests, loaded by every Python process of a test's Ray (the
driver, the workers, the head's dashboard process) through ``PYTHONPATH``.

A connect to an address outside 127.0.0.0/8 (or ::1), or a name lookup of anything but
localhost, is refused and written to the file named by ``AALP_NET_GUARD_LOG``; the tests fail
when that file is not empty. The proxy variables point at a closed loopback port besides, so
HTTP that honours them goes nowhere even before the guard sees it.
"""

from __future__ import annotations

import ipaddress
import os
import socket

_LOG = os.environ.get("AALP_NET_GUARD_LOG", "")


def _loopback(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if not isinstance(host, str):
        return False
    if host.lower() in ("localhost", "localhost.", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _refuse(what: str) -> None:
    with open(_LOG, "a", encoding="utf-8") as handle:
        handle.write(f"{os.getpid()} {what}\n")
    raise ConnectionRefusedError(f"blocked by the test's network guard: {what}")


def _check(address: object, family: int) -> None:
    if family == getattr(socket, "AF_UNIX", None) or isinstance(address, str | bytes):
        return
    host = address[0] if isinstance(address, tuple) and address else address
    if not _loopback(host):
        _refuse(f"connect {address!r}")


def _install() -> None:
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex
    getaddrinfo = socket.getaddrinfo

    def guarded_connect(self: socket.socket, address: object) -> None:
        _check(address, self.family)
        return connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: object) -> int:
        _check(address, self.family)
        return connect_ex(self, address)

    def guarded_getaddrinfo(host: object, *args: object, **kwargs: object) -> list:
        if host is not None and not _loopback(host) and host != socket.gethostname():
            _refuse(f"resolve {host!r}")
        return getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = guarded_connect
    socket.socket.connect_ex = guarded_connect_ex
    socket.getaddrinfo = guarded_getaddrinfo


if _LOG:
    _install()
