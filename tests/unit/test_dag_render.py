"""Mermaid, DOT, JSON and tree renderings of a DAG view, checked against golden files.

The golden files live in ``tests/fixtures/visualize/``: ``mixed.yaml`` is the input (every step
type in eight steps) and ``mixed.mmd``, ``mixed.dot``, ``mixed.json`` and ``mixed.tree.txt`` are
the expected outputs. After an intended change to a renderer, rewrite them with::

    pytest tests/unit/test_dag_render.py --update-golden

and review the diff before committing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tasker_ctl.report.dag import (
    DagView,
    build_dag_view,
    mermaid_ids,
    render_dot,
    render_json,
    render_mermaid,
)
from tasker_ctl.report.dag_tree import tree_text
from tasker_ctl.template.model import TaskTemplate
from tasker_ctl.template.validator import load_template
from tests.conftest import FIXTURES

GOLDEN = FIXTURES / "visualize"

RENDERERS: dict[str, Callable[[DagView], str]] = {
    "mermaid": render_mermaid,
    "dot": render_dot,
    "json": render_json,
    "tree": tree_text,
}


@pytest.fixture(scope="module")
def mixed() -> DagView:
    return build_dag_view(load_template(GOLDEN / "mixed.yaml"))


@pytest.mark.parametrize(
    ("renderer", "golden_name"),
    [
        ("mermaid", "mixed.mmd"),
        ("dot", "mixed.dot"),
        ("json", "mixed.json"),
        ("tree", "mixed.tree.txt"),
    ],
)
def test_renderings_match_the_golden_files(
    renderer: str, golden_name: str, mixed: DagView, golden: Callable[[Path, str], None]
) -> None:
    golden(GOLDEN / golden_name, RENDERERS[renderer](mixed))


def test_json_is_the_view_itself(mixed: DagView) -> None:
    document = json.loads(render_json(mixed))
    assert document["format"] == "tasker-ctl.dag-view"
    assert document["format_version"] == 1
    assert DagView.model_validate(document) == mixed
    assert render_json(mixed).endswith("}\n")


def weird_template() -> TaskTemplate:
    """Names no validator would stop: keywords, digits, punctuation, quotes, collisions."""
    chain = ["end", "1st", "a-b", "a_b", 'say "hi"', "<x> & #1", "class"]
    steps = [
        {"name": name, "handler": {"callable": "x"}, "dependencies": chain[:index][-1:]}
        for index, name in enumerate(chain)
    ]
    steps[1]["type"] = "decision"
    return TaskTemplate.model_validate(
        {"name": 'q"t', "namespace_name": "ns", "version": "1", "steps": steps}
    )


def test_mermaid_ids_are_safe_and_unique() -> None:
    names = ["end", "1st", "a-b", "a_b", "a_b_2", 'say "hi"', "", "END", "Graph"]
    ids = mermaid_ids(names)
    assert ids == {
        "end": "step_end",
        "1st": "step_1st",
        "a-b": "a_b",
        "a_b": "a_b_2",
        "a_b_2": "a_b_2_2",
        'say "hi"': "say__hi_",
        "": "step",
        "END": "step_END",
        "Graph": "step_Graph",
    }
    assert len(set(ids.values())) == len(names)


def test_mermaid_escapes_labels_and_uses_safe_ids() -> None:
    text = render_mermaid(build_dag_view(weird_template()))
    assert 'say__hi_["say #quot;hi#quot;"]:::dynamic' in text
    assert '["#lt;x#gt; & #35;1"]' in text
    assert 'step_end["end"]' in text
    assert "step_end --> step_1st" in text
    assert "step_1st -.-> a_b" in text
    assert "%% ns/q#quot;t@1" in text


def test_dot_quotes_ids_and_escapes_quotes() -> None:
    text = render_dot(build_dag_view(weird_template()))
    assert text.startswith('digraph "ns/q\\"t@1" {\n  rankdir=TB;\n')
    assert '"say \\"hi\\"" [label="say \\"hi\\"", shape=box, style="dashed"];' in text
    assert '"1st" [label="1st\\ndecision", shape=diamond,' in text
    assert '"1st" -> "a-b" [style=dashed];' in text
    assert text.endswith("}\n")


def test_tree_in_a_narrow_terminal_and_in_ascii(mixed: DagView) -> None:
    narrow = tree_text(mixed, width=40, ascii_only=True)
    assert all(len(line) <= 40 for line in narrow.splitlines())
    assert "route  <> decision" in narrow
    assert "-> confirm (see" in narrow  # the reference wraps at 40 columns
    assert "legend: <> decision  => batchable" in narrow
    # rich chooses its guide lines from the console encoding; the marks are ours to keep ASCII
    guides = set("─│└├")
    assert all(ord(char) < 128 or char in guides for char in narrow)


def test_renderers_are_deterministic(mixed: DagView) -> None:
    again = build_dag_view(load_template(GOLDEN / "mixed.yaml"))
    for render in RENDERERS.values():
        assert render(again) == render(mixed)


def corpus_templates(root: Path) -> list[Path]:
    patterns = ("tests/fixtures/task_templates/**/*.yaml", "config/tasks/**/*.yaml")
    return sorted(path for pattern in patterns for path in root.glob(pattern))


@pytest.mark.corpus
def test_every_corpus_template_renders_in_every_format(corpus_root: Path) -> None:
    templates = corpus_templates(corpus_root)
    assert len(templates) > 50
    for path in templates:
        view = build_dag_view(load_template(path))
        assert [node.name for node in view.nodes], path
        for name, render in RENDERERS.items():
            text = render(view)
            assert text.endswith("\n"), (path, name)
        assert DagView.model_validate_json(render_json(view)) == view, path
        mermaid = render_mermaid(view)
        ids = mermaid_ids([node.name for node in view.nodes])
        assert all(f"    {ids[node.name]}" in mermaid for node in view.nodes), path
        tree = tree_text(view, width=60)
        assert all(node.name in tree for node in view.nodes), path
