"""The catalogue of finding codes: one entry per code, with its fixed severity and documentation.

Codes are stable: renaming one is a breaking change. ``docs/diagnostics.md`` is generated from
this table (``python -m tasker_ctl.template.codes > docs/diagnostics.md``) and a test keeps the two
in step.
"""

from __future__ import annotations

from dataclasses import dataclass

from tasker_ctl.template.diagnostics import Severity

E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO  # noqa: E741


@dataclass(frozen=True)
class CodeInfo:
    code: str
    severity: Severity
    group: str
    meaning: str
    example: str
    fix: str


_FILE = "File and YAML"
_SHAPE = "Template shape"
_CORE = "Tasker Core SDK validator"
_LOAD = "Tasker Core load-time checks"
_VALUES = "Values"
_TOPOLOGY = "Topology"
_EVENTS = "Events"
_COMPOSITION = "Composition"
_PLANNING = "Planning (tasker-ctl extension)"
_RESOURCES = "Resources (tasker-ctl extension)"
_BUDGETS = "Budgets and chains (tasker-ctl extension)"

CATALOGUE: tuple[CodeInfo, ...] = (
    # -- file and YAML ---------------------------------------------------------------------------
    CodeInfo(
        "YAML_SYNTAX",
        E,
        _FILE,
        "The file is not valid YAML.",
        "steps: [a, b",
        "Fix the indentation or quoting at the reported position.",
    ),
    CodeInfo(
        "DUPLICATE_KEY",
        E,
        _FILE,
        "A mapping has the same key twice; Tasker Core rejects the file.",
        "name: a\nname: b",
        "Keep one of the two entries.",
    ),
    CodeInfo(
        "MULTIPLE_DOCUMENTS",
        E,
        _FILE,
        "The file holds more than one YAML document.",
        "---\nname: a\n---\nname: b",
        "Keep one template per file.",
    ),
    CodeInfo(
        "EMPTY_FILE",
        E,
        _FILE,
        "The file is empty or holds only comments.",
        "# nothing here",
        "Write the template, or remove the file.",
    ),
    CodeInfo(
        "BINARY_FILE",
        E,
        _FILE,
        "The file is binary, not text.",
        "(a .yaml file with NUL bytes)",
        "Point tasker-ctl at the template's YAML file.",
    ),
    CodeInfo(
        "FILE_UNREADABLE",
        E,
        _FILE,
        "The file exists but cannot be read (permissions, I/O error); the run exits with 2.",
        "(chmod 000 t.yaml)",
        "Fix the file's permissions or path.",
    ),
    CodeInfo(
        "ENCODING_ERROR",
        E,
        _FILE,
        "The file is not valid UTF-8.",
        "(Latin-1 bytes)",
        "Save the file as UTF-8.",
    ),
    CodeInfo(
        "NOT_A_MAPPING",
        E,
        _FILE,
        "The document is a list or scalar, not a mapping.",
        "- name: a",
        "Start the document with `name:`, `namespace_name:`, `version:`, `steps:`.",
    ),
    CodeInfo(
        "NON_SCALAR_KEY",
        E,
        _FILE,
        "A mapping key is a list or mapping.",
        "? [a, b]\n: 1",
        "Use plain text keys.",
    ),
    CodeInfo(
        "INPUT_TOO_LARGE",
        E,
        _FILE,
        "The file is larger than 4 MiB, or its document has more than 100,000 nodes (mappings, "
        "lists and scalars); the reader stops there (see Limits in docs/template-format.md).",
        "(a 10 MB flow list [1, 1, 1, ...])",
        "Split the template; no workflow needs this much.",
    ),
    CodeInfo(
        "INPUT_TOO_DEEP",
        E,
        _FILE,
        "Mappings and lists nest more than 64 levels deep, counting what aliases bring in.",
        "x: [[[[[[ ... ]]]]]]   # 65 levels",
        "Flatten the structure.",
    ),
    CodeInfo(
        "ALIAS_EXPANSION_LIMIT",
        E,
        _FILE,
        "With every alias replaced by what it names, the document would have more than "
        '100,000 nodes ("billion laughs").',
        "a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n...",
        "Write the values out, or use fewer aliases of large anchored nodes.",
    ),
    CodeInfo(
        "NUMBER_TOO_LARGE",
        E,
        _FILE,
        "An integer or float literal has more than 100 digits, or a float is too large to be "
        "finite (`1e999`).",
        "x: 99999999999 ... 9   # 4,301 digits",
        "Use a smaller number, or quote it if it is an identifier.",
    ),
    # -- template shape --------------------------------------------------------------------------
    CodeInfo(
        "UNKNOWN_KEY",
        E,
        _SHAPE,
        "A key Tasker Core does not know; it would be silently dropped. Extension keys "
        "(`x-*`) are not: at the top level and in a step they hold anchors and are ignored.",
        "steps:\n  - name: a\n    depends-on: [b]",
        "Use the suggested key (`depends_on`), or remove it; hold anchors under an `x-` key.",
    ),
    CodeInfo(
        "LEGACY_KEY",
        W,
        _SHAPE,
        "A key from an older template format; Tasker Core ignores it, so its value has no effect.",
        "retry:\n  limit: 5",
        "Use the key named in the hint (`max_attempts: 5`).",
    ),
    CodeInfo(
        "IGNORED_KEY",
        I,
        _SHAPE,
        "A key Tasker Core writes or tolerates but never reads, such as `loaded_from`.",
        "loaded_from: config/tasks/x.yaml",
        "Nothing to do; remove it to keep the file tidy.",
    ),
    CodeInfo(
        "MISSING_REQUIRED_KEY",
        E,
        _SHAPE,
        "A required key is absent.",
        "steps:\n  - name: a   # no handler",
        "Add the key (here `handler: {callable: ...}`).",
    ),
    CodeInfo(
        "WRONG_TYPE",
        E,
        _SHAPE,
        "A value has the wrong type (e.g. a quoted number where Tasker Core wants an integer).",
        'retry:\n  max_attempts: "5"',
        "Write the value with the expected type: `max_attempts: 5`.",
    ),
    CodeInfo(
        "UNKNOWN_ENUM_VALUE",
        E,
        _SHAPE,
        "A value is not one of the allowed values.",
        "type: deferred",
        "Use one of the listed values (`deferred_convergence`).",
    ),
    CodeInfo(
        "VALUE_OUT_OF_RANGE",
        E,
        _SHAPE,
        "A number is outside what the field accepts (negative counts, zero timeouts).",
        "timeout_seconds: -5",
        "Use a value in the stated range.",
    ),
    CodeInfo(
        "INVALID_VALUE",
        E,
        _SHAPE,
        "A value fails a check not covered by a more specific code, such as an infinite number.",
        "budget: {max_cost_usd: .inf}",
        "Follow the message.",
    ),
    CodeInfo(
        "CONFLICTING_ALIASES",
        E,
        _SHAPE,
        "A step uses both spellings of one key (`dependencies` and `depends_on`, `type` and "
        "`step_type`); Tasker Core rejects it as a duplicate field.",
        "dependencies: [a]\ndepends_on: [b]",
        "Keep one spelling and merge the values.",
    ),
    CodeInfo(
        "EMPTY_REQUIRED_VALUE",
        E,
        _SHAPE,
        "`name`, `namespace_name` or `version` is empty; the registry rejects the template.",
        'name: ""',
        "Give it a value.",
    ),
    # -- Tasker Core SDK validator ---------------------------------------------------------------
    CodeInfo(
        "DUPLICATE_STEP_NAME",
        E,
        _CORE,
        "Two steps share a name.",
        "steps:\n  - name: a ...\n  - name: a ...",
        "Rename one of the steps.",
    ),
    CodeInfo(
        "SELF_DEPENDENCY",
        E,
        _CORE,
        "A step lists itself as a dependency.",
        "- name: a\n  dependencies: [a]",
        "Remove the step from its own dependencies.",
    ),
    CodeInfo(
        "MISSING_DEP_REF",
        E,
        _CORE,
        "A dependency names a step that does not exist.",
        "dependencies: [valdate]",
        "Use an existing step name (the hint suggests the closest).",
    ),
    CodeInfo(
        "EMPTY_CALLABLE",
        E,
        _CORE,
        "`handler.callable` is empty.",
        'handler: {callable: ""}',
        "Name the handler, e.g. `orders.handlers.Validate`.",
    ),
    CodeInfo(
        "CYCLE_DETECTED",
        E,
        _CORE,
        "Dependencies form a cycle; the path is in the message.",
        "a depends on b, b depends on a",
        "Break the cycle by removing one dependency.",
    ),
    CodeInfo(
        "NAMESPACE_TOO_LONG",
        W,
        _CORE,
        "`namespace_name` is longer than 29 bytes; PGMQ queue names derived from it would not fit.",
        "namespace_name: this_namespace_is_way_too_long_for_pgmq",
        "Shorten the namespace.",
    ),
    CodeInfo(
        "SCHEMA_NOT_OBJECT",
        W,
        _CORE,
        "A `result_schema` describes something other than an object.",
        "result_schema: {type: array}",
        "Wrap the value in an object schema.",
    ),
    CodeInfo(
        "ORPHAN_STEP",
        W,
        _CORE,
        "In a template of several steps, a step has no dependencies and nothing depends on it.",
        "three steps, one unconnected",
        "Connect the step or move it to its own template.",
    ),
    CodeInfo(
        "NO_RESULT_SCHEMA",
        I,
        _CORE,
        "A step declares no `result_schema`, so its result is untyped.",
        "- name: a\n  handler: {callable: x}",
        "Add a `result_schema` to get typed code.",
    ),
    # -- Tasker Core load-time checks -------------------------------------------------------------
    CodeInfo(
        "DECISION_WITHOUT_DEPENDENCY",
        E,
        _LOAD,
        "A `decision` step has no dependency; Tasker Core refuses to load the template.",
        "- name: route\n  type: decision",
        "Make the decision depend on the step it routes after.",
    ),
    CodeInfo(
        "NAMESPACE_INVALID_CHARS",
        E,
        _LOAD,
        "`namespace_name` has characters outside `[A-Za-z0-9_]` or starts with a digit.",
        "namespace_name: order-intake",
        "Use letters, digits and underscores: `order_intake`.",
    ),
    CodeInfo(
        "NO_STEPS",
        E,
        _LOAD,
        "The template has no steps; workers refuse to load it.",
        "steps: []",
        "Add at least one step.",
    ),
    # -- values ----------------------------------------------------------------------------------
    CodeInfo(
        "INVALID_VERSION",
        E,
        _VALUES,
        "`version` is not a semantic version `MAJOR.MINOR.PATCH`.",
        "version: 1.0",
        "Write `version: 1.0.0`.",
    ),
    CodeInfo(
        "INVALID_TIMESTAMP",
        E,
        _VALUES,
        "`metadata.created_at`/`updated_at` is not an RFC 3339 timestamp; Tasker Core fails "
        "to load it.",
        "created_at: 2026-01-07",
        'Write `created_at: "2026-01-07T00:00:00Z"`.',
    ),
    CodeInfo(
        "MAX_ATTEMPTS_ZERO",
        I,
        _VALUES,
        "`retry.max_attempts` is 0: the first attempt always runs (in Tasker Core too) and a "
        "failure is never retried, as with 1.",
        "retry: {max_attempts: 0}",
        "Write `max_attempts: 1`, which means the same.",
    ),
    CodeInfo(
        "BACKOFF_INVERTED",
        E,
        _VALUES,
        "`backoff_base_ms` is larger than `max_backoff_ms`.",
        "retry: {backoff_base_ms: 5000, max_backoff_ms: 1000}",
        "Swap or correct the two values.",
    ),
    CodeInfo(
        "OUTSIDE_RECOMMENDED_RANGE",
        I,
        _VALUES,
        "A value lies outside the range Tasker Core documents (e.g. max_attempts 1-100).",
        "retry: {max_attempts: 500}",
        "Stay within the documented range unless you mean it.",
    ),
    CodeInfo(
        "INVALID_JSON_SCHEMA",
        E,
        _VALUES,
        "`input_schema`, a `result_schema`, an event schema or a composition output schema is not "
        "valid JSON Schema.",
        "result_schema: {type: obj}",
        "Fix the schema (the message quotes the metaschema error).",
    ),
    CodeInfo(
        "SCHEMA_REQUIRED_UNDECLARED",
        W,
        _VALUES,
        "A schema's `required` lists a property its `properties` do not declare.",
        "{type: object, required: [id], properties: {name: {type: string}}}",
        "Declare the property or drop it from `required`.",
    ),
    CodeInfo(
        "RESULT_SCHEMA_EXCLUDES_OUTCOME",
        E,
        _VALUES,
        "A decision (batchable) step's `result_schema` rejects every result holding a "
        "`decision_point_outcome` (`batch_processing_outcome`), so every successful run fails "
        "with `RESULT_SCHEMA_VIOLATION`.",
        "type: decision\nresult_schema: {type: object, additionalProperties: false, "
        "properties: {route: {type: string}}}",
        "Declare the outcome key under `properties`, and let its `type` be one of the outcome's "
        "types.",
    ),
    CodeInfo(
        "EXTERNAL_SCHEMA_REF",
        E,
        _VALUES,
        "A `$ref` in a schema leads outside its document (a URL, a file, another schema's "
        "URI). Schemas are never fetched, so it cannot resolve; only references inside the "
        "schema and to schemas registered with `register_schema` do.",
        "properties: {total: {$ref: 'https://schemas.example/money.json'}}",
        "Copy the schema under `$defs` and refer to it as `#/$defs/NAME`.",
    ),
    CodeInfo(
        "UNRESOLVED_SCHEMA_REF",
        E,
        _VALUES,
        "A `$ref` points inside its schema at something that is not there.",
        "properties: {total: {$ref: '#/$defs/money'}}   # no $defs.money",
        "Point it at a definition that exists, or add the definition under `$defs`.",
    ),
    CodeInfo(
        "NAME_TOO_LONG",
        E,
        _VALUES,
        "A name is longer than the database column that stores it: `name` 128 characters, "
        "`namespace_name` 64, `version` 64, a step's `name` 255, an environment's name 64.",
        "steps:\n  - name: aaaa ... a   # 300 characters",
        "Shorten the name.",
    ),
    CodeInfo(
        "NAME_INVALID_CHARACTER",
        E,
        _VALUES,
        "A name (`name`, `namespace_name`, `version`, a step's or an environment's name) holds "
        "a control character (NUL, tab, line break, escape...), a line or paragraph separator "
        "or a bidirectional override.",
        'steps:\n  - name: "charge\\0"',
        "Use printable characters only.",
    ),
    CodeInfo(
        "NUL_IN_TEXT",
        E,
        _VALUES,
        "A text value or key holds a NUL character (`\\0`), which PostgreSQL cannot store, so "
        "the template could not be registered.",
        'description: "a\\0b"',
        "Remove the NUL character.",
    ),
    CodeInfo(
        "NUMBER_NOT_FINITE",
        E,
        _VALUES,
        "A number is `.inf`, `-.inf` or `.nan`: JSON, in which templates are stored and handlers "
        "read their configuration, has no infinity or NaN.",
        "initialization: {limit: .inf}",
        "Use a finite number, or leave the key out.",
    ),
    # -- topology --------------------------------------------------------------------------------
    CodeInfo(
        "BATCH_WORKER_TEMPLATE_UNKNOWN",
        E,
        _TOPOLOGY,
        "`batch_config.worker_template` names no step.",
        "worker_template: import_btch",
        "Name the batch_worker step.",
    ),
    CodeInfo(
        "BATCH_WORKER_TEMPLATE_NOT_WORKER",
        E,
        _TOPOLOGY,
        "`batch_config.worker_template` names a step whose type is not `batch_worker`.",
        "worker_template: analyze   # a batchable step",
        "Point it at the batch_worker step.",
    ),
    CodeInfo(
        "BATCH_CONFIG_MISSING",
        E,
        _TOPOLOGY,
        "A `batch_worker` step has no `batch_config`; the orchestrator reads it from the worker.",
        "- name: import_batch\n  type: batch_worker",
        "Add `batch_config` to the worker step.",
    ),
    CodeInfo(
        "BATCH_CONFIG_IGNORED",
        W,
        _TOPOLOGY,
        "`batch_config` sits on a step that is not a `batch_worker`; the orchestrator never "
        "reads it.",
        "- name: analyze\n  type: batchable\n  batch_config: ...",
        "Move it to the batch_worker step.",
    ),
    CodeInfo(
        "BATCHABLE_WITHOUT_WORKER",
        E,
        _TOPOLOGY,
        "A `batchable` step has no `batch_worker` step depending on it.",
        "- name: analyze\n  type: batchable",
        "Add a batch_worker step that depends on it.",
    ),
    CodeInfo(
        "BATCH_WORKER_WITHOUT_BATCHABLE",
        E,
        _TOPOLOGY,
        "A `batch_worker` step has no `batchable` step among its ancestors, so nothing spawns it.",
        "- name: import_batch\n  type: batch_worker\n  dependencies: [load]",
        "Make it depend on the batchable analyzer step.",
    ),
    CodeInfo(
        "CONVERGENCE_WITHOUT_DYNAMIC_PARENT",
        E,
        _TOPOLOGY,
        "A `deferred_convergence` step is never created: not at task start, and no decision, "
        "batch or planning pass creates it (none of its dependencies is a step such a pass "
        "creates).",
        "- name: join\n  type: deferred_convergence\n  dependencies: [a, b]",
        "Use `type: standard`, or place it after a decision/batch step.",
    ),
    CodeInfo(
        "DECISION_BRANCH_STEP",
        I,
        _TOPOLOGY,
        "A step is reachable only through a decision: it exists only if the decision creates it.",
        "- name: manager_review\n  dependencies: [route]   # route is a decision",
        "Nothing to do if intended; the decision's handler must name it.",
    ),
    CodeInfo(
        "CONVERGENCE_AFTER_DECISION",
        I,
        _TOPOLOGY,
        "A `deferred_convergence` step comes after a decision: it is created only when the "
        "decision creates one of its dependencies, so a decision that chooses no branches "
        "(`no_branches`) leaves it out and the task completes without it, as in Tasker Core.",
        "- name: finalize\n  type: deferred_convergence\n  dependencies: [auto_approve, review]",
        "Nothing to do if intended; to always run it, route to a branch that does nothing.",
    ),
    CodeInfo(
        "ENV_UNKNOWN_STEP",
        W,
        _TOPOLOGY,
        "An environment override names a step that does not exist (nor `ALL`); it is ignored.",
        "environments:\n  test:\n    steps:\n      - name: valdate",
        "Use an existing step name.",
    ),
    CodeInfo(
        "ENVIRONMENT_NOT_DECLARED",
        W,
        _TOPOLOGY,
        "`--environment` names an environment this template does not declare.",
        "tasker-ctl validate --environment prod t.yaml",
        "Check the spelling; the hint lists the declared environments.",
    ),
    # -- events ----------------------------------------------------------------------------------
    CodeInfo(
        "EVENT_NAME_INVALID",
        E,
        _EVENTS,
        "An event name is not `namespace.action` in lowercase letters, digits, `_` and dots.",
        "name: OrderConfirmed",
        "Use a dotted lowercase name: `order.confirmed`.",
    ),
    CodeInfo(
        "EVENT_PUBLISHER_INVALID",
        E,
        _EVENTS,
        "An event `publisher` is not a dotted or `::`-separated identifier.",
        "publisher: my-publisher",
        "Use an identifier such as `Payments::Publisher`.",
    ),
    CodeInfo(
        "DUPLICATE_EVENT_NAME",
        W,
        _EVENTS,
        "A step declares the same event twice; each entry is published when its condition "
        "holds, so consumers get one name from two declarations.",
        "two entries named order.confirmed",
        "Remove or rename one.",
    ),
    # -- composition -----------------------------------------------------------------------------
    CodeInfo(
        "COMPOSITION_PARSE_ERROR",
        E,
        _COMPOSITION,
        "A composition is not a mapping of `outcome` and `invocations` (or a `pattern` "
        "reference), or an invocation is not `{capability, config, checkpoint}`.",
        "invocations:\n  - capability: transform\n    filter: .prev",
        "Follow the message; capability settings go under `config`.",
    ),
    CodeInfo(
        "EMPTY_COMPOSITION",
        E,
        _COMPOSITION,
        "A composition has no invocations.",
        "composition: {outcome: ..., invocations: []}",
        "Add at least one invocation.",
    ),
    CodeInfo(
        "TOO_MANY_INVOCATIONS",
        E,
        _COMPOSITION,
        "A composition has more than 100 invocations.",
        "(101 invocations)",
        "Split the step.",
    ),
    CodeInfo(
        "FIELD_TOO_LONG",
        E,
        _COMPOSITION,
        "A composition's `name` is over 256 characters, `outcome.description` over 4096, or a "
        "`capability` name over 128.",
        "name: (300 characters)",
        "Shorten the value.",
    ),
    CodeInfo(
        "MISSING_CAPABILITY",
        E,
        _COMPOSITION,
        "An invocation names a capability outside the grammar's vocabulary.",
        "capability: transfrom",
        "Use a capability of the vocabulary (the hint names the closest).",
    ),
    CodeInfo(
        "CONFIG_SCHEMA_VIOLATION",
        E,
        _COMPOSITION,
        "An invocation's `config` does not match its capability's config schema: a missing or "
        "unknown key, or a value of the wrong type.",
        "- capability: transform\n  config: {filtr: .prev, output: {type: object}}",
        "Fix the key or value at the reported path (the hint names the closest valid key).",
    ),
    CodeInfo(
        "MISSING_OUTPUT_SCHEMA",
        E,
        _COMPOSITION,
        "A `transform` declares no `output` schema, so nothing downstream can be checked.",
        "- capability: transform\n  config: {filter: .prev}",
        "Describe the filter's result in `config.output`.",
    ),
    CodeInfo(
        "INVALID_EXPRESSION",
        E,
        _COMPOSITION,
        "A jq expression does not parse, or uses a builtin the sandbox forbids (input, "
        "environment, time, debugging).",
        "filter: '.prev | {total: .amount'",
        "Fix the expression at the reported line and column.",
    ),
    CodeInfo(
        "CHECKPOINT_REQUIRED",
        E,
        _COMPOSITION,
        "A mutating capability (persist, emit) is not marked `checkpoint: true`.",
        "- capability: persist\n  config: ...",
        "Add `checkpoint: true`.",
    ),
    CodeInfo(
        "MULTIPLE_MUTATIONS",
        E,
        _COMPOSITION,
        "Under the `strict` mutation policy, a composition has more than one mutating invocation.",
        "persist ... then emit ... (policy strict)",
        "Keep one mutation per step: move the others to steps of their own.",
    ),
    CodeInfo(
        "INVOCATION_AFTER_MUTATION",
        E,
        _COMPOSITION,
        "Under the `strict` mutation policy, something that can fail (assert, validate, "
        "acquire, gate, a transform with an output schema) runs after the mutation, so the step "
        "can fail once the change is made.",
        "persist ... then assert ... (policy strict)",
        "Move the check before the mutation.",
    ),
    CodeInfo(
        "EMIT_NOT_LAST",
        W,
        _COMPOSITION,
        "An `emit` is followed by something other than another emit: the event announces a "
        "result that later invocations may still fail to produce.",
        "emit ... then transform ...",
        "Emit last.",
    ),
    CodeInfo(
        "ASSERT_AFTER_MUTATION",
        W,
        _COMPOSITION,
        "An `assert` runs after a persist or emit: when it fails, the change is already made.",
        "persist ... then assert ...",
        "Assert before the mutation.",
    ),
    CodeInfo(
        "PREV_ON_FIRST_INVOCATION",
        W,
        _COMPOSITION,
        "The first invocation reads `.prev`, which is always null there.",
        "- capability: transform\n  config: {filter: .prev.total, ...}",
        "Read `.context` (the task input) or `.deps` instead.",
    ),
    CodeInfo(
        "UNKNOWN_DEPENDENCY",
        E,
        _COMPOSITION,
        "An expression reads `.deps.NAME` but NAME is not one of the step's dependencies.",
        "filter: .deps.valdate.total",
        "Use a dependency's name (the hint names the closest) or add the dependency.",
    ),
    CodeInfo(
        "UNKNOWN_FIELD",
        E,
        _COMPOSITION,
        "An expression reads a field that a closed schema (`additionalProperties: false`, or "
        "the fixed step metadata) says cannot exist.",
        "filter: .step.atempt",
        "Use a declared field (the hint names the closest).",
    ),
    CodeInfo(
        "UNDECLARED_FIELD",
        W,
        _COMPOSITION,
        "An expression reads a field that the schema of its source does not declare; it may "
        "be missing at run time, and jq then yields null.",
        "filter: .prev.totl   # prev declares total",
        "Fix the name, or declare the field in the producer's schema.",
    ),
    CodeInfo(
        "PATH_TYPE_MISMATCH",
        E,
        _COMPOSITION,
        "An expression walks into a value whose schema type cannot have that path: a field of "
        "a string or array, or the elements of a scalar.",
        "filter: .prev.total.amount   # total is a number",
        "Fix the path to match the producer's schema.",
    ),
    CodeInfo(
        "SUSPECT_PATH",
        W,
        _COMPOSITION,
        "An expression may read a path that cannot exist in its source's schema; the path was "
        "inferred through variables or dynamic access, so it is not certain.",
        "filter: '.prev as $p | $p.totl'",
        "Check the path against the producer's schema.",
    ),
    CodeInfo(
        "MISSING_PRODUCER_SCHEMA",
        E,
        _COMPOSITION,
        "A schema is required to check a contract, but the producing side declares none.",
        "output: {}   # against outcome.output_schema with properties",
        "Declare the producer's output schema.",
    ),
    CodeInfo(
        "MISSING_REQUIRED_FIELD",
        E,
        _COMPOSITION,
        "The consumer requires a field that the producer's schema does not declare.",
        "outcome requires order_id; the last output declares only total",
        "Produce and declare the field, or make it optional for the consumer.",
    ),
    CodeInfo(
        "FIELD_NOT_GUARANTEED",
        W,
        _COMPOSITION,
        "The consumer requires a field that the producer declares but does not require, so it "
        "may be missing.",
        "outcome requires total; the last output has total but not in required",
        "Add the field to the producer's `required`.",
    ),
    CodeInfo(
        "TYPE_MISMATCH",
        E,
        _COMPOSITION,
        "The producer may give a value of a type the consumer does not accept (integer fits "
        "number; number does not fit integer; a nullable producer does not fit a non-null "
        "consumer).",
        "producer total: {type: [number, 'null']}, consumer total: {type: number}",
        "Make the producer's type a subset of the consumer's.",
    ),
    CodeInfo(
        "ENUM_MISMATCH",
        E,
        _COMPOSITION,
        "The producer may give a value outside the consumer's `enum` or `const`.",
        "producer status: {enum: [new, done, lost]}, consumer: {enum: [new, done]}",
        "Restrict the producer's values or extend the consumer's enum.",
    ),
    CodeInfo(
        "ENUM_NOT_CONSTRAINED",
        W,
        _COMPOSITION,
        "The consumer accepts only listed values (`enum`/`const`) but the producer's schema "
        "does not restrict its values.",
        "producer status: {type: string}, consumer: {enum: [new, done]}",
        "Give the producer the same `enum`.",
    ),
    CodeInfo(
        "EXTRA_FIELD_REJECTED",
        E,
        _COMPOSITION,
        "The consumer is closed (`additionalProperties: false`) but the producer declares a "
        "field it does not accept.",
        "producer: {properties: {id, debug}}, consumer: {properties: {id}, "
        "additionalProperties: false}",
        "Drop the field from the producer or declare it in the consumer.",
    ),
    CodeInfo(
        "SCHEMA_DEPTH_EXCEEDED",
        W,
        _COMPOSITION,
        "Schemas nest deeper than 32 levels; compatibility below that depth is not checked.",
        "(a recursive $ref)",
        "Nothing to do unless the deep part matters; then flatten the schema.",
    ),
    CodeInfo(
        "UNVERIFIABLE_OUTCOME",
        W,
        _COMPOSITION,
        "The last invocation's output is not statically known, so it cannot be checked against "
        "`outcome.output_schema`.",
        "... - capability: persist   # no output schema",
        "Declare `output` on the last invocation, or end with a transform.",
    ),
    CodeInfo(
        "COMPOSITION_RESULT_SCHEMA_MISMATCH",
        E,
        _COMPOSITION,
        "A composition's `outcome.output_schema` does not satisfy the step's `result_schema`.",
        "outcome.output_schema: {properties: {total: {type: string}}}, result_schema total: number",
        "Make the outcome schema produce what `result_schema` requires.",
    ),
    CodeInfo(
        "PATTERN_INVALID",
        E,
        _COMPOSITION,
        "A composition names a pattern that does not exist, or the pattern's `config` is invalid.",
        "composition: {pattern: fetch_and_stor, config: {...}}",
        "Use a pattern of the catalogue with the config it documents.",
    ),
    CodeInfo(
        "MISSING_MOCK_OUTPUT",
        I,
        _COMPOSITION,
        "While explaining with simulation, an acquire had no fixture data or mock output for "
        "its entity; it produced null.",
        "acquire of 'customers' without acquire_fixture_data.customers",
        "Add fixture data or a mock output for that invocation.",
    ),
    CodeInfo(
        "COMPOSITION_CALLABLE_CONVENTION",
        W,
        _COMPOSITION,
        "A step with a composition has a callable without the `grammar:` prefix.",
        "handler: {callable: orders.Validate}",
        "Use `callable: grammar:<name>`.",
    ),
    CodeInfo(
        "RULE_PLUGIN_FAILED",
        E,
        _COMPOSITION,
        "A rule module registered under the `tasker_ctl.rules` entry point (such as the "
        "grammar's composition checks) could not be loaded, so its checks did not run.",
        "(an installation missing a dependency of the grammar)",
        "Reinstall tasker-ctl; the message names the module and the import error.",
    ),
    # -- resources -------------------------------------------------------------------------------
    CodeInfo(
        "PERSIST_RESERVED_SCHEMA",
        E,
        _RESOURCES,
        "A `postgres` resource names a schema persist never writes: the engine's `tasker`, "
        "`information_schema`, or PostgreSQL's `pg_catalog` and other `pg_*` schemas.",
        "resources: {db: {kind: postgres, schema: tasker, tables: [tasks]}}",
        "Keep the application's tables in a schema of their own (`schema: app`).",
    ),
    CodeInfo(
        "PERSIST_UNDECLARED_TABLE",
        E,
        _RESOURCES,
        "A `persist` addresses an entity its `postgres` resource does not declare under "
        "`tables`; persist writes only declared tables.",
        "resource: {ref: db, entity: users}   # tables: [orders]",
        "Add the table to the resource's `tables` (a list, or a mapping entity -> table).",
    ),
    CodeInfo(
        "ACQUIRE_HOST_NOT_ALLOWED",
        E,
        _RESOURCES,
        "An `http` resource's `base_url` host is not in its `allowed_hosts`; acquire reaches "
        "only listed hosts.",
        "{kind: http, base_url: 'https://api.example.com'}   # no allowed_hosts",
        "List the host: `allowed_hosts: [api.example.com]`.",
    ),
    CodeInfo(
        "RESOURCE_INVALID",
        E,
        _RESOURCES,
        "A resource the engine cannot use as written: a schema or table name that is not a "
        "plain SQL identifier, a `base_url` that is not an absolute http(s) URL (or carries "
        "credentials, a query or a fragment), a header the engine sets itself (`Host`, "
        "`Content-Length`, ...) or that is malformed, an environment variable that is not a "
        "variable name.",
        "{kind: postgres, schema: app, tables: {orders: 'app.orders'}}",
        "Follow the message: plain names, an absolute base URL, ordinary headers.",
    ),
    CodeInfo(
        "RESOURCE_KIND_MISMATCH",
        E,
        _RESOURCES,
        "An invocation addresses a declared resource of another kind: acquire reads `http` "
        "resources, persist writes `postgres` ones, emit writes `outbox` ones.",
        "- capability: persist\n  config: {resource: gateway, ...}   # gateway is http",
        "Address a resource of the capability's kind.",
    ),
    CodeInfo(
        "RESOURCE_NOT_DECLARED",
        W,
        _RESOURCES,
        "An acquire, persist or emit addresses a resource the template does not declare; "
        "tasker-ctl's engine fails the invocation (a Tasker Core worker may configure it "
        "elsewhere). emit's default `events` outbox needs no declaration.",
        "- capability: persist\n  config: {resource: orders, ...}   # no resources.orders",
        "Declare it under `resources:` with its kind.",
    ),
    # -- planning --------------------------------------------------------------------------------
    CodeInfo(
        "EXTENSION_STEP_TYPE",
        I,
        _PLANNING,
        "`type: planning` is a tasker-ctl extension; Tasker Core cannot load this template.",
        "type: planning",
        "Nothing to do if the template runs under tasker-ctl.",
    ),
    CodeInfo(
        "PLANNING_BLOCK_MISSING",
        E,
        _PLANNING,
        "A `planning` step has no `planning:` block.",
        "- name: plan\n  type: planning",
        "Add `planning:` with at least `convergence:`.",
    ),
    CodeInfo(
        "PLANNING_BLOCK_MISPLACED",
        E,
        _PLANNING,
        "A `planning:` block sits on a step whose type is not `planning`.",
        "- name: a\n  planning: {...}",
        "Set `type: planning` or remove the block.",
    ),
    CodeInfo(
        "PLANNING_CONVERGENCE_UNKNOWN",
        E,
        _PLANNING,
        "`planning.convergence` names no step.",
        "convergence: sumarize",
        "Name the step that must follow the planned fill.",
    ),
    CodeInfo(
        "PLANNING_CONVERGENCE_NOT_DOWNSTREAM",
        E,
        _PLANNING,
        "The convergence step does not depend (directly or transitively) on the planning step.",
        "convergence: intake   # runs before plan",
        "Make the convergence step depend on the planning step.",
    ),
    CodeInfo(
        "PLANNING_CONVERGENCE_NOT_DEFERRED",
        E,
        _PLANNING,
        "The convergence step is not `deferred_convergence`, so it cannot wait on planned steps.",
        "convergence: report   # type: standard",
        "Give the convergence step `type: deferred_convergence`.",
    ),
    CodeInfo(
        "PLANNING_CONTEXT_UNKNOWN_STEP",
        E,
        _PLANNING,
        "`planning.context_from` names a step that is not upstream of the planning step.",
        "context_from: [report]",
        "List only ancestors of the planning step.",
    ),
    CodeInfo(
        "PLANNING_NOTHING_ALLOWED",
        E,
        _PLANNING,
        "The planner may use no callable, no pattern and no dynamic composition.",
        "planning: {convergence: x}",
        "Allow callables or patterns, or set `allow_dynamic_composition: true`.",
    ),
    CodeInfo(
        "PLANNING_BOUNDS_INCONSISTENT",
        E,
        _PLANNING,
        "Planning bounds contradict each other (depth larger than steps).",
        "bounds: {max_steps: 2, max_depth: 5}",
        "Make `max_depth` at most `max_steps`.",
    ),
    CodeInfo(
        "PLANNING_MODEL_INVALID",
        E,
        _PLANNING,
        "`planning.model` or a `planning.fallback_models` entry is not `provider:model` with a "
        "known provider (openai, anthropic, ollama, replay), or `openai:MODEL@URL` with an "
        "http(s) URL.",
        "model: gpt-4.1-mini   # no provider",
        "Write e.g. `openai:gpt-4.1-mini`, `ollama:qwen2.5-coder:7b` or `replay:answers.json`.",
    ),
    CodeInfo(
        "PLANNING_CONTEXT_POLICY_INVALID",
        E,
        _PLANNING,
        "`planning.context`'s byte thresholds decrease: `verbatim_max_bytes` <= "
        "`summary_max_bytes` <= `summarize_max_bytes` must hold (an omitted key has its default).",
        "context: {verbatim_max_bytes: 4096, summary_max_bytes: 2048}",
        "Order the thresholds: verbatim, then cut with a note, then summarized.",
    ),
    CodeInfo(
        "PLANNING_CALLABLE_ENTRY_INVALID",
        E,
        _PLANNING,
        "An `allowed_callables` entry is neither a dotted name nor a dotted prefix ending in `.*`.",
        "allowed_callables: ['checks.**', 'my checks']",
        "Write `module.Name` for one callable or `module.*` for every one under it.",
    ),
    CodeInfo(
        "PLANNING_PATTERN_UNKNOWN",
        E,
        _PLANNING,
        "`allowed_patterns` names a pattern the grammar's catalog does not have.",
        "allowed_patterns: [http_requests]",
        "Name a pattern of `tasker-ctl grammar patterns` (the hint suggests the closest).",
    ),
    CodeInfo(
        "PLANNING_EXAMPLE_INVALID",
        E,
        _PLANNING,
        "A few-shot fragment in `planning.examples` is not one the planning step would accept; "
        "the message starts with the fragment code (docs/fragments.md).",
        "examples: [{fragment_version: '1.0', steps: [...a cycle...]}]",
        "Fix the example as the message says: the planner copies what it is shown.",
    ),
    # -- budgets and chains ----------------------------------------------------------------------
    CodeInfo(
        "TEMPLATE_BUDGET_BELOW_STEP",
        W,
        _BUDGETS,
        "A limit of the template's `budget:` is below what one round of a planning step needs "
        "(`max_steps` below the step's `bounds.max_steps`, `max_tokens` below its "
        "`max_output_tokens`, `max_wall_seconds` below its `timeout_seconds`, or "
        "`max_cost_usd: 0`): the step is narrowed at run time or cannot call its model.",
        "budget: {max_steps: 5}\nsteps: [{type: planning, planning: {bounds: {max_steps: 10}}}]",
        "Raise the template's limit, or lower the planning step's own bound.",
    ),
    CodeInfo(
        "TEMPLATE_BUDGET_UNUSED",
        I,
        _BUDGETS,
        "The template has a `budget:` block but no planning step; its limits bound planners only.",
        "budget: {max_cost_usd: 5}   # no type: planning step",
        "Remove the block, or add the planning steps it is meant to bound.",
    ),
    CodeInfo(
        "CHAIN_LIMITS_EMPTY",
        I,
        _BUDGETS,
        "The template's `chain:` block sets no limit, so the delegation chains its tasks "
        "start are unbounded.",
        "chain: {}",
        "Set `max_depth`, `max_tasks`, `max_cost_usd`, `max_tokens` or `max_llm_calls`.",
    ),
)

BY_CODE: dict[str, CodeInfo] = {info.code: info for info in CATALOGUE}


def severity_of(code: str) -> Severity:
    return BY_CODE[code].severity


def render_markdown() -> str:
    """The diagnostics reference page, generated from the catalogue."""
    lines = [
        "# Diagnostic codes",
        "",
        "Every finding of `tasker-ctl validate` carries one of these stable codes. Severity is",
        "fixed per code: errors fail validation, warnings fail it with `--strict`, infos never do.",
        "This page is generated from `src/tasker_ctl/template/codes.py`; regenerate it with",
        "`python -m tasker_ctl.template.codes > docs/diagnostics.md`.",
        "",
    ]
    group = None
    for info in CATALOGUE:
        if info.group != group:
            group = info.group
            lines += [
                f"## {group}",
                "",
                "| Code | Severity | Meaning | Example | Fix |",
                "|---|---|---|---|---|",
            ]
        example = info.example.replace("|", "\\|").replace("\n", "<br>")
        lines.append(
            f"| `{info.code}` | {info.severity.value} | {info.meaning} | "
            f"<code>{example}</code> | {info.fix} |"
        )
        if info is CATALOGUE[-1] or CATALOGUE[CATALOGUE.index(info) + 1].group != group:
            lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_markdown(), end="")
