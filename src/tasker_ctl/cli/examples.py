"""An example for every command, and the exit codes of the commands that do not state their own.

``cli.help_text.polish`` prints them after a command's options; the CLI reference
(docs/cli/reference.md) lists them too. ``tests/unit/test_cli_help.py`` parses every example
with the app, so an example naming a command or an option that does not exist fails there, as
does a command without one.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["EXAMPLES", "EXIT_CODES", "Example"]


class Example(NamedTuple):
    """A command line (starting with ``tasker-ctl``) and what it does, in a few words."""

    command: str
    does: str


_TASK = "0190c2a4-5b6e-7f80-9a1b-2c3d4e5f6071"
_ENTRY = "0190c2b0-1a2b-7c3d-8e4f-5a6b7c8d9e0f"

EXAMPLES: dict[str, tuple[Example, ...]] = {
    "": (
        Example("tasker-ctl validate templates/", "check every template under templates/"),
        Example("tasker-ctl run order.yaml --handlers handlers/", "run a template's task"),
    ),
    "validate": (
        Example("tasker-ctl validate templates/", "every template under templates/"),
        Example("tasker-ctl validate", "the templates the project configuration lists"),
        Example("tasker-ctl validate order.yaml --strict --json", "warnings fail too; JSON"),
        Example("cat order.yaml | tasker-ctl validate -", "a template read from stdin"),
    ),
    "run": (
        Example(
            "tasker-ctl run order.yaml --handlers handlers/ --context @context.json",
            "run the task to its end, showing its steps",
        ),
        Example("tasker-ctl run order.yaml --handlers handlers.py --json", "the task as JSON"),
    ),
    "worker": (
        Example("tasker-ctl worker --handlers handlers/ --concurrency 4", "four steps at once"),
        Example("tasker-ctl worker --handlers handlers/ --json", "one JSON object a line"),
    ),
    "stats": (
        Example("tasker-ctl stats --since 7d", "the last week's figures"),
        Example("tasker-ctl stats --namespace billing --json", "one namespace, as JSON"),
    ),
    "events": (
        Example(f"tasker-ctl events --task {_TASK}", "one task's transitions"),
        Example("tasker-ctl events --follow --json", "new transitions as JSON lines"),
    ),
    "generate": (Example("tasker-ctl generate scaffold order.yaml -o order_pkg", "a package"),),
    "generate models": (
        Example("tasker-ctl generate models order.yaml -o models.py", "the Pydantic models"),
        Example("tasker-ctl generate models order.yaml -o models.py --check", "up to date?"),
    ),
    "generate handlers": (
        Example("tasker-ctl generate handlers order.yaml -o handlers.py", "handler stubs"),
        Example("tasker-ctl generate handlers order.yaml --json", "the stubs as JSON"),
    ),
    "generate tests": (
        Example("tasker-ctl generate tests order.yaml -o test_handlers.py", "pytest tests"),
    ),
    "generate scaffold": (
        Example("tasker-ctl generate scaffold order.yaml -o order_pkg", "a whole package"),
    ),
    "template": (Example("tasker-ctl template visualize order.yaml", "draw a template's DAG"),),
    "template visualize": (
        Example("tasker-ctl template visualize order.yaml", "the DAG as a tree"),
        Example("tasker-ctl template visualize order.yaml -f mermaid -o dag.mmd", "Mermaid"),
        Example("cat order.yaml | tasker-ctl template visualize - --json", "stdin, as JSON"),
    ),
    "template inspect": (
        Example("tasker-ctl template inspect order.yaml", "steps, handlers, fields"),
        Example("tasker-ctl template inspect order.yaml --json", "the same as JSON"),
    ),
    "template generate": (
        Example("tasker-ctl template generate spec.yaml -o order.yaml", "a template from a spec"),
        Example("tasker-ctl template generate spec.json --json", "YAML and findings as JSON"),
    ),
    "schema": (Example("tasker-ctl schema inspect order.yaml", "the schemas' fields"),),
    "schema inspect": (
        Example("tasker-ctl schema inspect order.yaml", "every schema's fields"),
        Example("tasker-ctl schema inspect order.yaml --step charge --json", "one step, JSON"),
    ),
    "schema compare": (
        Example("tasker-ctl schema compare order.yaml load price", "what price reads of load"),
    ),
    "schema diff": (
        Example("tasker-ctl schema diff old/order.yaml order.yaml", "breaking changes?"),
    ),
    "task": (Example("tasker-ctl task list --status blocked_by_failures", "blocked tasks"),),
    "task approve": (Example(f"tasker-ctl task approve {_TASK} review --by alice", "open a gate"),),
    "task reject": (
        Example(
            f"tasker-ctl task reject {_TASK} review --reason 'amount too high'",
            "refuse a gate",
        ),
    ),
    "task submit": (
        Example("tasker-ctl task submit order.yaml --context @context.json", "for workers"),
        Example(
            "tasker-ctl task submit order.yaml --context @context.json --idempotency-key "
            "order-1234",
            "once, however often it is sent",
        ),
    ),
    "task explain": (
        Example(f"tasker-ctl task explain {_TASK}", "what ran, failed, waits; what next"),
        Example("tasker-ctl task explain latest --json", "the same as one JSON document"),
    ),
    "task diagnose": (
        Example(f"tasker-ctl task diagnose {_TASK} charge", "a step's failure and repairs"),
    ),
    "task show": (Example(f"tasker-ctl task show {_TASK} --json", "a task and its steps"),),
    "task graph": (Example("tasker-ctl task graph latest -f dot -o run.dot", "the DAG as run"),),
    "task audit": (
        Example(f"tasker-ctl task audit {_TASK} charge", "who moved the step, and why"),
        Example("tasker-ctl task audit latest charge --json", "its trail as JSON"),
    ),
    "task list": (
        Example("tasker-ctl task list -s blocked_by_failures -n billing", "blocked tasks"),
    ),
    "task cancel": (
        Example(f"tasker-ctl task cancel {_TASK} --reason 'customer withdrew'", "stop it"),
    ),
    "task retry-step": (
        Example(
            f"tasker-ctl task retry-step {_TASK} charge --reason 'card fixed'",
            "run a failed step again",
        ),
    ),
    "task resolve-step": (
        Example(
            f"tasker-ctl task resolve-step {_TASK} charge --reason 'charged by hand'",
            "settle a step by hand",
        ),
    ),
    "task complete-step": (
        Example(
            f"tasker-ctl task complete-step {_TASK} charge --result '{{\"id\": 7}}' "
            "--reason 'charged by hand'",
            "complete a step with a result",
        ),
    ),
    "config": (Example("tasker-ctl config show", "the settings in force here"),),
    "config show": (
        Example("tasker-ctl config show", "each setting and where it came from"),
        Example("tasker-ctl config show --json", "the same, as JSON"),
    ),
    "db": (Example("tasker-ctl db status", "which database, and its migrations"),),
    "db migrate": (
        Example(
            "tasker-ctl db migrate --database-url postgresql://tasker@db/tasker",
            "migrate an external database",
        ),
    ),
    "db status": (Example("tasker-ctl db status", "the target database and its migrations"),),
    "db start": (Example("tasker-ctl db start", "start the embedded server"),),
    "db stop": (
        Example("tasker-ctl db stop", "stop the embedded server, keeping its data"),
        Example("tasker-ctl db stop --all", "stop every embedded server tasker-ctl started"),
    ),
    "db reset": (Example("tasker-ctl db reset --yes", "delete the embedded server's data"),),
    "dlq": (Example("tasker-ctl dlq list --status pending", "entries waiting for someone"),),
    "dlq list": (Example("tasker-ctl dlq list --status pending --json", "pending entries"),),
    "dlq show": (Example(f"tasker-ctl dlq show {_ENTRY}", "one entry and its snapshot"),),
    "dlq resolve": (
        Example(
            f"tasker-ctl dlq resolve {_ENTRY} --status manually_resolved --notes 'reran by hand'",
            "record what was done",
        ),
    ),
    "dlq sweep": (Example("tasker-ctl dlq sweep --dry-run", "which tasks are stale"),),
    "dlq stats": (Example("tasker-ctl dlq stats --json", "entries by reason and status"),),
    "inspect": (Example("tasker-ctl inspect task latest", "the newest task"),),
    "inspect task": (
        Example("tasker-ctl inspect task latest", "the newest task's overview"),
        Example(f"tasker-ctl inspect task {_TASK[:8]} --step charge --json", "one step"),
    ),
    "inspect schema": (Example("tasker-ctl inspect schema overview", "a view's JSON Schema"),),
    "report": (Example("tasker-ctl report budget latest", "the newest task's budget"),),
    "report provenance": (
        Example("tasker-ctl report provenance latest", "where each step came from"),
    ),
    "report budget": (
        Example(f"tasker-ctl report budget {_TASK[:8]} --lineage", "a whole delegation chain"),
    ),
    "grammar": (Example("tasker-ctl grammar list", "every capability and pattern"),),
    "grammar list": (
        Example("tasker-ctl grammar list --json", "the vocabulary as JSON"),
        Example("tasker-ctl grammar list --search timeout", "find capabilities"),
    ),
    "grammar inspect": (Example("tasker-ctl grammar inspect acquire", "one capability"),),
    "grammar document": (
        Example("tasker-ctl grammar document --tier 1", "one line per entry"),
        Example("tasker-ctl grammar document --json --tier 2 -c transform", "as JSON"),
        Example("tasker-ctl grammar document --format tools", "tool-call schemas"),
    ),
    "composition": (Example("tasker-ctl composition validate order.yaml", "check them"),),
    "composition validate": (
        Example("tasker-ctl composition validate flow.yaml --strict", "warnings fail too"),
        Example("tasker-ctl composition validate order.yaml --step charge --json", "one step"),
    ),
    "composition explain": (
        Example(
            "tasker-ctl composition explain flow.yaml --sample-context @context.json",
            "run it on sample data",
        ),
    ),
    "fragment": (
        Example(
            "tasker-ctl fragment validate fill.yaml --template triage.yaml --step plan",
            "check a planner's fragment",
        ),
    ),
    "fragment validate": (
        Example(
            "tasker-ctl fragment validate fill.yaml -t triage.yaml -s plan --json",
            "every finding with its stage",
        ),
        Example(
            "cat answer.json | tasker-ctl fragment validate - -t triage.yaml -s plan "
            "--context @context.json --remaining-steps 5",
            "from stdin, with the task's context and budget",
        ),
    ),
    "fragment explain": (
        Example(
            "tasker-ctl fragment explain fill.yaml -t triage.yaml -s plan",
            "where each input comes from",
        ),
    ),
    "mcp": (Example("tasker-ctl mcp serve", "the tools for an MCP client, over stdio, read-only"),),
    "mcp serve": (
        Example("tasker-ctl mcp serve", "stdio, every read-only tool (a client starts it)"),
        Example("tasker-ctl mcp serve --offline", "only the tools that need no database"),
        Example(
            "tasker-ctl mcp serve --transport http --allow-write",
            "HTTP on 127.0.0.1:8765/mcp, writes too (each previewed, then confirmed)",
        ),
    ),
    "preload": (Example("tasker-ctl preload status", "is preloading on here, and what runs"),),
    "preload status": (
        Example("tasker-ctl preload status", "whether commands start warm here"),
        Example("tasker-ctl preload status --json", "the same, as JSON"),
    ),
    "preload stop": (Example("tasker-ctl preload stop", "stop every preloader of yours"),),
    "planner": (
        Example(
            "tasker-ctl planner eval evals/planner/suite.yaml --model replay:cassette.yaml",
            "a planner's figures on a suite, offline",
        ),
    ),
    "planner eval": (
        Example(
            "tasker-ctl planner eval evals/planner/suite.yaml --model replay:cassette.yaml",
            "the shipped suite and cassette, per tier",
        ),
        Example(
            "tasker-ctl planner eval suite.yaml --model openai:gpt-4.1-mini --tiers 1,2,3 "
            "--record run.yaml",
            "a real model at every tier, recorded",
        ),
        Example(
            "tasker-ctl planner eval suite.yaml -m replay:run.yaml --min-valid 90 --json",
            "in CI: exit 1 below 90 % valid",
        ),
    ),
}

# for the commands whose own help does not say (a command that does takes precedence)
EXIT_CODES: dict[str, str] = {
    "task submit": "Exit codes: 0 created (or an identical task found); 1 the template has "
    "errors; 2 bad usage, an unreadable template or context, or no database.",
    "task show": "Exit codes: 0 shown; 2 bad usage, an unknown task, or no database.",
    "task graph": "Exit codes: 0 drawn; 2 bad usage, an unknown task, or no database.",
    "task list": "Exit codes: 0 listed (even none); 2 bad usage or no database.",
    "config show": "Exit codes: 0 shown; 2 a project configuration or a setting that cannot "
    "be read (PROJECT_CONFIG_INVALID, SETTING_INVALID).",
    "db migrate": "Exit codes: 0 migrated (or nothing to do); 2 a database that cannot be "
    "used or migrated.",
    "db status": "Exit codes: 0 shown (also a stopped embedded server); 2 bad usage, no "
    "database found (DATABASE_NOT_FOUND), a database that cannot be reached, or one whose "
    "schema tasker-ctl cannot use.",
    "db start": "Exit codes: 0 running; 2 the embedded server cannot start.",
    "db stop": "Exit codes: 0 stopped (or not running); 2 the embedded server cannot stop.",
    "db reset": "Exit codes: 0 deleted; 2 not confirmed (--yes) or the data cannot be deleted.",
    "dlq list": "Exit codes: 0 listed (even none); 2 bad usage or no database.",
    "dlq show": "Exit codes: 0 shown; 2 an unknown entry, bad usage or no database.",
    "dlq stats": "Exit codes: 0 shown; 2 bad usage or no database.",
    "inspect schema": "Exit codes: 0 printed; 2 an unknown view.",
    "report provenance": "Exit codes: 0 shown; 2 an unknown task, bad usage or no database.",
    "report budget": "Exit codes: 0 shown; 2 an unknown task, bad usage or no database.",
    "preload status": "Exit codes: 0 shown (also when preloading is off); 2 bad usage.",
    "preload stop": "Exit codes: 0 stopped (even none); 2 bad usage.",
}
