"""Mutators: byte-level edits of a file's text and structural edits of its parsed YAML.

Every mutator takes a seeded ``random.Random`` and returns a label saying what it did, so a
case is reproducible from its number alone and its description tells what made it hostile.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from typing import Any

from tests.fuzz import targeted
from tests.fuzz.document import Document, mappings
from tests.fuzz.hostile import describe, hostile_value

_TOKENS = (
    b"\x00",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b"\xed\xa0\x80",
    b"\t",
    b"\r",
    b"&a ",
    b"*a",
    b"*undefined_alias",
    b"<<: *a",
    b"!!python/object/apply:os.system ['true']",
    b"!!binary aGk=",
    b"? ",
    b"---\n",
    b"...\n",
    b"%YAML 1.1\n",
    b"{",
    b"[",
    b"}",
    b": ",
    b"- ",
    b"#",
    b'"\\ud800"',
    b"9" * 4400,
    b"[" * 2000,
    b"1e999",
    b".nan",
)

# ---------------------------------------------------------------------------------------------
# byte level


def _span(rng: random.Random, size: int) -> tuple[int, int]:
    start = rng.randrange(size + 1)
    return start, min(size, start + rng.choice((1, 2, 8, 64, 512)))


def _flip(rng: random.Random, data: bytearray) -> str:
    for _ in range(rng.randint(1, 8)):
        if data:
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    return "flip bits"


def _delete(rng: random.Random, data: bytearray) -> str:
    start, end = _span(rng, len(data))
    del data[start:end]
    return f"delete {end - start} bytes"


def _insert(rng: random.Random, data: bytearray) -> str:
    token = rng.choice(_TOKENS) if rng.random() < 0.7 else rng.randbytes(rng.randint(1, 16))
    at = rng.randrange(len(data) + 1)
    data[at:at] = token
    return f"insert {token[:12]!r}"


def _duplicate(rng: random.Random, data: bytearray) -> str:
    start, end = _span(rng, len(data))
    times = rng.choice((1, 2, 100))
    data[end:end] = data[start:end] * times
    return f"duplicate {end - start} bytes x{times}"


def _truncate(rng: random.Random, data: bytearray) -> str:
    del data[rng.randrange(len(data) + 1) :]
    return "truncate"


def _swap_lines(rng: random.Random, data: bytearray) -> str:
    lines = bytes(data).split(b"\n")
    first, second = rng.randrange(len(lines)), rng.randrange(len(lines))
    lines[first], lines[second] = lines[second], lines[first]
    data[:] = b"\n".join(lines)
    return "swap lines"


def _indent(rng: random.Random, data: bytearray) -> str:
    lines = bytes(data).split(b"\n")
    start = rng.randrange(len(lines))
    end = min(len(lines), start + rng.choice((1, 3, 20)))
    change = rng.choice((b" ", b"  ", b"\t", b"-1"))
    for index in range(start, end):
        if change == b"-1":
            lines[index] = lines[index][1:] if lines[index].startswith(b" ") else lines[index]
        else:
            lines[index] = change + lines[index]
    data[:] = b"\n".join(lines)
    return f"indent {end - start} lines by {change!r}"


BYTE_MUTATORS: tuple[Callable[[random.Random, bytearray], str], ...] = (
    _flip,
    _delete,
    _insert,
    _duplicate,
    _truncate,
    _swap_lines,
    _indent,
)


def mutate_bytes(rng: random.Random, text: bytes) -> tuple[bytes, list[str]]:
    data = bytearray(text)
    labels = [rng.choice(BYTE_MUTATORS)(rng, data) for _ in range(rng.choice((1, 1, 2, 4)))]
    return bytes(data), labels


# ---------------------------------------------------------------------------------------------
# structure: keys


def _delete_key(rng: random.Random, doc: Document) -> str:
    found = [m for m in mappings(doc.root) if m]
    if not found:
        return targeted.replace_value(rng, doc)
    mapping = rng.choice(found)
    key = rng.choice(list(mapping))
    del mapping[key]
    return f"delete key {describe(key)}"


def _duplicate_key(rng: random.Random, doc: Document) -> str:
    found = [m for m in mappings(doc.root) if m]
    if not found:
        return targeted.replace_value(rng, doc)
    mapping = rng.choice(found)
    key = rng.choice(list(mapping))
    mapping[doc.duplicate_of(key)] = copy.deepcopy(mapping[key])
    return f"duplicate key {describe(key)}"


def _rename_key(rng: random.Random, doc: Document) -> str:
    found = [m for m in mappings(doc.root) if m]
    if not found:
        return targeted.replace_value(rng, doc)
    mapping = rng.choice(found)
    old = rng.choice(list(mapping))
    new: Any
    if rng.random() < 0.5 and isinstance(old, str) and old:
        new = rng.choice((old[:-1], old.upper(), old + "s", old.replace("_", "-")))
        label = describe(new)
    else:
        label, value = hostile_value(rng, "name")
        new = doc.value(value)
    items = [(new if key == old else key, value) for key, value in mapping.items()]
    mapping.clear()
    mapping.update(items)
    return f"rename key {describe(old)} -> {label}"


def _unknown_key(rng: random.Random, doc: Document) -> str:
    found = mappings(doc.root)
    if not found:
        return targeted.replace_value(rng, doc)
    label, value = hostile_value(rng)
    rng.choice(found)["zz_fuzz_extra"] = doc.value(value)
    return f"unknown key = {label}"


STRUCTURAL_MUTATORS: tuple[tuple[Callable[[random.Random, Document], str], int], ...] = (
    (targeted.replace_value, 6),
    (_delete_key, 2),
    (_duplicate_key, 1),
    (_rename_key, 2),
    (_unknown_key, 1),
    (targeted.hostile_names, 3),
    (targeted.cycle, 1),
    (targeted.duplicate_step, 1),
    (targeted.many_steps, 1),
    (targeted.jq, 3),
    (targeted.persist_reach, 1),
    (targeted.acquire_reach, 1),
    (targeted.schema_ref, 2),
    (targeted.wrong_type, 2),
)


def mutate_structure(rng: random.Random, data: Any) -> tuple[Document, list[str]]:
    """One to three structural mutations of a deep copy of ``data`` (weighted by kind)."""
    doc = Document(copy.deepcopy(data))
    mutators = [mutator for mutator, _ in STRUCTURAL_MUTATORS]
    weights = [weight for _, weight in STRUCTURAL_MUTATORS]
    count = rng.choice((1, 1, 1, 2, 2, 3))
    labels = [rng.choices(mutators, weights)[0](rng, doc) for _ in range(count)]
    return doc, labels
