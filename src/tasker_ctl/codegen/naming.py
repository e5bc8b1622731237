"""Deterministic Python names for templates, steps and their contracts.

Names are split into words on anything that is not a letter or digit and on camelCase
boundaries. Accents are dropped (``naïve`` -> ``naive``) so names stay ASCII where they can;
letters without an ASCII form (``数据``) are kept, as Python accepts them in identifiers.
"""

from __future__ import annotations

import keyword
import re
import unicodedata

_WORD = re.compile(r"[^\W_]+")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
# Spelled out: keyword.softkwlist grows between Python versions, and names must not.
_SOFT_KEYWORDS = frozenset({"_", "case", "match", "type"})


def words(name: str) -> list[str]:
    """Split ``name`` into words on separators and camelCase boundaries."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = unicodedata.normalize(
        "NFKC", "".join(char for char in decomposed if not unicodedata.combining(char))
    )
    # a few word characters (e.g. U+2E2F) may not appear in identifiers: they separate words
    usable = "".join(char if f"a{char}".isidentifier() else " " for char in plain)
    return [word for part in _WORD.findall(usable) for word in _CAMEL_BOUNDARY.split(part) if word]


def pascal_case(name: str) -> str:
    """``order-intake`` -> ``OrderIntake``; a leading digit gets an ``N`` (``3d`` -> ``N3d``)."""
    result = "".join(word[:1].upper() + word[1:] for word in words(name))
    if not result:
        return "Unnamed"
    if result[0].isdigit():
        return f"N{result}"
    return f"{result}_" if keyword.iskeyword(result) else result  # None, True, False


def snake_base(name: str) -> str:
    """``fetchData`` -> ``fetch_data``, not yet checked against keywords (see ``snake_case``)."""
    result = "_".join(word.lower() for word in words(name))
    if not result:
        return "unnamed"
    return f"n_{result}" if result[0].isdigit() else result


def snake_case(name: str) -> str:
    """An identifier: ``snake_base``, plus ``_`` after a keyword (``class`` -> ``class_``)."""
    result = snake_base(name)
    if keyword.iskeyword(result) or result in _SOFT_KEYWORDS:
        result = f"{result}_"
    return result


def input_model_name(template_name: str) -> str:
    return f"{pascal_case(template_name)}Input"


def result_model_name(step_name: str) -> str:
    return f"{pascal_case(step_name)}Result"


def unique(name: str, taken: set[str]) -> str:
    """``name``, or ``name_2``, ``name_3``... so that it is not in ``taken``; records the result."""
    candidate, counter = name, 2
    while candidate in taken:
        candidate = f"{name}_{counter}"
        counter += 1
    taken.add(candidate)
    return candidate
