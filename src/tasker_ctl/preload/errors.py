"""The preloader's own exception: a request on its socket that is not one. It is logged and the
connection closed; no user sees it (the console script that sent it runs the command itself)."""

from __future__ import annotations


class WireError(Exception):
    """A request that is not one (cut short, too large, not the expected JSON)."""
