"""Seeded defects: for each of the nine stages at least twenty different defects, each found
with its stage and code; and valid fragments of many shapes with no error at all."""

from __future__ import annotations

from collections import Counter

import pytest

from tasker_ctl.template.diagnostics import Severity
from tests.unit.planning.fragments_support import check
from tests.unit.planning.seeded_cases import DEFECTS, VALID, Case


def test_every_stage_has_twenty_seeded_defects_and_there_are_thirty_valid_shapes() -> None:
    per_stage = Counter(case.stage for case in DEFECTS)
    assert sorted(per_stage) == list(range(1, 10))
    assert min(per_stage.values()) >= 20, per_stage
    assert len({case.name for case in DEFECTS}) == len(DEFECTS)
    assert len({case.name for case in VALID}) == len(VALID) >= 30


@pytest.mark.parametrize("case", DEFECTS, ids=lambda case: case.name)
def test_a_seeded_defect_is_found_with_its_stage_and_code(case: Case) -> None:
    result = check(case.data, case.frame, **case.facts)
    found = [(finding.stage, finding.code) for finding in result.findings]
    assert (case.stage, case.code) in found, [
        (finding.stage, finding.code, finding.path, finding.message) for finding in result.findings
    ]
    assert not result.accepted
    assert all(finding.message and finding.path.startswith("$") for finding in result.findings)


@pytest.mark.parametrize("case", VALID, ids=lambda case: case.name)
def test_a_valid_fragment_has_no_error(case: Case) -> None:
    result = check(case.data, case.frame, **case.facts)
    errors = [
        (finding.stage, finding.code, finding.path, finding.message)
        for finding in result.findings
        if finding.severity is Severity.ERROR
    ]
    assert errors == []
    assert result.accepted
    assert result.fragment is not None
    assert result.step_count == len(result.fragment.steps)
