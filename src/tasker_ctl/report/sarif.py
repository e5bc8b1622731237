"""Validation reports as SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.

One run, one result per finding. The driver lists a rule for each code that occurs in the
results, in catalogue order, so the log stays small and ``ruleIndex`` is stable for a given
set of findings. Relative paths are written against ``%SRCROOT%`` (the repository root for
code scanning); the output is deterministic: same report, same bytes.
"""

from __future__ import annotations

import json
import posixpath
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any
from urllib.parse import quote

from tasker_ctl import __version__
from tasker_ctl.template.codes import BY_CODE, CATALOGUE, CodeInfo
from tasker_ctl.template.diagnostics import Finding, Severity, ValidationReport

__all__ = ["INFORMATION_URI", "SARIF_SCHEMA", "SARIF_VERSION", "render_sarif", "sarif_log"]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
INFORMATION_URI = "https://pypi.org/project/tasker-ctl/"
SOURCE_ROOT = "%SRCROOT%"

LEVELS: dict[Severity, str] = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFO: "note",
}

JsonObject = dict[str, Any]


def render_sarif(
    report: ValidationReport, *, strict: bool = False, source_root: Path | None = None
) -> str:
    """The report as a SARIF log (indented JSON text ending with a newline)."""
    log = sarif_log(report, strict=strict, source_root=source_root)
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def sarif_log(
    report: ValidationReport, *, strict: bool = False, source_root: Path | None = None
) -> JsonObject:
    """The SARIF log as plain data; ``source_root`` sets where ``%SRCROOT%`` points."""
    findings = report.findings
    rules = _rules({finding.code for finding in findings})
    index = {rule["id"]: position for position, rule in enumerate(rules)}
    run: JsonObject = {
        "tool": {
            "driver": {
                "name": "tasker-ctl",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }
        },
    }
    if source_root is not None:
        run["originalUriBaseIds"] = {SOURCE_ROOT: {"uri": _directory_uri(source_root)}}
    run["columnKind"] = "unicodeCodePoints"
    run["results"] = [_result(finding, index[finding.code]) for finding in findings]
    run["properties"] = {"environment": report.environment, "strict": strict}
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def rule_name(code: str) -> str:
    """``MISSING_DEP_REF`` -> ``MissingDepRef``."""
    return "".join(part.capitalize() for part in code.split("_") if part)


def artifact_location(file: str) -> JsonObject:
    """A SARIF artifactLocation for a path as the report shows it."""
    posix = file.replace("\\", "/")
    if PurePosixPath(posix).is_absolute():
        return {"uri": PurePosixPath(posix).as_uri()}
    if PureWindowsPath(file).is_absolute():
        return {"uri": PureWindowsPath(file).as_uri()}
    normalised = posixpath.normpath(posix)
    return {"uri": quote(normalised, safe="/"), "uriBaseId": SOURCE_ROOT}


def _rules(codes: set[str]) -> list[JsonObject]:
    known = [info for info in CATALOGUE if info.code in codes]
    # a code missing from the catalogue is a bug elsewhere; still describe it rather than fail
    unknown = sorted(codes - BY_CODE.keys())
    return [_rule(info) for info in known] + [_bare_rule(code) for code in unknown]


def _rule(info: CodeInfo) -> JsonObject:
    return {
        "id": info.code,
        "name": rule_name(info.code),
        "shortDescription": {"text": info.meaning},
        "fullDescription": {"text": f"{info.meaning}\nExample:\n{info.example}"},
        "help": {"text": info.fix},
        "defaultConfiguration": {"level": LEVELS[info.severity]},
        "properties": {"tags": [info.group]},
    }


def _bare_rule(code: str) -> JsonObject:
    return {"id": code, "name": rule_name(code), "shortDescription": {"text": code}}


def _result(finding: Finding, rule_index: int) -> JsonObject:
    physical: JsonObject = {"artifactLocation": artifact_location(finding.file)}
    if finding.line is not None:
        physical["region"] = {"startLine": finding.line, "startColumn": finding.column or 1}
    text = finding.message if not finding.hint else f"{finding.message} (hint: {finding.hint})"
    return {
        "ruleId": finding.code,
        "ruleIndex": rule_index,
        "level": LEVELS[finding.severity],
        "message": {"text": text},
        "locations": [
            {
                "physicalLocation": physical,
                "logicalLocations": [{"fullyQualifiedName": finding.path}],
            }
        ],
    }


def _directory_uri(directory: Path) -> str:
    uri = directory.resolve().as_uri()
    # SARIF requires base URIs to end with a slash, or relative URIs resolve against the parent
    return uri if uri.endswith("/") else uri + "/"
