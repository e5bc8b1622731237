"""The evaluator process: runs jq programs for the parent, one request at a time.

Protocol (UTF-8 JSON lines): after start-up it writes ``{"ready": true}``. Each request is
two lines, a header ``{"expression", "first", "max_outputs", "max_output_bytes",
"timeout_ms"}`` and the input value as JSON text; each reply is one line,
``{"ok": true, "outputs": [...]}`` or ``{"ok": false, "stage", "message", "kind"?}`` where
stage is compile, runtime, limit or memory. The parent enforces the time limit by killing
this process; it exits by itself when its stdin closes.
"""

from __future__ import annotations

import json
import math
import signal
import sys
from typing import Any, BinaryIO

from tasker_ctl.grammar.expressions._diagnostics import truncate
from tasker_ctl.grammar.expressions._jq import jq
from tasker_ctl.grammar.expressions._prelude import sandboxed

_CACHE_SIZE = 256
# exit status when a request does not fit in the memory limit before it is even read
EXIT_OUT_OF_MEMORY = 3
_programs: dict[str, Any] = {}


def _limit_resources(memory_mb: int) -> None:
    try:
        import resource
    except ImportError:  # not POSIX: no limits to set
        return
    if memory_mb > 0:
        try:
            _, hard = resource.getrlimit(resource.RLIMIT_AS)
            soft = memory_mb * 1024 * 1024
            if hard != resource.RLIM_INFINITY:
                soft = min(soft, hard)
            resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        except (ValueError, OSError, AttributeError):
            pass


def _limit_cpu(timeout_ms: int) -> None:
    # a safety net should the parent die mid-evaluation: the parent normally kills first
    try:
        import resource

        usage = resource.getrusage(resource.RUSAGE_SELF)
        spent = usage.ru_utime + usage.ru_stime
        soft = math.ceil(spent + timeout_ms / 1000) + 5
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
    except (ImportError, ValueError, OSError, AttributeError):
        pass


def _program(expression: str) -> Any:
    program = _programs.get(expression)
    if program is None:
        program = jq.compile(sandboxed(expression))
        if len(_programs) >= _CACHE_SIZE:
            del _programs[next(iter(_programs))]
        _programs[expression] = program
    return program


def _evaluate(header: dict[str, Any], value_text: str) -> dict[str, Any] | str:
    """The reply, as a dict or (for success) as ready JSON text."""
    try:
        program = _program(header["expression"])
    except ValueError as exc:
        return {"ok": False, "stage": "compile", "message": truncate(str(exc))}
    first = bool(header["first"])
    max_outputs = int(header["max_outputs"])
    max_bytes = int(header["max_output_bytes"])
    texts: list[str] = []
    size = 0
    try:
        for output in program.input_text(value_text):
            if len(texts) >= max_outputs:
                return _limit("too_many_outputs", f"more than {max_outputs} outputs")
            text = json.dumps(output, ensure_ascii=False, allow_nan=False)
            size += len(text) if text.isascii() else len(text.encode("utf-8"))
            if size > max_bytes:
                return _limit("output_too_large", f"output larger than {max_bytes} bytes")
            texts.append(text)
            if first:
                break
    except ValueError as exc:
        return {"ok": False, "stage": "runtime", "message": truncate(str(exc))}
    return '{"ok":true,"outputs":[' + ",".join(texts) + "]}"


def _limit(kind: str, message: str) -> dict[str, Any]:
    return {"ok": False, "stage": "limit", "kind": kind, "message": message}


def _reply(stdout: BinaryIO, reply: dict[str, Any] | str) -> None:
    text = reply if isinstance(reply, str) else json.dumps(reply, ensure_ascii=False)
    stdout.write(text.encode("utf-8") + b"\n")
    stdout.flush()


def main() -> None:
    memory_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    # the parent decides when this process stops; a terminal's Ctrl-C goes to the parent
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    _limit_resources(memory_mb)
    _reply(stdout, {"ready": True})
    while True:
        try:
            header_line = stdin.readline()
            value_line = stdin.readline()
        except MemoryError:
            sys.exit(EXIT_OUT_OF_MEMORY)
        if not header_line or not value_line:
            return
        reply: dict[str, Any] | str
        try:
            header = json.loads(header_line)
            _limit_cpu(int(header.get("timeout_ms", 1000)))
            reply = _evaluate(header, value_line.decode("utf-8"))
        except MemoryError:
            reply = {"ok": False, "stage": "memory", "message": "out of memory"}
        except RecursionError:
            reply = {"ok": False, "stage": "runtime", "message": "value nested too deeply"}
        except Exception as exc:
            message = truncate(f"{type(exc).__name__}: {exc}")
            reply = {"ok": False, "stage": "runtime", "message": message}
        try:
            _reply(stdout, reply)
        except MemoryError:
            _reply(stdout, {"ok": False, "stage": "memory", "message": "out of memory"})
        if isinstance(reply, dict) and reply.get("stage") == "memory":
            # the heap may be in a bad state; the parent starts a fresh process
            return


if __name__ == "__main__":
    main()
