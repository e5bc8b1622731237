"""Tasker Core's own templates: all of them load, so none may give an error here.

Findings over the corpus are compared with what Tasker Core's SDK validator reports (only
``ORPHAN_STEP`` warnings, in the error-testing templates) plus this validator's own
warnings for keys Tasker Core silently drops.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tasker_ctl.errors import NoTemplatesFoundError
from tasker_ctl.template import validate_file, validate_paths
from tasker_ctl.template.codes import BY_CODE
from tasker_ctl.template.diagnostics import Severity
from tasker_ctl.template.environment import declared_environments
from tasker_ctl.template.source import read_document
from tasker_ctl.template.validator import check_document

pytestmark = pytest.mark.corpus

TEMPLATE_DIRECTORIES = ("tests/fixtures/task_templates", "config/tasks")
MINIMUM_CORPUS = 100


def corpus_files(root: Path) -> list[Path]:
    return sorted(
        path
        for directory in TEMPLATE_DIRECTORIES
        for path in (root / directory).rglob("*")
        if path.suffix in (".yaml", ".yml") and path.is_file()
    )


def test_corpus_is_not_empty(corpus_root: Path) -> None:
    files = corpus_files(corpus_root)
    assert len(files) >= MINIMUM_CORPUS, f"only {len(files)} templates under {corpus_root}"


def test_corpus_has_no_errors(corpus_root: Path) -> None:
    failures = []
    for path in corpus_files(corpus_root):
        report = validate_file(path)
        for finding in report.findings:
            assert finding.severity is BY_CODE[finding.code].severity
            if finding.severity is Severity.ERROR:
                failures.append(
                    f"{path.relative_to(corpus_root)}:{finding.line} {finding.code} "
                    f"{finding.message}"
                )
    assert not failures, "\n".join(failures)


def test_corpus_warnings_are_orphans_and_legacy_keys_only(corpus_root: Path) -> None:
    unexpected = []
    for path in corpus_files(corpus_root):
        for finding in validate_file(path).findings:
            if finding.severity is Severity.WARNING and finding.code not in (
                "ORPHAN_STEP",
                "LEGACY_KEY",
            ):
                unexpected.append(f"{path.name}:{finding.line} {finding.code} {finding.message}")
    assert not unexpected, "\n".join(unexpected)


def test_error_testing_templates_give_only_orphan_warnings(corpus_root: Path) -> None:
    files = [
        path for path in corpus_files(corpus_root) if path.name.startswith("error_testing_handler")
    ]
    assert files, "no error_testing_handler templates in the corpus"
    for path in files:
        report = validate_file(path)
        significant = [f for f in report.findings if f.severity is not Severity.INFO]
        assert significant, path.name
        assert {f.code for f in significant} == {"ORPHAN_STEP"}, path.name
        assert all(f.severity is Severity.WARNING for f in significant)
        assert len(significant) == 3, path.name  # three independent steps each
        assert all(f.step for f in significant)


def test_corpus_validates_for_every_declared_environment(corpus_root: Path) -> None:

    failures = []
    for path in corpus_files(corpus_root):
        for environment in declared_environments(read_document(path).data):
            report = validate_file(path, environment=environment)
            failures += [
                f"{path.name} [{environment}] {f.code} {f.message}"
                for f in report.findings
                if f.severity is Severity.ERROR
            ]
    assert not failures, "\n".join(failures)


def test_model_and_validator_resolve_environments_alike(corpus_root: Path) -> None:

    compared = 0
    for path in corpus_files(corpus_root):
        document = read_document(path)
        _, template = check_document(document)
        assert template is not None, path.name
        for environment in declared_environments(document.data):
            _, resolved = check_document(document, environment=environment)
            assert template.resolve_for_environment(environment) == resolved, (
                f"{path.name} [{environment}]"
            )
            compared += 1
    assert compared, "no template in the corpus declares an environment"


def test_legacy_keys_in_the_corpus_are_reported(corpus_root: Path) -> None:
    payment = corpus_root / "config/tasks/payments/credit_card_payment/1.0.0.yaml"
    if not payment.is_file():
        pytest.skip(f"{payment} not in this corpus")
    report = validate_file(payment)
    found = {(f.code, f.path.rsplit(".", 1)[-1]) for f in report.findings}
    assert ("LEGACY_KEY", "limit") in found
    assert ("IGNORED_KEY", "loaded_from") in found


def test_composition_specs_are_not_templates(corpus_root: Path) -> None:
    workflows = corpus_root / "crates/tasker-grammar/tests/fixtures/workflows"
    specs = sorted(workflows.glob("*.yaml"))
    assert len(specs) == 3
    with pytest.raises(NoTemplatesFoundError) as raised:
        validate_paths([str(workflows)])
    assert "3 YAML files without 'steps' skipped" in raised.value.message
    assert raised.value.hint
