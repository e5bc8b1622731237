"""Where a preloader listens, and whether a command may use one here.

A preloader belongs to one user and one Python environment. Its socket lives in a folder only
that user can enter (``$XDG_RUNTIME_DIR/tasker-ctl``, else ``$TMPDIR`` or ``/tmp``, as
``tasker-ctl-<uid>``), checked before every use: a real folder, not a link, owned by the user,
closed to everyone else; anything else, and commands run in their own process. The socket's
name is a digest of what decides how Python imports and runs tasker-ctl (the interpreter, its
version and flags, ``sys.path``, the ``PYTHON*`` and locale variables), so that a command is
only ever handed to a preloader that would have loaded the very modules it would load.
"""

from __future__ import annotations

import os
import socket
import stat
import sys

# the console script's side imports nothing it can do without: no typing, pathlib, dataclasses
# or hashlib's OpenSSL (0.01-0.02 s of a command that takes 0.14 s handed over)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

try:
    from _blake2 import blake2b
except ImportError:  # an interpreter without it
    from hashlib import blake2b

SWITCH_VARIABLE = "TASKER_PRELOAD"
"""``off`` (or ``0``, ``false``, ``no``): every command runs in its own process; ``on`` (``1``,
``true``, ``yes``) or unset: preloading where it can."""
_SWITCH_WORDS = {"": True, "1": True, "on": True, "true": True, "yes": True}
_SWITCH_WORDS |= {"0": False, "off": False, "false": False, "no": False}
# a Unix socket's path has 108 bytes on Linux, the terminating zero included
_SOCKET_PATH_LIMIT = 100
# what Python reads from the environment as it starts, or as it imports: the locale decides
# the standard streams' encoding, PYTHON* the path, the flags, the hash seed
_STARTUP_VARIABLE_PREFIXES = ("PYTHON", "LC_")
_STARTUP_VARIABLES = frozenset({"LANG"})


class Place:
    """A preloader's files: its socket, its lock (which holds its process id) and its log."""

    __slots__ = ("folder", "key")

    def __init__(self, folder: str, key: str) -> None:
        self.folder = folder
        self.key = key

    def __repr__(self) -> str:
        return f"Place({self.folder!r}, {self.key!r})"

    @property
    def socket(self) -> str:
        return os.path.join(self.folder, f"{self.key}.sock")

    @property
    def lock(self) -> str:
        return os.path.join(self.folder, f"{self.key}.lock")

    @property
    def log(self) -> str:
        return os.path.join(self.folder, f"{self.key}.log")


def switched_on(environ: Mapping[str, str]) -> bool | None:
    """``TASKER_PRELOAD`` as a switch; ``None`` for a word it does not know (the command then
    runs in its own process and reports it: ``preload.settings``)."""
    return _SWITCH_WORDS.get(environ.get(SWITCH_VARIABLE, "").strip().lower())


def supported() -> bool:
    """Linux only: the socket's peer credentials (``SO_PEERCRED``) prove who connected."""
    return (
        sys.platform.startswith("linux")
        and hasattr(socket, "SO_PEERCRED")
        and hasattr(socket, "send_fds")
        and hasattr(os, "fork")
    )


def folder_for(environ: Mapping[str, str]) -> str:
    runtime = environ.get("XDG_RUNTIME_DIR", "")
    if os.path.isabs(runtime):
        return os.path.join(runtime, "tasker-ctl")
    temporary = environ.get("TMPDIR", "")
    base = temporary if os.path.isabs(temporary) else "/tmp"
    return os.path.join(base, f"tasker-ctl-{os.getuid()}")


def private_folder(folder: str, *, create: bool) -> bool:
    """Whether ``folder`` is fit to hold a preloader's socket (created, mode 0700, when
    ``create`` and it is missing): a folder, not a link, the user's own, closed to others."""
    if create:
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            pass
        except OSError:
            return False
    try:
        status = os.lstat(folder)
    except OSError:
        return False
    return (
        stat.S_ISDIR(status.st_mode)
        and status.st_uid == os.getuid()
        and stat.S_IMODE(status.st_mode) & 0o077 == 0
    )


def environment_key(environ: Mapping[str, str]) -> str:
    """A digest of what decides which modules this Python loads and how it runs them."""
    startup = sorted(
        (name, value)
        for name, value in environ.items()
        if name.startswith(_STARTUP_VARIABLE_PREFIXES) or name in _STARTUP_VARIABLES
    )
    parts = [
        sys.executable,
        sys.version,
        repr(sys.path),
        repr(tuple(sys.flags)),
        repr(sys.warnoptions),
        repr(sorted(sys._xoptions.items())),
        repr(startup),
        str(os.getuid()),
    ]
    return blake2b("\0".join(parts).encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


def find_place(environ: Mapping[str, str], *, create: bool = False) -> Place | None:
    """Where this environment's preloader listens, or ``None`` when commands must run in their
    own process here (switched off, not Linux, no private folder, too long a path)."""
    if not switched_on(environ) or not supported():
        return None
    place = Place(folder_for(environ), environment_key(environ))
    if len(os.fsencode(place.socket)) > _SOCKET_PATH_LIMIT:
        return None
    if not private_folder(place.folder, create=create):
        return None
    return place
