"""The offline guarantee: the tests and the processes they start cannot reach the network."""

import os
import socket
import subprocess
import sys

import pytest

BLOCKED = ("192.0.2.1", 80)  # TEST-NET-1 (RFC 5737): never routed; blocked before any packet


def test_this_process_cannot_connect_out():
    # pytest-socket's block, or under pytest-xdist (workers start with the PYTHONPATH that
    # conftest.py sets) the offline guard's, which is imported first
    with pytest.raises(Exception, match="(?i)tried to use socket|blocked while tests run"):
        socket.create_connection(BLOCKED, timeout=0.1)


def test_loopback_still_works():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.create_connection(server.getsockname(), timeout=1)
    client.close()
    server.close()


@pytest.mark.parametrize("code", [
    f"import socket; socket.create_connection({BLOCKED!r}, timeout=0.1)",
    "import urllib.request; urllib.request.urlopen('https://example.org', timeout=0.1)",
])
def test_child_processes_cannot_connect_out(code):
    # notebook kernels are child processes: they inherit PYTHONPATH with the guard
    assert "offline" in os.environ["PYTHONPATH"]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode != 0
    assert "blocked while tests run" in out.stderr
