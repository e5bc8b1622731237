"""Property tests: whatever a template turns into, validation reports coded findings, never raises.

Valid templates (one of ours that uses every feature, plus a few corpus files when the shared
corpus is present) are mutated at the data level (keys deleted or renamed, values replaced,
steps duplicated or shuffled, dependencies invented) and at the text level (truncated, random
characters injected). Every report must then be well formed: known codes, catalogue severities,
positions inside the file, and a model only when there are no errors.
"""

from __future__ import annotations

import copy
import io
import itertools
import json
import math
import re
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tasker_ctl.template.codes import BY_CODE
from tasker_ctl.template.diagnostics import FileReport, Severity
from tasker_ctl.template.environment import declared_environments
from tasker_ctl.template.graph import StepGraph
from tasker_ctl.template.source import JsonPath, YamlFloat, iter_paths, parse_document
from tasker_ctl.template.validator import check_document
from tests.conftest import CORPUS_ROOT, FIXTURES

pytestmark = pytest.mark.slow

# The line breaks YAML counts; findings are positioned in these lines.
LINE_BREAK = re.compile(r"\r\n|\r|\n")

PROPERTY_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_CORPUS_SEEDS = (
    "tests/fixtures/task_templates/codegen_test_template.yaml",
    "tests/fixtures/task_templates/content_publishing_template.yaml",
    "tests/fixtures/task_templates/rust/diamond_decision_batch.yaml",
    "tests/fixtures/task_templates/python/conditional_approval_handler_py.yaml",
    "tests/fixtures/task_templates/ruby/domain_event_publishing.yaml",
    "tests/fixtures/task_templates/rust/dlq_staleness_test.yaml",
    "config/tasks/payments/credit_card_payment/1.0.0.yaml",
)


def _seed_texts() -> list[str]:
    seeds = [(FIXTURES / "templates" / "valid" / "rich.yaml").read_text(encoding="utf-8")]
    for relative in _CORPUS_SEEDS:
        path = CORPUS_ROOT / relative
        if path.is_file():
            seeds.append(path.read_text(encoding="utf-8"))
    return seeds


SEEDS = _seed_texts()


def _plain(value: Any) -> Any:
    """Strip ``YamlFloat`` so the YAML dumper sees ordinary floats."""
    if isinstance(value, YamlFloat):
        return float(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


SEED_DATA = [
    _plain(parse_document(text, path=Path("seed"), display_path="seed").data) for text in SEEDS
]


def _dump(data: Any, *, flow: bool) -> str:
    if flow:
        # JSON is YAML too, and exercises flow collections and quoted keys.
        return json.dumps(data, indent=2, allow_nan=True)
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    return buffer.getvalue()


def _check(text: str, *, environment: str | None = None) -> FileReport:
    """Validate ``text`` and assert that the report is well formed."""
    document = parse_document(text, path=Path("mutant.yaml"), display_path="mutant.yaml")
    report, template = check_document(document, environment=environment)
    lines = LINE_BREAK.split(text)
    for finding in report.findings:
        info = BY_CODE.get(finding.code)
        assert info is not None, f"uncatalogued code {finding.code}: {finding.message}"
        assert finding.severity is info.severity, finding
        assert finding.message.strip(), finding
        if finding.line is None:
            assert finding.column is None, finding
            continue
        assert 1 <= finding.line <= len(lines), (finding, len(lines))
        if finding.column is not None:
            assert 1 <= finding.column <= len(lines[finding.line - 1]) + 1, finding
    errors = report.count(Severity.ERROR)
    if template is None:
        assert errors or not document.usable, report.findings
    if document.usable and not errors:
        assert template is not None, report.findings
    return report


def _check_with_environment(text: str, choice: int) -> None:
    """Validate plainly and for one environment: a declared one or one that is not."""
    _check(text)
    document = parse_document(text, path=Path("mutant.yaml"), display_path="mutant.yaml")
    environments = [*declared_environments(document.data), "undeclared"]
    _check(text, environment=environments[choice % len(environments)])


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.integers(min_value=-3, max_value=3)
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["", "ALL", "1.0", "yes", "object", "decision", "batch_worker", "grammar:x"])
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)
key_names = st.text(alphabet=string.ascii_letters + string.digits + "_-. ", min_size=1, max_size=14)
NEAR_MISSES = [
    "depends-on",
    "dependancies",
    "step_type",
    "depends_on",
    "limit",
    "lifecycle",
    "type",
]


def _containers(data: Any) -> list[tuple[JsonPath, Any]]:
    return [(path, value) for path, value in iter_paths(data) if isinstance(value, dict | list)]


@st.composite
def mutated_templates(draw: st.DrawFn) -> Any:
    data = copy.deepcopy(draw(st.sampled_from(SEED_DATA)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        # "replace" twice: new values reach the most checks
        operation = draw(
            st.sampled_from(["delete", "rename", "replace", "steps", "dependency", "replace"])
        )
        containers = _containers(data)
        if operation == "steps":
            steps = data.get("steps") if isinstance(data, dict) else None
            if isinstance(steps, list) and steps:
                if draw(st.booleans()):
                    steps.append(copy.deepcopy(draw(st.sampled_from(steps))))
                else:
                    order = draw(st.permutations(range(len(steps))))
                    data["steps"] = [steps[index] for index in order]
            continue
        if operation == "dependency":
            steps = data.get("steps") if isinstance(data, dict) else None
            candidates = (
                [s for s in steps if isinstance(s, dict)] if isinstance(steps, list) else []
            )
            if candidates:
                step = draw(st.sampled_from(candidates))
                names = [s.get("name") for s in candidates if isinstance(s.get("name"), str)]
                invented = draw(
                    st.sampled_from(names) | st.text(max_size=8) if names else st.text()
                )
                key = draw(st.sampled_from(["dependencies", "depends_on"]))
                existing = step.get(key)
                step[key] = [*existing, invented] if isinstance(existing, list) else [invented]
            continue
        _, container = draw(st.sampled_from(containers))
        if not container:
            continue
        if isinstance(container, dict):
            key = draw(st.sampled_from(sorted(container)))
            if operation == "delete":
                del container[key]
            elif operation == "rename":
                new_key = draw(key_names | st.sampled_from(NEAR_MISSES))
                container[new_key] = container.pop(key)
            else:
                container[key] = draw(json_values)
        else:
            index = draw(st.integers(min_value=0, max_value=len(container) - 1))
            if operation == "delete":
                del container[index]
            else:
                container[index] = draw(json_values)
    return data


@PROPERTY_SETTINGS
@given(data=mutated_templates(), flow=st.booleans(), environment=st.integers(0, 7))
def test_mutated_templates_give_coded_findings(data: Any, flow: bool, environment: int) -> None:
    try:
        text = _dump(data, flow=flow)
    except (ValueError, TypeError):  # unrepresentable by the dumper; not the validator's problem
        assume(False)
        return
    _check_with_environment(text, environment)


@PROPERTY_SETTINGS
@given(seed=st.sampled_from(SEEDS), cut=st.floats(min_value=0, max_value=1))
def test_truncated_text_gives_coded_findings(seed: str, cut: float) -> None:
    _check(seed[: math.floor(len(seed) * cut)])


INJECTED = st.text(
    alphabet=st.sampled_from(list(":-?[]{}&*!|>'\"%@`#,\t\n\r \\\x00\x85\u2028\ufeffé-0a"))
    | st.characters(),
    min_size=1,
    max_size=6,
)


@PROPERTY_SETTINGS
@given(
    seed=st.sampled_from(SEEDS),
    where=st.floats(min_value=0, max_value=1),
    junk=INJECTED,
    environment=st.integers(0, 7),
)
def test_injected_characters_give_coded_findings(
    seed: str, where: float, junk: str, environment: int
) -> None:
    position = math.floor(len(seed) * where)
    _check_with_environment(seed[:position] + junk + seed[position:], environment)


@PROPERTY_SETTINGS
@given(seed=st.sampled_from(SEEDS), where=st.floats(min_value=0, max_value=1), junk=st.binary())
def test_injected_bytes_give_coded_findings(seed: str, where: float, junk: bytes) -> None:
    raw = seed.encode()
    position = math.floor(len(raw) * where)
    document = parse_document(
        raw[:position] + junk + raw[position:], path=Path("m.yaml"), display_path="m.yaml"
    )
    report, _ = check_document(document)
    assert all(BY_CODE[f.code].severity is f.severity for f in report.findings)


# -- StepGraph -------------------------------------------------------------------------------------


@st.composite
def dags(draw: st.DrawFn) -> list[tuple[str, list[str]]]:
    """Steps in a random order whose edges only point at steps earlier in a hidden order."""
    size = draw(st.integers(min_value=0, max_value=12))
    names = [f"s{index}" for index in range(size)]
    steps = []
    for index, name in enumerate(names):
        parents = draw(st.lists(st.sampled_from(names[:index]), max_size=4)) if index else []
        steps.append((name, parents))
    order = draw(st.permutations(range(size)))
    return [steps[index] for index in order]


@settings(max_examples=300, deadline=None)
@given(steps=dags())
def test_topological_order_respects_every_edge(steps: list[tuple[str, list[str]]]) -> None:
    graph = StepGraph(steps)
    order = graph.topological_order()
    assert sorted(order) == sorted(name for name, _ in steps)
    position = {name: index for index, name in enumerate(order)}
    for name, parents in steps:
        for parent in parents:
            assert position[parent] < position[name]
    assert graph.cycles == []
    for name, parents in steps:
        assert set(parents) <= graph.ancestors(name)
        assert all(name in graph.descendants(parent) for parent in parents)


def _has_cycle(steps: list[tuple[str, list[str]]]) -> bool:
    """Reference answer: repeatedly remove steps whose known parents are all removed."""
    parents = {name: {p for p in deps if p in dict(steps)} for name, deps in dict(steps).items()}
    while parents:
        free = [name for name, deps in parents.items() if not deps & parents.keys()]
        if not free:
            return True
        for name in free:
            del parents[name]
    return False


@st.composite
def graphs(draw: st.DrawFn) -> list[tuple[str, list[str]]]:
    size = draw(st.integers(min_value=1, max_value=8))
    names = [f"s{index}" for index in range(size)]
    pool = [*names, "ghost"]  # a dependency on a missing step is not an edge
    return [(name, draw(st.lists(st.sampled_from(pool), max_size=3))) for name in names]


@settings(max_examples=300, deadline=None)
@given(steps=graphs())
def test_cycles_found_exactly_when_a_cycle_exists(steps: list[tuple[str, list[str]]]) -> None:
    graph = StepGraph(steps)
    assert bool(graph.cycles) == _has_cycle(steps)
    declared = dict(steps)
    for cycle in graph.cycles:
        assert cycle[0] == cycle[-1]
        assert len(cycle) >= 2
        for child, parent in itertools.pairwise(cycle):
            assert parent in declared[child]  # each hop follows a declared dependency
    in_cycles = {name for cycle in graph.cycles for name in cycle}
    assert in_cycles.isdisjoint(graph.topological_order())
