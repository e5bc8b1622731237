"""An HTTP server on 127.0.0.1 that counts the requests it gets and answers each with a schema.

Tests of untrusted JSON Schemas point ``$ref`` at it: whatever the command does, the count must
stay zero. Every answer is a valid schema that would change the outcome if it were used, so a
fetch that slipped through could not go unnoticed either.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

SERVED_SCHEMA = {"type": "object", "required": ["served_by_the_counting_server"]}


@dataclass
class CountingServer:
    """The running server: its base URL and the paths requested so far."""

    url: str
    requests: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.requests)


@contextmanager
def counting_server() -> Iterator[CountingServer]:
    """Serve on an ephemeral port until the block ends."""
    body = json.dumps(SERVED_SCHEMA).encode()
    record: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            record.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET

        def log_message(self, format: str, *args: object) -> None:  # quiet
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield CountingServer(f"http://127.0.0.1:{server.server_address[1]}", record)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
