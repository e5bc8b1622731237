"""The shipped suite's problems and the answers its cassette records.

``record_cassette.py`` writes ``suite.yaml`` from ``PROBLEMS`` and records, through the real
OpenAI client against the tests' loopback server, the scripted answers below: a sound fragment
for each problem, and for some problems and tiers realistic mistakes first (text instead of a
tool call, hallucinated handlers, wrong edges, bad references, configs missing fields, cycles,
too many steps), each followed by the next answer in the script, as a model repairing it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Fragment = dict[str, Any]

INCIDENT_CHECKS = [
    "incident.checks.query_logs",
    "incident.checks.check_deploys",
    "incident.checks.check_dependencies",
    "incident.checks.check_saturation",
]
ORDER_CHECKS = ["orders.checks.fraud", "orders.checks.stock", "orders.checks.address"]
INGEST_LOADERS = [
    "ingest.load.csv",
    "ingest.load.api",
    "ingest.load.s3",
    "ingest.load.ftp",
    "ingest.load.sheet",
    "ingest.load.db",
]

ROW = {"type": "object", "required": ["order_id"], "properties": {"order_id": {"type": "string"}}}
CUSTOMER = {
    "type": "object",
    "required": ["customer_id"],
    "properties": {"customer_id": {"type": "string"}, "vip": {"type": "boolean"}},
}
LEVEL = {
    "type": "object",
    "required": ["level"],
    "properties": {"level": {"type": "string"}, "score": {"type": "number"}},
}


def fragment(goal: str, steps: list[Fragment], convergence: str | None = None) -> Fragment:
    data: Fragment = {
        "fragment_version": "1.0",
        "planning_context": {
            "goal": goal,
            "reasoning": "independent work side by side, then one place where it meets",
            "estimated_steps": len(steps),
            "estimated_depth": min(len(steps), 3),
        },
        "steps": steps,
    }
    if convergence is not None:
        data["convergence"] = convergence
    return data


def call(name: str, target: str, deps: list[str] | None = None, **inputs: str) -> Fragment:
    step: Fragment = {"name": name, "handler": {"callable": target}}
    if deps:
        step["dependencies"] = deps
    if inputs:
        step["inputs"] = inputs
    return step


def grammar(name: str, pattern: str, config: Fragment, deps: list[str] | None = None) -> Fragment:
    step: Fragment = {"name": name, "handler": {"grammar": pattern, "config": config}}
    if deps:
        step["dependencies"] = deps
    return step


def notify(name: str, event: str, deps: list[str] | None = None, key: str = "order_id") -> Fragment:
    config = {"event_name": event, "payload": {"expression": f"{{{key}: .context.{key}}}"}}
    return grammar(name, "notify", config, deps)


def lookup(name: str = "lookup_customer", deps: list[str] | None = None) -> Fragment:
    config = {
        "resource": "crm",
        "entity": "v1/customers",
        "params": {"expression": "{id: .context.customer.id}"},
        "response_schema": CUSTOMER,
    }
    return grammar(name, "http_request", config, deps)


def fetch(name: str = "fetch_customer", deps: list[str] | None = None) -> Fragment:
    config = {
        "resource": {"ref": "crm", "entity": "v1/customers"},
        "params": {"expression": "{id: .context.customer.id}"},
        "schema": {"type": "object"},
        "filter": ".prev",
        "output": {"type": "object"},
    }
    return grammar(name, "fetch_and_validate", config, deps)


def persist(
    name: str = "record_order", deps: list[str] | None = None, table: str = "orders"
) -> Fragment:
    config = {
        "filter": "{order_id: .context.order_id}",
        "output": ROW,
        "resource": {"ref": "orders_db", "entity": table},
        "mode": "upsert",
        "primary_key": ["order_id"],
    }
    return grammar(name, "transform_and_persist", config, deps)


def scorer(name: str = "score_risk", deps: list[str] | None = None) -> Fragment:
    composition = {
        "outcome": {"description": "a risk level for the order", "output_schema": LEVEL},
        "invocations": [
            {
                "capability": "transform",
                "config": {"filter": '{level: "low", score: 1}', "output": LEVEL},
            }
        ],
    }
    step: Fragment = {"name": name, "handler": {"composition": composition}}
    if deps:
        step["dependencies"] = deps
    return step


def store_facts(name: str, deps: list[str]) -> Fragment:
    config = {
        "filter": '{order_id: "batch"}',
        "output": ROW,
        "resource": {"ref": "warehouse", "entity": "facts"},
        "mode": "insert",
    }
    return grammar(name, "transform_and_persist", config, deps)


# -- mistakes: each turns a sound answer into a realistic refused one ------------------------


def as_text(_: Fragment) -> str:
    return (
        "Here is my plan: first I will check the logs, then the deploys, and finally notify "
        "the team. Let me know if you want me to call the tool."
    )


def hallucinate(answer: Fragment) -> Fragment:
    """A handler the step does not allow: a plausible name the model made up."""
    wrong = copy.deepcopy(answer)
    for step in wrong["steps"]:
        handler = step["handler"]
        if "callable" in handler:
            head, _, last = handler["callable"].rpartition(".")
            handler["callable"] = (
                head.replace("checks", "diagnostics").replace("load", "loaders") + "." + last
            )
            if handler["callable"] == step["handler"].get("callable") and head:
                handler["callable"] = head + ".run_" + last
            return wrong
        if "grammar" in handler:
            handler["grammar"] = {"notify": "send_notification"}.get(
                handler["grammar"], "http_fetch"
            )
            return wrong
    return wrong


def wrong_edge(convergence: str) -> Callable[[Fragment], Fragment]:
    """A dependency on the frame's convergence step, which runs after the fragment."""

    def mutate(answer: Fragment) -> Fragment:
        wrong = copy.deepcopy(answer)
        wrong["steps"][-1].setdefault("dependencies", []).append(convergence)
        return wrong

    return mutate


def dangling_edge(answer: Fragment) -> Fragment:
    """A dependency on a step the fragment does not have (a name half remembered)."""
    wrong = copy.deepcopy(answer)
    wrong["steps"][-1].setdefault("dependencies", []).append("check_everything")
    return wrong


def bad_reference(field_path: str) -> Callable[[Fragment], Fragment]:
    """An input reading a field nothing declares."""

    def mutate(answer: Fragment) -> Fragment:
        wrong = copy.deepcopy(answer)
        wrong["steps"][0].setdefault("inputs", {})["extra"] = field_path
        return wrong

    return mutate


def config_missing(answer: Fragment) -> Fragment:
    """A pattern's config without a required field (tier 1 shows no schema)."""
    wrong = copy.deepcopy(answer)
    for step in wrong["steps"]:
        config = step["handler"].get("config")
        if isinstance(config, dict):
            for key in ("event_name", "resource", "output"):
                if key in config:
                    del config[key]
                    return wrong
    return wrong


def cycle(answer: Fragment) -> Fragment:
    """The first step waits for the last, which waits for it."""
    wrong = copy.deepcopy(answer)
    if len(wrong["steps"]) > 1:
        wrong["steps"][0].setdefault("dependencies", []).append(wrong["steps"][-1]["name"])
    return wrong


def too_many(limit: int) -> Callable[[Fragment], Fragment]:
    """More steps than the bounds allow: one extra check per source of doubt."""

    def mutate(answer: Fragment) -> Fragment:
        wrong = copy.deepcopy(answer)
        first = wrong["steps"][0]
        for number in range(limit + 1 - len(wrong["steps"])):
            extra = copy.deepcopy(first)
            extra["name"] = f"{first['name']}_again_{number}"
            extra.pop("dependencies", None)
            wrong["steps"].append(extra)
        return wrong

    return mutate


def frame_name(answer: Fragment) -> Fragment:
    """A step named like a step of the frame."""
    wrong = copy.deepcopy(answer)
    old = wrong["steps"][0]["name"]
    wrong["steps"][0]["name"] = "intake"
    for step in wrong["steps"]:
        step["dependencies"] = ["intake" if d == old else d for d in step.get("dependencies", [])]
    if wrong.get("convergence") == old:
        wrong["convergence"] = "intake"
    return wrong


Mistake = Callable[[Fragment], Any]


@dataclass
class Case:
    """A problem of the suite and what the model answers at each tier."""

    id: str
    template: str
    step: str
    description: str
    answer: Fragment
    context: dict[str, Any] | None = None
    context_file: str | None = None
    upstream: dict[str, Any] = field(default_factory=dict)
    callables: list[str] = field(default_factory=list)
    remaining_steps: int | None = None
    expect: dict[str, Any] = field(default_factory=dict)
    tier1: list[Mistake] = field(default_factory=list)
    tier2: list[Mistake] = field(default_factory=list)
    miss: Fragment | None = None
    """A sound answer that misses a property (given instead of ``answer`` at tier 1)."""

    def problem(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "description": self.description}
        data["template"] = self.template
        data["step"] = self.step
        if self.context is not None:
            data["context"] = self.context
        if self.context_file is not None:
            data["context_file"] = self.context_file
        if self.upstream:
            data["upstream"] = self.upstream
        if self.callables:
            data["callables"] = self.callables
        if self.remaining_steps is not None:
            data["remaining_steps"] = self.remaining_steps
        if self.expect:
            data["expect"] = self.expect
        return data

    def script(self, tier: int) -> list[str | Fragment]:
        """The answers in order: each mistake applied to the sound answer, then the sound one
        (unless the mistakes fill every attempt)."""
        mistakes = self.tier1 if tier == 1 else self.tier2
        final = self.miss if tier == 1 and self.miss is not None else self.answer
        return [mistake(self.answer) for mistake in mistakes] + [final]


def text_of(answer: str | Fragment) -> str:
    return answer if isinstance(answer, str) else json.dumps(answer)
