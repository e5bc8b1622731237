"""The sandbox's list of denied jq builtins and the program prefix that enforces it.

Shared by the static check (which names a denied builtin before anything runs) and the
evaluator process (which compiles every program behind :data:`PRELUDE`, so a denied builtin
fails even when the static check was skipped). Imports nothing heavy: the evaluator process
loads it at start-up.

``$__loc__`` cannot be shadowed (jq resolves it while parsing); the line it reports counts the
prelude's lines too.
"""

from __future__ import annotations

_DETERMINISM = "expressions must be deterministic"
_ENVIRONMENT = "expressions cannot read the environment"
_SINGLE_INPUT = "expressions read only the value they are given"
_DIAGNOSTICS = "expressions cannot write diagnostics; return the value instead"
_STOPPING = "expressions cannot stop the evaluator; use error(...) instead"
_MODULES = "expressions cannot load modules"

# name -> (arities to redefine, reason); arities cover jq 1.6 to 1.8
DENIED_FUNCTIONS: dict[str, tuple[tuple[int, ...], str]] = {
    "now": ((0,), _DETERMINISM),
    "localtime": ((0,), _DETERMINISM),
    "strflocaltime": ((1,), _DETERMINISM),
    "env": ((0,), _ENVIRONMENT),
    "get_search_list": ((0,), _ENVIRONMENT),
    "get_prog_origin": ((0,), _ENVIRONMENT),
    "get_jq_origin": ((0,), _ENVIRONMENT),
    "input_filename": ((0,), _ENVIRONMENT),
    "input": ((0,), _SINGLE_INPUT),
    "inputs": ((0,), _SINGLE_INPUT),
    "input_line_number": ((0,), _SINGLE_INPUT),
    "debug": ((0, 1), _DIAGNOSTICS),
    "stderr": ((0,), _DIAGNOSTICS),
    "halt": ((0,), _STOPPING),
    "halt_error": ((0, 1), _STOPPING),
    "modulemeta": ((0,), _MODULES),
}

# variables jq predefines from the process; shadowed with harmless values
DENIED_VARIABLES: dict[str, tuple[str, str]] = {
    "ENV": ("{}", _ENVIRONMENT),
    "__prog_args": ("null", _ENVIRONMENT),
}

DENIED_KEYWORDS: dict[str, str] = {
    "import": _MODULES,
    "include": _MODULES,
    "module": _MODULES,
}


def denial_message(name: str, reason: str) -> str:
    return f"'{name}' is not available: {reason}"


def _build_prelude() -> str:
    definitions = []
    for name, (arities, reason) in DENIED_FUNCTIONS.items():
        literal = '"' + denial_message(name, reason).replace('"', '\\"') + '"'
        for arity in arities:
            params = "(" + "; ".join(f"_p{i}" for i in range(arity)) + ")" if arity else ""
            definitions.append(f"def {name}{params}: error({literal});")
    bindings = [f"{value} as ${name} |" for name, (value, _) in DENIED_VARIABLES.items()]
    # own lines, so that jq's line numbers map back to the author's by a fixed offset; a
    # trailing comment in the author's text cannot swallow anything, as nothing follows it
    return " ".join(definitions) + "\n" + " ".join(bindings) + "\n"


PRELUDE = _build_prelude()
PRELUDE_LINES = PRELUDE.count("\n")

# run-time messages of the prelude's definitions, to report them as FORBIDDEN
RUNTIME_DENIALS = frozenset(
    denial_message(name, reason) for name, (_, reason) in DENIED_FUNCTIONS.items()
)


def sandboxed(expression: str) -> str:
    """The program the sandbox compiles for ``expression``."""
    return PRELUDE + expression
