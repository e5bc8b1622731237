"""Which envelope paths an expression reads: referenced_paths, against hand-made cases and
the expressions of the tasker-grammar workflow fixtures."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from tasker_ctl.grammar.expressions import (
    ExpressionError,
    PathRef,
    check_syntax,
    referenced_paths,
)
from tasker_ctl.grammar.expressions._paths import _referenced

ROOTS = ("context", "deps", "prev", "step")
WORKFLOWS = Path("crates/tasker-grammar/tests/fixtures/workflows")
EVERY_ROOT_CUT = {".context~", ".deps~", ".prev~", ".step~"}


def refs(expression: str) -> set[str]:
    """Path texts, with ``~`` marking the inexact ones."""
    return {ref.text + ("" if ref.exact else "~") for ref in referenced_paths(expression)}


# PathRef


def test_path_ref_text_renders_jq_notation() -> None:
    assert PathRef("context", ()).text == ".context"
    assert PathRef("prev", ("matched", None, "reference")).text == ".prev.matched[].reference"
    assert PathRef("deps", ("step-1", "a b", "_ok", "1st")).text == (
        '.deps["step-1"]["a b"]._ok["1st"]'
    )
    assert PathRef("step", ('quote"d', "ünï")).text == '.step["quote\\"d"]["ünï"]'


def test_path_refs_sort_and_compare_with_mixed_segments() -> None:
    refs_ = [
        PathRef("prev", ("a",)),
        PathRef("prev", (None,)),
        PathRef("context", ("z",)),
        PathRef("prev", (None, "x")),
        PathRef("prev", ("a",), exact=False),
    ]
    assert [ref.text for ref in sorted(refs_)] == [
        ".context.z",
        ".prev[]",
        ".prev[].x",
        ".prev.a",
        ".prev.a",
    ]
    assert sorted(refs_)[3].exact is False
    assert PathRef("prev", ("a",)) == PathRef("prev", ("a",))
    assert PathRef("prev", ("a",)) != PathRef("prev", ("a",), exact=False)
    assert len({PathRef("prev", ("a",)), PathRef("prev", ("a",))}) == 1
    assert repr(PathRef("prev", ("a",))) == "PathRef(root='prev', segments=('a',), exact=True)"


# hand-made cases


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (".context.a.b", {".context.a.b"}),
        (".deps.step_x.result", {".deps.step_x.result"}),
        (".prev.total", {".prev.total"}),
        (".step.name", {".step.name"}),
        (".context", {".context"}),
        ('.["context"]["a"]', {".context.a"}),
        ('."prev"."a key"', {'.prev["a key"]'}),
        (".prev.items[]", {".prev.items[]"}),
        (".prev.items[0]", {".prev.items[]"}),
        (".prev.items[0]?.name?", {".prev.items[].name"}),
        (".prev.items[1:3] | .[].x", {".prev.items[].x"}),
        (".foo.bar", set()),
        ("1 + 2", set()),
        ("null", set()),
    ],
)
def test_plain_paths(expression: str, expected: set[str]) -> None:
    assert refs(expression) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (".prev as $o | $o.total", {".prev.total"}),
        (
            ".context.internal_records as $internal | $internal[] | select(.reference == 1)",
            {".context.internal_records[]", ".context.internal_records[].reference"},
        ),
        (
            ".prev.external as $external | [$external[] | . as $ext | $ext.transaction_id]",
            {".prev.external[].transaction_id"},
        ),
        (". as $e | $e.prev.x", {".prev.x"}),
        (".prev as {a: $a, $b} | [$a.x, $b.y]", {".prev.a.x", ".prev.b.y"}),
        (".prev.pair as [$first, $second] | $first.n", {".prev.pair[].n"}),
        ("1 as $x | .prev.y", {".prev.y"}),
    ],
)
def test_variables_alias_the_paths_they_were_bound_to(expression: str, expected: set[str]) -> None:
    assert refs(expression) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("[.prev.items[] | .price] | add", {".prev.items[].price"}),
        (".prev.items | map(.price) | add", {".prev.items[].price"}),
        (".prev.items | first | .name", {".prev.items[].name"}),
        (".prev.items | length", {".prev.items"}),
        (".prev.items | any(.ok)", {".prev.items[].ok"}),
        (".prev.items | all(.ok)", {".prev.items[].ok"}),
        (".prev.items | sort_by(.n) | .[0].name", {".prev.items[].n", ".prev.items[].name"}),
        (".prev.items | group_by(.k) | .[0][0].v", {".prev.items[].k", ".prev.items[].v"}),
        (".prev.items | unique_by(.k) | length", {".prev.items[].k", ".prev.items"}),
        (".prev.items | min_by(.n).name", {".prev.items[].n", ".prev.items[].name"}),
        (".prev.items | max_by(.n) | .id", {".prev.items[].n", ".prev.items[].id"}),
        (".prev | select(.a > 1) | .b", {".prev.a", ".prev.b"}),
        ("(.prev.a // .context.b) | .c", {".prev.a.c", ".context.b.c"}),
        (".prev.a + .prev.b", {".prev.a", ".prev.b"}),
        (
            "if .prev.ok then .context.x elif .step.y then 1 else .context.z end",
            {".prev.ok", ".step.y", ".context.x", ".context.z"},
        ),
        ("{a: .prev.x} | .a.y", {".prev.x.y"}),
        ("[.prev.x, .prev.y] | .[0].z", {".prev.x.z", ".prev.y.z"}),
        ("(.prev | .a) | (.b)", {".prev.a.b"}),
        ("reduce .prev.items[] as $i (0; . + $i.n)", {".prev.items[].n"}),
        (
            "foreach .prev.items[] as $i (0; . + $i.n; [$i.id, .])",
            {".prev.items[].id", ".prev.items[].n"},
        ),
        (".prev | to_entries | map(.value.x)", {".prev[].x"}),
        (".prev | limit(2; .items[]) | .x", {".prev.items[].x"}),
        ('"\\(.prev.name) is \\(.context.age)"', {".prev.name", ".context.age"}),
        ('@base64 "\\(.prev.x)"', {".prev.x"}),
        ("try .prev.a catch .context.b", {".prev.a"}),
        ("label $out | .prev.a, break $out", {".prev.a"}),
        (".deps | .[] | .result", {".deps[].result"}),
        (".[] | .x", {".context.x", ".deps.x", ".prev.x", ".step.x"}),
    ],
)
def test_dot_is_tracked_through_the_language(expression: str, expected: set[str]) -> None:
    assert refs(expression) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("def f: .x; .prev | f", {".prev.x"}),
        ("def f(g): .prev | g; f(.x)", {".prev.x"}),
        ("def f($v): $v.x; f(.prev)", {".prev.x"}),
        ("def f: .total; def g: f; .prev | g", {".prev.total"}),
    ],
)
def test_user_functions_are_followed(expression: str, expected: set[str]) -> None:
    assert refs(expression) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (".prev[$k]", {".prev~"}),
        (".prev[.context.key].x", {".context.key", ".prev~"}),
        (".prev | unknown_function", {".prev~"}),
        ('.prev.items | getpath(["a"])', {".prev.items~"}),
        (".prev | ..", {".prev~"}),
        ("def f: if . then f else . end; .prev | f", {".prev~"}),
        (".", EVERY_ROOT_CUT),
        ("tojson", EVERY_ROOT_CUT),
        ("del(.prev.x)", EVERY_ROOT_CUT),
        # arguments of unknown functions see an unknown input
        ("unknown_function(.context.a)", EVERY_ROOT_CUT),
        (".prev as $p | unknown_function($p.a)", {".prev.a~"} | EVERY_ROOT_CUT),
    ],
)
def test_paths_are_cut_where_they_continue_dynamically(expression: str, expected: set[str]) -> None:
    assert refs(expression) == expected


def test_a_path_read_whole_and_cut_is_reported_once_cut() -> None:
    assert refs(".prev.a, .prev.a[$k]") == {".prev.a~"}


def test_results_are_sorted_and_unique() -> None:
    result = referenced_paths(".prev.b, .prev.a, .context.z, .prev.a, .prev.items[].x")
    assert [ref.text for ref in result] == [".context.z", ".prev.a", ".prev.b", ".prev.items[].x"]


def test_each_call_returns_a_new_list() -> None:
    first = referenced_paths(".prev.a")
    first.clear()
    assert referenced_paths(".prev.a") == [PathRef("prev", ("a",))]


@pytest.mark.parametrize(
    "expression",
    [".prev.a |", "{a: .prev.x, b: ", ".prev.items[] | .x ] ", '"\\(.prev.q'],
)
def test_invalid_expressions_fall_back_to_written_out_paths(expression: str) -> None:
    found = referenced_paths(expression)
    assert found
    assert all(ref.root == "prev" and not ref.exact for ref in found)


@pytest.mark.parametrize(
    "expression",
    [
        "(" * 3000,
        "[" * 600 + "]" * 600,
        "-" * 2000 + "1",
        "1" + " + 1" * 1500,
        '"\\(' * 400,
        "{" * 800,
        "if " * 600,
        ".prev | " * 400 + ".x",
        "def f: (f | f), (f | f); .prev | f",
        " ".join(f"def f{i}: f{i - 1}, f{i - 1}, f{i - 1};" for i in range(1, 40))
        + " def f0: .prev.x; f39",
        "reduce .prev[] as $a (.; " * 14 + ". + $a" + ")" * 14,
    ],
)
def test_pathological_expressions_end_quickly(expression: str) -> None:
    # an exponential walk of these takes hours: a bound this loose fails only on one, never
    # on a loaded machine
    start = time.perf_counter()
    found = _referenced.__wrapped__(expression)
    assert time.perf_counter() - start < 20
    assert all(ref.root in ROOTS for ref in found)


def test_a_2kb_expression_is_analysed_in_under_5ms() -> None:
    expression = " | ".join(f".prev.a{i} as $v{i}" for i in range(40))
    expression += " | {" + ", ".join(f"k{i}: ($v{i}.x + .context.c{i})" for i in range(40)) + "}"
    assert 1800 <= len(expression) <= 2200
    timings = []
    for _ in range(10):
        start = time.perf_counter()
        found = _referenced.__wrapped__(expression)
        timings.append(time.perf_counter() - start)
    assert len(found) == 80
    assert min(timings) < 0.005


# the workflow fixtures of tasker-grammar

_FIXTURE_EXPECTED: dict[tuple[str, int, str], set[str]] = {
    ("customer_onboarding", 0, "params.expression"): {".context.customer_id"},
    ("customer_onboarding", 0, "result_shape.expression"): set(),
    ("customer_onboarding", 2, "filter"): {
        ".prev",
        ".prev.purchase_count",
        ".prev.total_purchases",
    },
    ("customer_onboarding", 3, "filter"): {
        ".context.onboarding_timestamp",
        ".prev.discount_pct",
        ".prev.profile.company",
        ".prev.profile.email",
        ".prev.profile.first_name",
        ".prev.profile.id",
        ".prev.profile.last_name",
        ".prev.profile.phone",
        ".prev.profile.preferences",
        ".prev.profile.signup_date",
        ".prev.tier",
        ".prev.tier_benefits",
    },
    ("customer_onboarding", 4, "data.expression"): {".prev"},
    ("customer_onboarding", 4, "validate_success.expression"): set(),
    ("customer_onboarding", 4, "result_shape.expression"): set(),
    ("customer_onboarding", 5, "payload.expression"): {
        ".prev.customer_id",
        ".prev.display_name",
        ".prev.onboarding_status",
        ".prev.tier",
    },
    ("customer_onboarding", 5, "metadata.correlation_id.expression"): {".context.customer_id"},
    ("customer_onboarding", 5, "metadata.idempotency_key.expression"): {".prev.customer_id"},
    ("customer_onboarding", 5, "result_shape.expression"): set(),
    ("ecommerce_order_processing", 1, "filter"): {
        ".prev.customer_id",
        ".prev.items[].name",
        ".prev.items[].quantity",
        ".prev.items[].sku",
        ".prev.items[].unit_price",
        ".prev.shipping_address",
    },
    ("ecommerce_order_processing", 2, "filter"): {
        ".prev.customer_id",
        ".prev.line_items",
        ".prev.line_items[].line_total",
        ".prev.shipping_address",
    },
    ("ecommerce_order_processing", 3, "filter"): {
        ".prev.customer_id",
        ".prev.line_items",
        ".prev.shipping",
        ".prev.shipping_address",
        ".prev.shipping_address.state",
        ".prev.subtotal",
        ".prev.tax",
        ".prev.total",
    },
    ("ecommerce_order_processing", 4, "data.expression"): {
        ".prev.customer_id",
        ".prev.line_items",
        ".prev.routing.fraud_review",
        ".prev.routing.priority",
        ".prev.routing.warehouse",
        ".prev.shipping",
        ".prev.shipping_address",
        ".prev.subtotal",
        ".prev.tax",
        ".prev.total",
    },
    ("ecommerce_order_processing", 4, "validate_success.expression"): set(),
    ("ecommerce_order_processing", 4, "result_shape.expression"): set(),
    ("ecommerce_order_processing", 5, "payload.expression"): {
        ".context.customer_id",
        ".prev.order_id",
        ".prev.priority",
        ".prev.total",
        ".prev.warehouse",
    },
    ("ecommerce_order_processing", 5, "metadata.correlation_id.expression"): {
        ".context.customer_id"
    },
    ("ecommerce_order_processing", 5, "result_shape.expression"): set(),
    ("payment_reconciliation", 0, "params.expression"): {".context.reconciliation_date"},
    ("payment_reconciliation", 0, "result_shape.expression"): set(),
    ("payment_reconciliation", 2, "filter"): {
        ".context.internal_records[]",
        ".context.internal_records[].reference",
        ".prev.external_transactions[].amount",
        ".prev.external_transactions[].reference",
        ".prev.external_transactions[].transaction_id",
    },
    ("payment_reconciliation", 3, "filter"): {
        ".prev.matched",
        ".prev.matched[].external_amount",
        ".prev.matched[].internal_match.amount",
        ".prev.matched[].reference",
        ".prev.unmatched",
        ".prev.unmatched[].external_id",
    },
    ("payment_reconciliation", 4, "filter"): {
        ".context.max_unmatched",
        ".context.variance_threshold",
        ".prev.total_variance",
        ".prev.unmatched_count",
    },
    ("payment_reconciliation", 5, "data.expression"): {
        ".context.reconciliation_date",
        ".prev.discrepancies",
        ".prev.matched_count",
        ".prev.total_variance",
        ".prev.unmatched_count",
        ".prev.unmatched_external",
    },
    ("payment_reconciliation", 5, "validate_success.expression"): set(),
    ("payment_reconciliation", 5, "result_shape.expression"): set(),
}


def _expressions(node: Any, path: list[str], out: dict[str, str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("filter", "expression") and isinstance(value, str):
                out[".".join([*path, key])] = value
            else:
                _expressions(value, [*path, str(key)], out)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            _expressions(item, [*path, str(index)], out)


def _fixture_expressions(corpus_root: Path) -> dict[tuple[str, int, str], str]:
    found: dict[tuple[str, int, str], str] = {}
    for path in sorted((corpus_root / WORKFLOWS).glob("*.yaml")):
        document = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
        for index, invocation in enumerate(document["invocations"]):
            out: dict[str, str] = {}
            _expressions(invocation.get("config", {}), [], out)
            for where, expression in out.items():
                found[(path.stem, index, where)] = expression
    return found


@pytest.mark.corpus
def test_fixture_expressions(corpus_root: Path) -> None:
    expressions = _fixture_expressions(corpus_root)
    assert set(expressions) == set(_FIXTURE_EXPECTED)
    for location, expression in expressions.items():
        assert check_syntax(expression) is None, location
        assert refs(expression) == _FIXTURE_EXPECTED[location], location


@pytest.mark.corpus
def test_payment_reconciliation_matching_reads_both_sides(corpus_root: Path) -> None:
    expression = _fixture_expressions(corpus_root)[("payment_reconciliation", 2, "filter")]
    assert {
        ".context.internal_records[].reference",
        ".prev.external_transactions[].transaction_id",
        ".prev.external_transactions[].amount",
        ".prev.external_transactions[].reference",
    } <= refs(expression)


# never raises

_TOKENS = [
    ".",
    "..",
    ".prev",
    ".context",
    ".deps",
    ".step",
    ".a",
    "[",
    "]",
    "{",
    "}",
    "(",
    ")",
    "|",
    ",",
    ":",
    ";",
    "?",
    "?//",
    "//",
    "=",
    "|=",
    "+=",
    "+",
    "-",
    "*",
    "/",
    "%",
    "==",
    "<",
    "and",
    "or",
    "not",
    "as",
    "$x",
    "$__loc__",
    "$ENV",
    "def",
    "f",
    "f(.)",
    "if",
    "then",
    "elif",
    "else",
    "end",
    "try",
    "catch",
    "reduce",
    "foreach",
    "label",
    "break",
    "import",
    "include",
    '"s"',
    '"\\(',
    '"\\(.prev.a)"',
    "1",
    "1.5e3",
    "null",
    "map",
    "select",
    "first",
    "length",
    "now",
    "env",
    "input",
    "#",
    "\n",
    "@base64",
    "[]",
    "[0]",
    '["k"]',
]


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.text(alphabet=st.sampled_from(list('.$[]{}()|,:;?"\\#@-+*/%=<>!abcdeprvx0 \n')))
        | st.text(max_size=60),
        st.lists(st.sampled_from(_TOKENS), max_size=40).map(" ".join),
        st.lists(st.sampled_from(_TOKENS), max_size=40).map("".join),
    )
)
def test_never_raises_on_any_text(text: str) -> None:
    found = referenced_paths(text)
    assert isinstance(found, list)
    assert all(isinstance(ref, PathRef) and ref.root in ROOTS for ref in found)
    error = check_syntax(text)
    assert error is None or isinstance(error, ExpressionError)
