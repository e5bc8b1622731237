"""Preview and confirm: the tokens that let a write happen, and the signed cursors of pages.

A token is issued by a preview and binds the tool, its arguments (all but ``confirm`` and
``token``), a fingerprint of the state the write would change, and an expiry. It is signed with
a secret the server draws at start and never shows, so a client cannot forge one; it is good
once. A confirm whose token is missing, forged, or made for other arguments is
``CONFIRMATION_INVALID``; one that expired, was used, or whose target changed since the
preview (another operator retried the step, the task finished) is ``CONFIRMATION_STALE``.
Either way nothing changes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tasker_ctl.mcp.errors import (
    ConfirmationInvalidError,
    ConfirmationStaleError,
    CursorInvalidError,
)

__all__ = ["TOKEN_LIFETIME_SECONDS", "Signer"]

TOKEN_LIFETIME_SECONDS = 600
# a token or cursor longer than this was not made here; refused before decoding
_LONGEST_TOKEN = 512
_REPREVIEW = "call the tool again without confirm for a new preview and token"


def digest(value: Any) -> str:
    """A short, stable digest of a JSON value (keys sorted)."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass
class Signer:
    """The server's signing secret, the tokens used so far, and its clock."""

    clock: Callable[[], float]
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    _used: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _sign(self, payload: Mapping[str, Any]) -> str:
        body = base64.urlsafe_b64encode(
            json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
        ).decode()
        mac = hmac.new(self.secret, body.encode(), hashlib.sha256).hexdigest()[:40]
        return f"{body}.{mac}"

    def _open(self, token: str) -> dict[str, Any] | None:
        """The payload of a token this signer made, else None."""
        # what this signer makes is short ASCII; anything else is refused before comparing
        if len(token) > _LONGEST_TOKEN or not token.isascii() or token.count(".") != 1:
            return None
        body, mac = token.split(".")
        expected = hmac.new(self.secret, body.encode(), hashlib.sha256).hexdigest()[:40]
        if not hmac.compare_digest(mac, expected):
            return None
        try:
            payload = json.loads(base64.urlsafe_b64decode(body.encode()))
        except (ValueError, UnicodeDecodeError):
            return None
        return payload if isinstance(payload, dict) else None

    def issue(self, tool: str, arguments: Mapping[str, Any], state: str) -> tuple[str, int]:
        """A token for confirming ``tool`` with ``arguments`` while the target is ``state``,
        and the seconds it stays good."""
        payload = {
            "t": tool,
            "a": digest(arguments),
            "s": digest(state),
            "e": int(self.clock()) + TOKEN_LIFETIME_SECONDS,
            "n": secrets.token_hex(8),
        }
        return self._sign(payload), TOKEN_LIFETIME_SECONDS

    def redeem(
        self, token: str | None, tool: str, arguments: Mapping[str, Any], state: str
    ) -> None:
        """Accept ``token`` for this call (once), or raise without changing anything."""
        if not token:
            raise ConfirmationInvalidError(
                "confirm: true needs the token the preview returned", hint=_REPREVIEW
            )
        payload = self._open(token)
        if payload is None or payload.get("t") != tool:
            raise ConfirmationInvalidError(
                f"the token was not issued by this server for {tool}", hint=_REPREVIEW
            )
        if payload.get("a") != digest(arguments):
            raise ConfirmationInvalidError(
                "the arguments differ from those of the preview the token was issued for",
                hint=_REPREVIEW,
            )
        now = self.clock()
        with self._lock:
            self._used = {used: until for used, until in self._used.items() if until > now}
            if token in self._used:
                raise ConfirmationStaleError("the token was used already", hint=_REPREVIEW)
            if int(payload.get("e", 0)) < now:
                raise ConfirmationStaleError(
                    f"the token expired ({TOKEN_LIFETIME_SECONDS} s after its preview)",
                    hint=_REPREVIEW,
                )
            if payload.get("s") != digest(state):
                raise ConfirmationStaleError(
                    "what the preview showed has changed since (another change came first)",
                    hint=_REPREVIEW,
                )
            self._used[token] = float(payload["e"])

    def cursor(self, tool: str, arguments: Mapping[str, Any], offset: int) -> str:
        return self._sign({"t": tool, "a": digest(arguments), "o": offset, "c": 1})

    def offset(self, cursor: str, tool: str, arguments: Mapping[str, Any]) -> int:
        """Where the page ``cursor`` names starts; refused unless this server issued it for
        this tool and these arguments."""
        payload = self._open(cursor)
        if (
            payload is None
            or payload.get("c") != 1
            or payload.get("t") != tool
            or payload.get("a") != digest(arguments)
            or not isinstance(payload.get("o"), int)
            or payload["o"] < 0
        ):
            raise CursorInvalidError(
                "the cursor was not issued by this server for this call",
                hint="pass back the next_cursor of the previous page, with the same arguments",
            )
        return int(payload["o"])
