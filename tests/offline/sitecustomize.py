"""Offline guard for processes started by the tests (notebook kernels, torchrun workers).

The tests put this folder on PYTHONPATH, so Python imports it at start-up. Any attempt to
resolve or connect to a non-loopback address raises at once, before a packet is sent,
so a hidden download in a notebook fails the tests instead of silently needing a network.
"""

import ipaddress
import socket

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}


class NetworkBlocked(OSError):
    """Raised for any non-loopback network access while the tests run."""


def _is_local(host) -> bool:
    if host is None:
        return True
    host = host.decode() if isinstance(host, bytes) else str(host)
    if host in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _check(address) -> None:
    if isinstance(address, tuple) and address and not _is_local(address[0]):
        raise NetworkBlocked(f"network access to {address[0]!r} is blocked while tests run "
                             f"(the book must work offline)")


_real_getaddrinfo = socket.getaddrinfo
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _getaddrinfo(host, *args, **kwargs):
    _check((host,))
    return _real_getaddrinfo(host, *args, **kwargs)


def _connect(self, address):
    _check(address)
    return _real_connect(self, address)


def _connect_ex(self, address):
    _check(address)
    return _real_connect_ex(self, address)


socket.getaddrinfo = _getaddrinfo
socket.socket.connect = _connect
socket.socket.connect_ex = _connect_ex
