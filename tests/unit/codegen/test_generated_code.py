"""Generated packages: golden files, determinism, names, stubs and templates without schemas.

Golden files live in tests/fixtures/golden/<name>; after an intended change to the generator,
rewrite them with ``pytest --update-golden`` and review the diff.
"""

from __future__ import annotations

import ast
import functools
import importlib
import itertools
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tasker_ctl.codegen import Generation, generate_handlers, generate_scaffold, write_files
from tasker_ctl.codegen.bundle import bundle_template
from tasker_ctl.codegen.generate import NO_SCHEMA_WARNING
from tasker_ctl.codegen.plan import plan_template
from tasker_ctl.sdk.testing import schema_violations
from tasker_ctl.template.validator import load_template

PROJECT_ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = PROJECT_ROOT / "examples" / "templates"
GOLDEN = PROJECT_ROOT / "tests" / "fixtures" / "golden"
EXAMPLE_NAMES = [
    "order_intake",
    "expense_approval",
    "csv_import",
    "incident_triage",
    "customer_profile",
]
FILES = ["__init__.py", "models.py", "handlers.py", "test_handlers.py", "conftest.py"]
CORPUS_TEMPLATE = Path("tests/fixtures/task_templates/codegen_test_template.yaml")

# Reserved and colliding names, keywords, a digit-led template name and long names.
STRESS_TEMPLATE = """
name: 3d-Printer Flow
namespace_name: stress
version: "1.0.0"
input_schema:
  type: object
  required: [class]
  properties:
    class: {type: string}
    HTTPResponseCode: {type: integer, minimum: 100, maximum: 599}
steps:
  - name: class
    description: 'Ends with a quote "'
    handler: {callable: stress.handlers.klass}
    result_schema:
      type: object
      required: [from, import]
      properties: {from: {type: string}, import: {type: string, format: date}}
  - name: inputs
    dependencies: [class]
    handler: {callable: stress.handlers.inputs}
    result_schema: {type: object, required: [x], properties: {x: {type: number, multipleOf: 0.1}}}
  - name: Fetch-Data
    handler: {callable: stress.handlers.fetch}
    result_schema: {type: object, required: [n], properties: {n: {type: integer}}}
  - name: fetch_data
    dependencies: [Fetch-Data, inputs]
    handler: {callable: stress.handlers.fetch_again}
    result_schema: {type: object, required: [s], properties: {s: {type: string}}}
  - name: decide_whether_the_customer_needs_a_manual_review
    type: decision
    dependencies: [fetch_data]
    handler: {callable: stress.handlers.a_rather_long_module_path.decide_whether_review_is_needed}
  - name: review_the_order_manually_with_a_very_long_step_name_indeed
    dependencies: [decide_whether_the_customer_needs_a_manual_review]
    handler: {callable: stress.handlers.review}
    result_schema:
      type: object
      required: [notes]
      properties:
        notes:
          type: array
          minItems: 2
          items: {type: string, pattern: "^[A-Z][a-z]+ [a-z]+ [a-z]+ [a-z]+ [a-z]+ [a-z]+ [a-z]+$"}
"""


def _examples_scaffold(name: str) -> Generation:
    return _scaffold(str(EXAMPLES / f"{name}.yaml"), str(GOLDEN / name))


@functools.cache
def _scaffold(template: str, output: str) -> Generation:
    return generate_scaffold(Path(template), Path(output))


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_scaffold_matches_golden_files(name: str, golden: Callable[[Path, str], None]) -> None:
    generation = _examples_scaffold(name)
    assert [file.path for file in generation.files] == FILES
    assert generation.warnings == []
    for file in generation.files:
        golden(GOLDEN / name / file.path, file.content)


def test_corpus_scaffold_matches_golden_files(
    corpus_root: Path, golden: Callable[[Path, str], None]
) -> None:
    generation = _scaffold(str(corpus_root / CORPUS_TEMPLATE), str(GOLDEN / "codegen_test"))
    for file in generation.files:
        golden(GOLDEN / "codegen_test" / file.path, file.content)


def test_golden_directories_hold_only_generated_files() -> None:
    for directory in sorted(path for path in GOLDEN.iterdir() if path.is_dir()):
        assert sorted(path.name for path in directory.iterdir()) == sorted(FILES), directory


_GENERATE = (
    "import json, sys\n"
    "from pathlib import Path\n"
    "from tasker_ctl.codegen import generate_scaffold\n"
    "for template in sys.argv[2:]:\n"
    "    generation = generate_scaffold(Path(template), Path(sys.argv[1]))\n"
    "    print(json.dumps([[f.path, f.content] for f in generation.files]))\n"
)


def test_output_is_identical_across_processes_hash_seeds_and_directories(tmp_path: Path) -> None:
    hard = tmp_path / "hard.yaml"
    hard.write_text(
        "name: hard\nnamespace_name: tests\nversion: 1.0.0\n"
        "input_schema:\n  type: object\n  required: [code]\n"
        "  properties: {code: {type: string, pattern: '^(?!a)[a-c]$'}}\n"
        "steps:\n  - name: only\n    handler: {callable: tests.only}\n"
        "    result_schema: {type: object, required: [n], properties: {n: {type: integer}}}\n",
        encoding="utf-8",
    )
    templates = [str(EXAMPLES / "customer_profile.yaml"), str(EXAMPLES / "csv_import.yaml")]
    arguments = [str(tmp_path / "package"), *templates, str(hard)]
    outputs = []
    # the project root has a pyproject.toml with other formatter settings: they must not leak
    for seed, directory in [("0", PROJECT_ROOT), ("4242", tmp_path)]:
        environment = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", _GENERATE, *arguments],
            cwd=directory,
            env=environment,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]
    hard_files = dict(json.loads(outputs[0].splitlines()[-1]))
    assert 'TASK_INPUT: dict[str, Any] = {"code": "b"}' in hard_files["test_handlers.py"]


def test_a_template_without_schemas_is_untyped(tmp_path: Path) -> None:
    template = tmp_path / "plain.yaml"
    template.write_text(
        "name: plain\nnamespace_name: tests\nversion: 1.0.0\nsteps:\n"
        "  - name: fetch\n    handler: {callable: tests.fetch}\n"
        "  - name: store\n    dependencies: [fetch]\n    handler: {callable: tests.store}\n",
        encoding="utf-8",
    )
    generation = generate_scaffold(template, tmp_path / "plain")
    assert generation.warnings == [NO_SCHEMA_WARNING.format(path=template)]
    assert "no input_schema and no result_schema" in generation.warnings[0]
    assert "dict[str, Any]" in generation.warnings[0]
    files = {file.path: file.content for file in generation.files}
    assert "from .models" not in files["handlers.py"]
    assert "from typing import Any" in files["handlers.py"]
    assert "    fetch_result: dict[str, Any],\n" in files["handlers.py"]
    assert ") -> dict[str, Any]:\n" in files["handlers.py"]
    assert "__all__: list[str] = []" in files["models.py"]
    assert "assert_matches_schema" not in files["test_handlers.py"]


@pytest.fixture
def import_scaffold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Write a scaffold into a fresh package and import its modules."""
    counter = itertools.count()
    imported: list[str] = []

    def load(template: Path) -> tuple[Generation, dict[str, ModuleType]]:
        package = f"generated_{os.getpid()}_{next(counter)}"
        generation = generate_scaffold(template, tmp_path / package)
        write_files(generation.files, tmp_path / package)
        monkeypatch.syspath_prepend(str(tmp_path))
        modules = {
            name: importlib.import_module(f"{package}.{name}")
            for name in ("models", "handlers", "test_handlers")
        }
        imported.append(package)
        return generation, modules

    yield load
    for name in list(sys.modules):
        if any(name == package or name.startswith(f"{package}.") for package in imported):
            del sys.modules[name]


def test_model_names_and_aliases(import_scaffold: Any) -> None:
    _, modules = import_scaffold(EXAMPLES / "customer_profile.yaml")
    models = modules["models"]
    models.NormalizeProfileResult.model_rebuild()  # forward references resolve on first use
    for name in ("CustomerProfileInput", "NormalizeProfileResult", "ScoreCustomerResult"):
        assert hasattr(models, name)
    fields = models.NormalizeProfileResult.model_fields
    assert fields["display_name"].alias == "displayName"
    assert fields["primary_address"].alias == "primaryAddress"
    assert models.CustomerProfileInput.model_fields["customer_id"].alias == "customerId"
    assert "tags" in fields
    result = models.NormalizeProfileResult.model_validate(
        {"displayName": "Ada", "primaryAddress": {"city": "Oslo", "countryCode": "NO"}, "tags": []}
    )
    assert result.display_name == "Ada"
    assert result.primary_address.country_code == "NO"


def test_handlers_are_typed_with_the_models() -> None:
    source = generate_handlers(EXAMPLES / "expense_approval.yaml", base=GOLDEN).files[0].content
    assert "    intake_result: IntakeResult,\n    inputs: ExpenseApprovalInput," in source
    assert "    auto_approve_result: AutoApproveResult | None," in source  # convergence
    assert ") -> Decision:" in source


def test_generated_tests_of_a_stress_template_pass(tmp_path: Path, import_scaffold: Any) -> None:
    template = tmp_path / "stress.yaml"
    template.write_text(STRESS_TEMPLATE, encoding="utf-8")
    generation, modules = import_scaffold(template)
    handlers = ast.parse(next(f.content for f in generation.files if f.path == "handlers.py"))
    functions = [node.name for node in handlers.body if isinstance(node, ast.FunctionDef)]
    assert functions[:4] == ["class_", "inputs_step", "fetch_data", "fetch_data_2"]
    assert len(set(functions)) == len(functions)
    tests = modules["test_handlers"]
    for name in dir(tests):
        if name.startswith("test_") and name != "test_template_runs_on_the_local_orchestrator":
            getattr(tests, name)()


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed")
def test_generated_code_is_ruff_formatted(tmp_path: Path) -> None:
    template = tmp_path / "stress.yaml"
    template.write_text(STRESS_TEMPLATE, encoding="utf-8")
    write_files(generate_scaffold(template, tmp_path / "stress").files, tmp_path / "stress")
    directories = [str(tmp_path / "stress"), *(str(GOLDEN / name) for name in EXAMPLE_NAMES)]
    result = subprocess.run(
        ["ruff", "format", "--isolated", "--check", "--diff", *directories],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _template_examples() -> Iterator[tuple[str, str, Any, Any]]:
    for name in EXAMPLE_NAMES:
        template = load_template(EXAMPLES / f"{name}.yaml")
        plan = plan_template(template, bundle_template(template))
        if template.input_schema is not None:
            yield name, "input", plan.input_example, template.input_schema
        for step in plan.steps:
            if step.result_schema is not None:
                yield name, step.name, step.stub, step.result_schema


@pytest.mark.parametrize(
    ("name", "step", "value", "schema"),
    list(_template_examples()),
    ids=[f"{name}-{step}" for name, step, _, _ in _template_examples()],
)
def test_every_stub_satisfies_its_schema(name: str, step: str, value: Any, schema: Any) -> None:
    assert schema_violations(value, schema) == [], json.dumps(value)
