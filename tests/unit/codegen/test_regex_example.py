"""Strings built from regular expressions: they match, respect lengths, and never vary."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tasker_ctl.codegen.regex_example import FALLBACK, example_for_pattern

PATTERNS = [
    "^[A-Z]{2}$",
    "^[0-9A-Z -]{3,10}$",
    "^(red|green|blue)$",
    "^(?:https?|ftp)://[a-z]+\\.[a-z]{2,}$",
    "^[^a-z0-9]+$",
    "^[^\\d\\s]{2}$",
    "[aeiou]{3}",
    "\\d{3}-\\d{4}",
    "^\\w+@\\w+\\.com$",
    "^\\S+\\s\\S+$",
    "^a{2,}b?c*d+$",
    "^x*?y+?$",
    "^(ab|cd)-\\1$",
    "^(?P<word>[a-z]+)=(?P=word)$",
    "^(?=.*[0-9])(?=.*[A-Z])(?=.*[a-z])[A-Za-z0-9]{8,16}$",
    "^(?!admin)[a-z]{5}$",
    "^[A-Z][a-z]+( [A-Z][a-z]+)*$",
    "^\\$[0-9]+\\.[0-9]{2}$",
    "^.{3}$",
    "^[\\u00e0-\\u00ff]+$",
    "^$",
    "",
    "\\bword\\b",
    "^[-+]?[0-9]*\\.?[0-9]+([eE][-+]?[0-9]+)?$",
    "^SKU-[A-Z0-9]{4}-[0-9]{2}$",
    # lookarounds: what a lookahead asks for is placed where the rest allows it; a negative
    # one is got past with other choices
    "^(?=.*\\d)(?=.*[a-z])(?=.*[A-Z])(?=.*[!@#$%^&*]).{8,}$",
    "^(?=.*[^a-zA-Z0-9])(?=.*[0-9])[A-Za-z0-9!@#$%^&*]+$",
    "^(?=.*abc)[a-z]{3,}$",
    "^(?=[A-Z])\\w{4}$",
    "^(?!0)\\d{3}$",
    "^(?!a)(?!b)[a-c]$",
    "^(?!.*--)[a-z-]{3,}$",
    "^(?:(?!ab).)+$",
    "(?<=@)[a-z]+",
    "^[a-z]+(?<!a)$",
]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_example_matches(pattern: str) -> None:
    text = example_for_pattern(pattern)
    assert re.search(pattern, text), text


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("^[A-Z]{2}$", "AA"),
        ("^(red|green|blue)$", "red"),
        ("\\d{3}-\\d{4}", "000-0000"),
        ("^(ab|cd)-\\1$", "ab-ab"),
        ("^(?=.*[0-9])[a-z0-9]{4}$", "a0a0"),
    ],
)
def test_examples_are_short_and_plain(pattern: str, expected: str) -> None:
    assert example_for_pattern(pattern) == expected


@pytest.mark.parametrize(
    ("pattern", "low", "high"),
    [
        ("^a+$", 5, None),
        ("^[a-z]{2,10}$", 7, 7),
        ("b", 4, 4),
        ("^[0-9]*$", 3, 5),
        ("x", 0, 1),
    ],
)
def test_length_bounds_are_respected(pattern: str, low: int, high: int | None) -> None:
    text = example_for_pattern(pattern, low, high)
    assert re.search(pattern, text)
    assert len(text) >= low
    assert high is None or len(text) <= high


@pytest.mark.parametrize(
    "pattern",
    ["^[a-z]+$(", "\\p{L}+", "[z-a]", "^(?=a)b$", "^[^\\x00-\\U0010ffff]$"],
    ids=["syntax error", "unicode property", "bad range", "impossible lookahead", "empty class"],
)
def test_patterns_without_an_example_fall_back(pattern: str) -> None:
    assert example_for_pattern(pattern) == FALLBACK


def test_impossible_lengths_fall_back() -> None:
    assert example_for_pattern("^[A-Z]{2}$", 5) == FALLBACK


@pytest.mark.parametrize("pattern", PATTERNS)
def test_examples_are_deterministic(pattern: str) -> None:
    assert example_for_pattern(pattern, 2) == example_for_pattern(pattern, 2)


_PIECES = [
    "[a-z]",
    "[A-Z0-9]{2}",
    "\\d{1,3}",
    "(x|yy|zzz)",
    "[^abc]",
    "q?",
    "-",
    "\\.",
    "(?:ab)+",
    "[_\\w]*",
    "\\s",
]


@given(
    pieces=st.lists(st.sampled_from(_PIECES), min_size=1, max_size=6),
    start=st.booleans(),
    end=st.booleans(),
)
def test_composed_patterns_are_matched(pieces: list[str], start: bool, end: bool) -> None:
    pattern = ("^" if start else "") + "".join(pieces) + ("$" if end else "")
    text = example_for_pattern(pattern)
    assert re.search(pattern, text), (pattern, text)
