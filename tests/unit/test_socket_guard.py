"""The socket guard (tests/socket_guard.py) refuses every connection off the loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests import socket_guard
from tests.openai_server import OpenAIServer

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_a_connection_off_the_loopback_is_refused_with_its_address() -> None:
    # 192.0.2.0/24 is TEST-NET-1: nothing answers there, so only the guard can fail this fast
    with pytest.raises(socket_guard.NetworkAccessBlocked, match=r"192\.0\.2\.1:9"):
        socket.create_connection(("192.0.2.1", 9), timeout=5)
    assert socket_guard.blocked == ["192.0.2.1:9"]
    socket_guard.blocked.clear()  # this test provoked it on purpose


def test_connect_ex_and_ipv6_are_guarded_too() -> None:
    with (
        socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock,
        pytest.raises(socket_guard.NetworkAccessBlocked),
    ):
        sock.connect_ex(("2001:db8::1", 443))
    socket_guard.blocked.clear()


def test_loopback_and_unix_sockets_are_allowed() -> None:
    with OpenAIServer() as server, socket.create_connection(("127.0.0.1", server.port)):
        pass
    with OpenAIServer() as server, socket.create_connection(("localhost", server.port)):
        pass
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "s")
        with socket.socket(socket.AF_UNIX) as listener:
            listener.bind(path)
            listener.listen()
            with socket.socket(socket.AF_UNIX) as client:
                client.connect(path)
    assert socket_guard.blocked == []


def test_a_swallowed_refusal_still_fails_the_test(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(
        f"import sys\nsys.path.insert(0, {str(PROJECT_ROOT)!r})\n"
        'pytest_plugins = ["tests.socket_guard"]\n',
        encoding="utf-8",
    )
    (tmp_path / "test_swallows.py").write_text(
        "import socket\n\n"
        "def test_swallows():\n"
        "    try:\n"
        "        socket.create_connection(('192.0.2.7', 80), timeout=5)\n"
        "    except OSError:\n"
        "        pass\n",
        encoding="utf-8",
    )
    # the run below is its own: not this run's PYTEST_* variables (an xdist worker's)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "the test tried to reach the network: 192.0.2.7:80" in result.stdout
