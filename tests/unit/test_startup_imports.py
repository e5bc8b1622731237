"""What a plain ``tasker-ctl run --json`` loads: every module imported is start-up time the
user pays on each run, so the heavy parts only a few templates need stay out of it.

A template without compositions or planning steps is validated and run without the grammar's
validator (and its capabilities), the planning package's models or rich; a template with a
composition still gets the grammar's checks. A template validated before (the state folder's
cache) is run without the YAML reader or the validator.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

HEAVY = ("rich", "tasker_ctl.grammar.validation", "tasker_ctl.planning.fragment")
# what reads and checks a template: a template validated before needs none of it
READER = ("ruamel.yaml", "tasker_ctl.template.validator", "tasker_ctl.template.diagnostics")

PLAIN = {
    "name": "plain",
    "namespace_name": "startup",
    "version": "1.0.0",
    "steps": [
        {
            "name": "only",
            "handler": {"callable": "startup.only"},
            "result_schema": {"type": "object"},
        }
    ],
}


def _loaded_after(template: Path) -> tuple[list[str], list[str]]:
    """The heavy modules loaded by validating ``template`` and importing what `run --json`
    imports, and the codes of the template's findings."""
    script = textwrap.dedent(
        f"""
        import json, sys
        from pathlib import Path
        from tasker_ctl.template.validator import validate_file
        import tasker_ctl.engine.running, tasker_ctl.report.run_json
        import tasker_ctl.report.run_outcome, tasker_ctl.cli.run
        report = validate_file(Path({str(template)!r}))
        heavy = sorted(name for name in sys.modules if name.startswith({HEAVY!r}))
        print(json.dumps([heavy, sorted(f.code for f in report.findings)]))
        """
    )
    finished = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert finished.returncode == 0, finished.stderr
    heavy, codes = json.loads(finished.stdout.splitlines()[-1])
    return heavy, codes


def test_a_plain_run_loads_no_grammar_validator_planning_models_or_rich(tmp_path: Path) -> None:
    template = tmp_path / "plain.yaml"
    template.write_text(json.dumps(PLAIN), encoding="utf-8")
    heavy, codes = _loaded_after(template)
    assert codes == []
    assert heavy == []


def test_a_composition_still_gets_the_grammars_checks(tmp_path: Path) -> None:
    composed = {
        **PLAIN,
        "steps": [
            {
                "name": "only",
                "composition": {
                    "outcome": {"description": "nothing", "output_schema": {"type": "object"}},
                    "invocations": [],
                },
                "result_schema": {},
            }
        ],
    }
    template = tmp_path / "composed.yaml"
    template.write_text(json.dumps(composed), encoding="utf-8")
    heavy, codes = _loaded_after(template)
    assert "tasker_ctl.grammar.validation" in heavy
    assert "EMPTY_COMPOSITION" in codes


def test_a_template_validated_before_is_run_without_the_reader_or_the_validator(
    tmp_path: Path,
) -> None:
    template = tmp_path / "plain.yaml"
    template.write_text(json.dumps(PLAIN), encoding="utf-8")
    script = textwrap.dedent(
        f"""
        import json, sys
        from pathlib import Path
        from tasker_ctl.template.validated_cache import load_valid
        import tasker_ctl.engine.running
        load_valid(Path({str(template)!r}), cache_dir=Path({str(tmp_path / "cache")!r}))
        print(json.dumps(sorted(name for name in sys.modules if name in {READER!r})))
        """
    )

    def loaded() -> list[str]:
        finished = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=False
        )
        assert finished.returncode == 0, finished.stderr
        names: list[str] = json.loads(finished.stdout.splitlines()[-1])
        return names

    assert loaded() == sorted(READER)  # the first run reads and checks the template
    assert loaded() == []  # the second reads what the first kept
