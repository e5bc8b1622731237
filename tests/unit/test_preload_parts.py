"""The preloader's parts without a preloader: the request on the wire, and where a preloader may
listen. Whatever arrives on the socket is refused with ``WireError`` (the descriptors that
came with it closed), never anything else."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import site
import socket
import struct
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasker_ctl.cli import TOP_LEVEL_COMMANDS
from tasker_ctl.errors import SettingError
from tasker_ctl.preload import PRELOADED_COMMANDS
from tasker_ctl.preload.errors import WireError
from tasker_ctl.preload.place import environment_key, find_place, private_folder
from tasker_ctl.preload.server import PRELOADED_MODULES
from tasker_ctl.preload.settings import (
    DEFAULT_IDLE_SECONDS,
    IDLE_VARIABLE,
    PreloadSettings,
    preload_settings,
)
from tasker_ctl.preload.wire import MAX_REQUEST_BYTES, Request, receive_request

text = st.text(
    st.characters(codec="utf-8") | st.characters(min_codepoint=0xDC80, max_codepoint=0xDCFF)
)


def _received(payload: bytes, descriptors: list[int] | None = None) -> tuple[Request, list[int]]:
    left, right = socket.socketpair()

    def send() -> None:
        # a refused request is not read to its end: the rest meets a closed socket
        with contextlib.suppress(OSError):
            sent = socket.send_fds(left, [payload[:65536]], descriptors or [])
            left.sendall(payload[sent:])
            left.shutdown(socket.SHUT_WR)

    # from a thread: a payload larger than the socket's buffer waits for the reader
    sender = threading.Thread(target=send)
    with left, right:
        sender.start()
        try:
            return receive_request(right)
        finally:
            right.close()
            sender.join()


@settings(max_examples=40, deadline=None)
@given(
    argv=st.lists(text, min_size=1, max_size=4),
    env=st.dictionaries(text, text, max_size=4),
    cwd=text,
)
def test_a_request_arrives_as_sent_with_its_descriptors(
    argv: list[str], env: dict[str, str], cwd: str
) -> None:
    sent = Request(argv=argv, cwd=cwd, env=env, umask=0o022, ignored=[1])
    read, write = os.pipe()
    try:
        received, descriptors = _received(sent.encode(), [read, write])
        assert received == sent
        assert len(descriptors) == 2
        os.write(descriptors[1], b"x")  # the very pipe, under new numbers
        assert os.read(read, 1) == b"x"
        for descriptor in descriptors:
            os.close(descriptor)
    finally:
        os.close(read)
        os.close(write)


def test_a_large_request_arrives_whole() -> None:
    sent = Request(argv=["tasker-ctl"], cwd="/", env={"BIG": "x" * 300_000}, umask=0, ignored=[])
    assert _received(sent.encode())[0] == sent


def _framed(body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + body


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=300)
    | st.binary(max_size=300).map(_framed)
    | st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
        max_leaves=8,
    ).map(lambda value: _framed(json.dumps(value).encode()))
)
def test_anything_else_on_the_wire_is_refused_as_such(payload: bytes) -> None:
    read, write = os.pipe()
    os.close(write)
    try:
        with pytest.raises(WireError):
            _received(payload, [read])
    finally:
        os.close(read)


def test_a_request_too_large_or_cut_short_is_refused() -> None:
    with pytest.raises(WireError, match="more than"):
        _received(struct.pack(">I", MAX_REQUEST_BYTES + 1))
    with pytest.raises(WireError, match="cut short"):
        _received(struct.pack(">I", 100) + b"{}")
    fields = {"argv": [], "cwd": "/", "env": {}, "umask": 0, "ignored": []}
    with pytest.raises(WireError, match="argv"):
        _received(_framed(json.dumps(fields).encode()))


def test_the_key_follows_what_decides_the_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    base = {"HOME": "/root", "LANG": "C.UTF-8"}
    key = environment_key(base)
    assert environment_key({**base, "HOME": "/elsewhere", "TASKER_HOME": "/x"}) == key
    assert environment_key({**base, "PYTHONPATH": "/site"}) != key
    assert environment_key({**base, "LANG": "de_DE.UTF-8"}) != key
    monkeypatch.setattr(sys, "path", [*sys.path, "/another"])
    assert environment_key(base) != key


def test_only_a_private_folder_of_ones_own_holds_a_socket(tmp_path: Path) -> None:
    private = tmp_path / "private"
    assert private_folder(str(private), create=True)
    assert private.stat().st_mode & 0o777 == 0o700
    open_to_others = tmp_path / "open"
    open_to_others.mkdir(mode=0o755)
    open_to_others.chmod(0o755)
    assert not private_folder(str(open_to_others), create=True)
    link = tmp_path / "link"
    link.symlink_to(private)
    assert not private_folder(str(link), create=True)
    a_file = tmp_path / "file"
    a_file.write_text("", encoding="utf-8")
    assert not private_folder(str(a_file), create=True)


def test_where_a_preloader_may_listen(tmp_path: Path) -> None:
    short = {"XDG_RUNTIME_DIR": str(tmp_path)}
    if len(str(tmp_path)) < 60:
        place = find_place(short, create=True)
        assert place is not None
        assert Path(place.socket).parent == tmp_path / "tasker-ctl"
    assert find_place({**short, "TASKER_PRELOAD": "off"}, create=True) is None
    assert find_place({**short, "TASKER_PRELOAD": " No "}, create=True) is None
    deep = tmp_path / ("d" * 90)
    deep.mkdir()
    assert find_place({"XDG_RUNTIME_DIR": str(deep)}, create=True) is None  # path too long


@pytest.mark.parametrize(
    ("variables", "enabled", "seconds", "source"),
    [
        ({}, True, DEFAULT_IDLE_SECONDS, "default"),
        ({"TASKER_PRELOAD": " No ", "TASKER_PRELOAD_IDLE": "30m"}, False, 1800.0, IDLE_VARIABLE),
        ({"TASKER_PRELOAD": "yes", "TASKER_PRELOAD_IDLE": "90"}, True, 90.0, IDLE_VARIABLE),
        ({"TASKER_PRELOAD_IDLE": "off"}, True, 0.0, IDLE_VARIABLE),
    ],
)
def test_the_settings(
    variables: dict[str, str], enabled: bool, seconds: float, source: str
) -> None:
    assert preload_settings(variables) == PreloadSettings(enabled, seconds, source)


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"TASKER_PRELOAD": "maybe"}, "TASKER_PRELOAD='maybe' is neither on nor off"),
        ({"TASKER_PRELOAD_IDLE": "soon"}, "TASKER_PRELOAD_IDLE='soon'"),
        ({"TASKER_PRELOAD_IDLE": "inf"}, "TASKER_PRELOAD_IDLE='inf'"),
        ({"TASKER_PRELOAD_IDLE": "-5"}, "TASKER_PRELOAD_IDLE='-5'"),
    ],
)
def test_a_setting_that_cannot_be_used_is_a_coded_error(
    variables: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingError) as refused:
        preload_settings(variables)
    assert refused.value.code == "SETTING_INVALID"
    assert refused.value.message.startswith(message)
    assert refused.value.hint
    # the console script's side runs such a command itself, which then reports it
    if "TASKER_PRELOAD" in variables:
        assert find_place(variables, create=False) is None


def test_what_a_preloader_loads_and_serves_exists() -> None:
    assert [name for name in PRELOADED_MODULES if importlib.util.find_spec(name) is None] == []
    assert set(TOP_LEVEL_COMMANDS) >= PRELOADED_COMMANDS
    assert "preload" not in PRELOADED_COMMANDS  # stopping them must not go through one


def test_a_package_installed_makes_a_preloader_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tasker_ctl.preload import server

    site_packages = tmp_path / "site-packages"
    site_packages.mkdir()
    monkeypatch.setattr(site, "getsitepackages", lambda: [str(site_packages)])
    stamps = server._module_stamps()
    assert server._changed(stamps) is None
    (site_packages / "new_package").mkdir()
    # as an installation some time later leaves it (a clock tick can be coarser than a test)
    later = site_packages.stat().st_mtime_ns + 10**9
    os.utime(site_packages, ns=(later, later))
    assert server._changed(stamps) == str(site_packages)


def test_a_watched_process_keeps_its_command(monkeypatch: pytest.MonkeyPatch) -> None:
    from tasker_ctl.preload import client

    monkeypatch.delitem(sys.modules, "coverage", raising=False)
    previous = sys.gettrace()
    sys.settrace(None)
    try:
        assert not client.observed()
        sys.settrace(lambda *_: None)
        assert client.observed()
        assert client.hand_over(["tasker-ctl", "run", "x.yaml"]).start is None
    finally:
        sys.settrace(previous)
