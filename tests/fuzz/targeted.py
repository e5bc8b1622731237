"""Mutators that know the format: names, the step graph, jq, resources, schemas.

Each falls back to replacing a random value when the document has nothing it targets.
"""

from __future__ import annotations

import copy
import json
import random
from typing import Any

from tests.fuzz.document import Document, Slot, mappings, slots
from tests.fuzz.hostile import describe, hostile_value


def replace_value(rng: random.Random, doc: Document) -> str:
    found = slots(doc.root)
    label, value = hostile_value(rng)
    if not found:
        doc.root = doc.value(value)
        return f"root = {label}"
    container, key = rng.choice(found)
    container[key] = doc.value(value)
    return f"[{describe(key)}] = {label}"


def hostile_names(rng: random.Random, doc: Document) -> str:
    label, value = hostile_value(rng, "name")
    targets: list[Slot] = []
    if isinstance(doc.root, dict):
        targets += [(doc.root, key) for key in ("name", "namespace_name", "version")]
    for step in doc.steps():
        targets.append((step, "name"))
        dependencies = step.get("dependencies")
        if isinstance(dependencies, list):
            targets += [(dependencies, index) for index in range(len(dependencies))]
    if not targets:
        return replace_value(rng, doc)
    container, key = rng.choice(targets)
    container[key] = doc.value(value)
    return f"name {describe(key)} = {label}"


def cycle(rng: random.Random, doc: Document) -> str:
    steps = doc.steps()
    if not steps:
        return replace_value(rng, doc)
    first, second = rng.choice(steps), rng.choice(steps)
    for step, other in ((first, second), (second, first)):
        if not isinstance(step.get("dependencies"), list):
            step["dependencies"] = []
        step["dependencies"].append(other.get("name"))
    return f"cycle {describe(first.get('name'))} <-> {describe(second.get('name'))}"


def duplicate_step(rng: random.Random, doc: Document) -> str:
    steps = doc.steps()
    if not steps:
        return replace_value(rng, doc)
    step = rng.choice(steps)
    doc.root["steps"].append(copy.deepcopy(step))
    return f"duplicate step {describe(step.get('name'))}"


_MANY_STEPS_BYTES = 8 << 20


def many_steps(rng: random.Random, doc: Document) -> str:
    steps = doc.steps()
    if not steps:
        return replace_value(rng, doc)
    wanted = rng.choice((500, 2000, 5000))
    # at most ~8 MB of steps: the first step may already carry a hostile megabyte
    step_size = len(json.dumps(steps[0], default=str))
    count = max(2, min(wanted, _MANY_STEPS_BYTES // max(1, step_size)))
    chain = rng.random() < 0.5
    copies = []
    for index in range(count):
        step = copy.deepcopy(steps[0])
        step["name"] = f"s{index}"
        step["dependencies"] = [f"s{index - 1}"] if chain and index else []
        copies.append(step)
    doc.root["steps"] = copies
    return f"{count} steps" + (" in a chain" if chain else "")


_EXPRESSION_KEYS = ("expression", "filter", "condition", "data", "params", "payload")


def jq(rng: random.Random, doc: Document) -> str:
    label, value = hostile_value(rng, "jq")
    sites = [
        (c, k) for c, k in slots(doc.root) if k in _EXPRESSION_KEYS and isinstance(c[k], str | dict)
    ]
    if sites:
        container, key = rng.choice(sites)
        if isinstance(container[key], dict):
            container[key]["expression"] = doc.value(value)
        else:
            container[key] = doc.value(value)
        return f"jq at {key} = {label}"
    invocation = {"capability": "transform", "config": {"filter": doc.value(value)}}
    doc.invocations().append(invocation)
    return f"jq in a new transform = {label}"


_RESERVED_TABLES = (
    ("tasker", "tasks"),
    ("pg_catalog", "pg_authid"),
    ("information_schema", "tables"),
    ("TASKER", "workflow_steps"),
    ("pg_toast", "x"),
    ("public", "t\x00x"),
    ("public", "t" * 300),
    ('public"; drop table x; --', "t"),
)


def persist_reach(rng: random.Random, doc: Document) -> str:
    schema, table = rng.choice(_RESERVED_TABLES)
    direct = rng.random() < 0.3
    resource: Any
    if direct:
        resource = rng.choice((f"{schema}.{table}", {"ref": schema, "entity": table}))
    else:
        doc.resources()["fuzz_db"] = {"kind": "postgres", "schema": schema, "tables": {"t": table}}
        resource = {"ref": "fuzz_db", "entity": "t"}
    config = {"resource": resource, "mode": "insert", "data": {"expression": ".prev"}}
    doc.invocations().append({"capability": "persist", "checkpoint": True, "config": config})
    return f"persist to {describe(schema)}.{describe(table)}" + (" directly" if direct else "")


_BASE_URLS = (
    "http://127.0.0.1:9/x",
    "http://169.254.169.254/latest/meta-data",
    "file:///etc/passwd",
    "http://[::1]:9/",
    "http://0x7f000001:9/",
    "gopher://127.0.0.1:9/_",
    "http://user:pw@127.0.0.1:9/",
)


def acquire_reach(rng: random.Random, doc: Document) -> str:
    base_url = rng.choice(_BASE_URLS)
    variable = rng.choice(("HOME", "PATH", "TASKER_DATABASE_URL", "AWS_SECRET_ACCESS_KEY", "A B"))
    entity = rng.choice(("x", "../../etc/passwd", "%2e%2e/x", "a" * 500, "/abs", "x?y=1#z"))
    doc.resources()["fuzz_web"] = {
        "kind": "http",
        "base_url": base_url,
        "headers_from_env": {"Authorization": variable},
        "allowed_hosts": ["169.254.169.254", "*"],
    }
    config = {"resource": {"ref": "fuzz_web", "entity": entity}}
    doc.invocations().insert(0, {"capability": "acquire", "config": config})
    return f"acquire {base_url} entity {describe(entity)} header from {variable}"


_REFS = ("http://127.0.0.1:9/x", "file:///etc/passwd", "/etc/passwd", "#/definitions/x", "#")


def schema_ref(rng: random.Random, doc: Document) -> str:
    schemas = [m for m in mappings(doc.root) if "type" in m or "properties" in m]
    if not schemas:
        return replace_value(rng, doc)
    ref = rng.choice((*_REFS, "other.yaml"))
    schema = rng.choice(schemas)
    if rng.random() < 0.5:
        schema["$ref"] = ref
    else:
        schema["properties"] = {"p": {"$ref": ref}}
    return f"$ref {ref}"


_SHAPED_KEYS = (
    "steps",
    "dependencies",
    "retry",
    "composition",
    "invocations",
    "handler",
    "input_schema",
    "result_schema",
    "outcome",
    "config",
    "capability",
    "checkpoint",
)


def wrong_type(rng: random.Random, doc: Document) -> str:
    found = [(c, k) for c, k in slots(doc.root) if k in _SHAPED_KEYS]
    if not found:
        return replace_value(rng, doc)
    container, key = rng.choice(found)
    label, value = hostile_value(rng, rng.choice(("shape", "string", "number")))
    container[key] = doc.value(value)
    return f"{key} = {label}"
