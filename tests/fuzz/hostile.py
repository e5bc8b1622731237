"""The catalogue of hostile values the structural mutators put into templates and compositions.

Some values cannot come out of a serializer: lone surrogates, ints longer than Python will
print, YAML aliases, nesting deeper than the dumper's recursion. Those are ``Raw`` fragments,
written into the serialized text as they are (see ``mutators.serialize``).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Raw:
    """A value written as literal text: ``yaml`` in YAML files, ``json`` in JSON ones.

    ``json`` is None when JSON cannot express the value (an alias bomb): such a file is always
    written as YAML. Both texts are single-line so that they fit any position.
    """

    label: str
    yaml: str
    json: str | None


def _deep_list(depth: int) -> Raw:
    text = "[" * depth + "]" * depth
    return Raw(f"{depth}-deep list", text, text)


def _deep_mapping(depth: int) -> Raw:
    return Raw(
        f"{depth}-deep mapping",
        "{a: " * depth + "1" + "}" * depth,
        '{"a": ' * depth + "1" + "}" * depth,
    )


def _alias_bomb(levels: int) -> Raw:
    """Billion laughs: ``levels`` anchors, each a list of nine aliases of the previous one."""
    parts = ['&l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels):
        parts.append(f"&l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]")
    return Raw(f"alias bomb of {levels} levels", "[" + ", ".join(parts) + "]", None)


def _digits(count: int, sign: str = "") -> Raw:
    text = sign + "9" * count
    return Raw(f"{count}-digit int", text, text)


# Strings: lengths, NUL, control characters, bidi overrides, lone surrogates (raw: no encoder
# writes them, but a YAML or JSON \u escape reads back as one).
STRINGS: tuple[Callable[[random.Random], Any], ...] = (
    lambda rng: "x" * rng.choice((300, 10_000, 200_000, 1_000_000)),
    lambda rng: "a\x00b",
    lambda rng: "\x00",
    lambda rng: "\x1b[2J\x1b[31mred\x07\x08\r\x7f\u202e\u2028end",
    lambda rng: Raw("lone surrogate", '"\\ud800x"', '"\\ud800x"'),
    lambda rng: Raw("lone low surrogate", '"a\\udfffb"', '"a\\udfffb"'),
    lambda rng: "",
    lambda rng: " ",
    lambda rng: "é" * 4000,
    lambda rng: "%s%n{0}${x}{{x}}\\",
    lambda rng: "'; DROP TABLE tasks; --",
    lambda rng: "../../../../etc/passwd",
)

NUMBERS: tuple[Callable[[random.Random], Any], ...] = (
    lambda rng: -1,
    lambda rng: 0,
    lambda rng: 2**31,
    lambda rng: 2**63,
    lambda rng: -(2**63) - 1,
    lambda rng: 2**64,
    lambda rng: 10**100,
    lambda rng: -(10**100),
    lambda rng: _digits(4400),
    lambda rng: _digits(5000, "-"),
    lambda rng: Raw("1e999", "1e999", "1e999"),
    lambda rng: Raw(".inf", ".inf", "Infinity"),
    lambda rng: Raw("-.inf", "-.inf", "-Infinity"),
    lambda rng: Raw(".nan", ".nan", "NaN"),
    lambda rng: Raw("-0.0", "-0.0", "-0.0"),
    lambda rng: 1e-320,
    lambda rng: 3.5,
)

SHAPES: tuple[Callable[[random.Random], Any], ...] = (
    lambda rng: _deep_list(rng.choice((300, 1000, 2000))),
    lambda rng: _deep_mapping(rng.choice((300, 1000, 2000))),
    lambda rng: _alias_bomb(rng.choice((6, 9, 12))),
    lambda rng: {},
    lambda rng: [],
    lambda rng: None,
    lambda rng: True,
    lambda rng: ["wrong", "type"],
    lambda rng: {"wrong": "type"},
    lambda rng: {"zz_unknown_key": rng.randrange(100)},
    lambda rng: [None] * rng.choice((1000, 100_000)),
    lambda rng: {f"k{index}": index for index in range(rng.choice((1000, 20_000)))},
    lambda rng: {"$ref": "http://127.0.0.1:9/x"},
    lambda rng: {"$ref": "file:///etc/passwd"},
    lambda rng: {"$ref": "/etc/passwd"},
    lambda rng: {"$ref": "#/definitions/missing"},
    lambda rng: {"$ref": "#"},
)

# Names: the template's, a namespace's, a step's, a dependency's.
NAMES: tuple[Callable[[random.Random], Any], ...] = (
    lambda rng: "n" * 300,
    lambda rng: "n" * 64,
    lambda rng: "n" * 65_536,
    lambda rng: "step\x00name",
    lambda rng: "ü" * 200,
    lambda rng: "",
    lambda rng: "a b/c.d:e",
    lambda rng: "../escape",
    lambda rng: "-leading-dash",
    lambda rng: 12,
    lambda rng: Raw("surrogate name", '"n\\udc80"', '"n\\udc80"'),
)

# jq expressions: huge, deeply nested, non-terminating, memory-hungry, environment-reaching.
JQ: tuple[Callable[[random.Random], Any], ...] = (
    lambda rng: "[range(1e9)]",
    lambda rng: "def f: f; f",
    lambda rng: "def f: [f]; f",
    lambda rng: "[limit(1e9; repeat(1))]",
    lambda rng: "reduce range(1e9) as $x (0; . + $x)",
    lambda rng: "[range(1e6)] | tostring",
    lambda rng: '"x" * 100000000',
    lambda rng: "[.[]?] | length | . as $n | [range($n * 1e9)]",
    lambda rng: "." + " | ." * rng.choice((1000, 20_000)),
    lambda rng: "(" * 3000 + "." + ")" * 3000,
    lambda rng: "[" * 5000 + "]" * 5000,
    lambda rng: "{a: " * 2000 + "1" + "}" * 2000,
    lambda rng: ".a" * 50_000,
    lambda rng: "until(false; .)",
    lambda rng: "recurse(. + 1; true)",
    lambda rng: "$ENV.HOME",
    lambda rng: "env",
    lambda rng: 'input_filename, $__loc__, ltrimstr(1e999), @base64d, "\\(1e999)"',
    lambda rng: "ltrimstr(" * 500 + '"x"' + ")" * 500,
    lambda rng: "def f(g): def h: g; h; " * 200 + ".",
    lambda rng: ".[" + "9" * 4400 + "]",
    lambda rng: "\x00",
    lambda rng: "",
)

# what the threat model names first, drawn as often as a whole family
CLASSIC: tuple[Callable[[random.Random], Any], ...] = (
    lambda rng: _alias_bomb(9),
    lambda rng: _deep_list(rng.choice((300, 2000))),
    lambda rng: _deep_mapping(rng.choice((300, 2000))),
    lambda rng: _digits(4400),
    lambda rng: Raw("lone surrogate", '"\\ud800x"', '"\\ud800x"'),
    lambda rng: Raw("1e999", "1e999", "1e999"),
    lambda rng: Raw(".nan", ".nan", "NaN"),
    lambda rng: "nul\x00inside",
    lambda rng: "x" * 1_000_000,
    lambda rng: -(2**70),
)

FAMILIES: dict[str, tuple[Callable[[random.Random], Any], ...]] = {
    "classic": CLASSIC,
    "string": STRINGS,
    "number": NUMBERS,
    "shape": SHAPES,
    "name": NAMES,
    "jq": JQ,
}


def hostile_value(rng: random.Random, family: str | None = None) -> tuple[str, Any]:
    """A hostile value and the label that names it in a case's description."""
    name = family if family is not None else rng.choice(sorted(FAMILIES))
    value = rng.choice(FAMILIES[name])(rng)
    return f"{name}:{describe(value)}", value


def describe(value: Any) -> str:
    """A short label for a value (no value of megabytes in a case's description)."""
    if isinstance(value, Raw):
        return value.label
    if isinstance(value, str) and len(value) <= 32:
        return repr(value)
    if isinstance(value, str):
        shown = value[:24].encode("unicode_escape").decode("ascii")
        return f"str[{len(value)}]'{shown}'"
    if isinstance(value, list | dict):
        return f"{type(value).__name__}[{len(value)}]"
    text = repr(value)
    return text if len(text) <= 24 else text[:24] + "..."
