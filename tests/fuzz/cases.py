"""Cases: the files of one mutated input and the commands run on them.

A case is a pure function of (seed, kind, number): ``random.Random`` seeded with that triple
drives every choice, so ``--case template-123 --seed 1`` rebuilds exactly the case a run reported.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fuzz.contexts import mutate_context
from tests.fuzz.document import serialize
from tests.fuzz.mutators import mutate_bytes, mutate_structure
from tests.fuzz.seeds import Seed, Seeds

KINDS = ("template", "composition", "context")
CONTEXT_CHECK = "context-check"  # a library check: no command checks a context offline


@dataclass(frozen=True)
class Command:
    """One command on a case's files (paths relative to the case's directory).

    ``op`` is "cli" for ``tasker-ctl ARGV``; otherwise the name of a library check the runner
    knows (it maps the check's errors to exit codes as the CLI does)."""

    name: str
    argv: tuple[str, ...]
    op: str = "cli"

    def command_line(self) -> str:
        import shlex

        if self.op == "cli":
            return shlex.join(["tasker-ctl", *self.argv])
        return f"{self.op} {shlex.join(self.argv)}"

    def user_command(self) -> str:
        """How a user meets the same code: the command, or for the context check the
        ``run`` that reads its context the same way (and checks it at task creation)."""
        if self.op == CONTEXT_CHECK:
            template, context = self.argv
            return f"tasker-ctl run {template} --context @{context}"
        return self.command_line()

    @property
    def slug(self) -> str:
        return self.name.replace(" ", "-")


@dataclass
class Case:
    kind: str
    number: int
    seed_file: str
    labels: list[str]
    files: dict[str, bytes]
    commands: list[Command] = field(default_factory=list)
    known_size: int | None = None  # a header's case: its files are on disk only

    @property
    def case_id(self) -> str:
        return f"{self.kind}-{self.number}"

    @property
    def size(self) -> int:
        if self.known_size is not None:
            return self.known_size
        return sum(len(text) for text in self.files.values())

    def header(self) -> dict[str, Any]:
        """The case without its files' contents (what the case builder process sends)."""
        return {
            "kind": self.kind,
            "number": self.number,
            "seed_file": self.seed_file,
            "labels": self.labels,
            "files": list(self.files),
            "size": self.size,
            "commands": [[c.name, list(c.argv), c.op] for c in self.commands],
        }

    @classmethod
    def from_header(cls, header: dict[str, Any]) -> Case:
        commands = [Command(name, tuple(argv), op) for name, argv, op in header["commands"]]
        files = dict.fromkeys(header["files"], b"")
        return cls(
            header["kind"],
            header["number"],
            header["seed_file"],
            header["labels"],
            files,
            commands,
            header["size"],
        )

    def loaded(self, directory: Path) -> Case:
        """This case with its files' contents read from ``directory``."""
        files = {name: (directory / name).read_bytes() for name in self.files}
        return Case(self.kind, self.number, self.seed_file, self.labels, files, self.commands)

    def write(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "tmp").mkdir(exist_ok=True)
        for name, text in self.files.items():
            (directory / name).write_bytes(text)

    def describe(self) -> str:
        return f"{self.case_id} from {self.seed_file}: " + "; ".join(self.labels)


def _mutated(
    rng: random.Random, seed: Seed, *, json_share: float = 0.0
) -> tuple[bytes, list[str], str]:
    """The seed mutated at byte level (a third of the time, or when it does not parse) or in
    its structure; returns the text, the labels and the file suffix."""
    if seed.data is None or rng.random() < 0.35:
        text, labels = mutate_bytes(rng, seed.text)
        return text, ["bytes: " + ", ".join(labels)], ".yaml"
    as_json = rng.random() < json_share
    try:
        doc, labels = mutate_structure(rng, seed.data)
        return serialize(doc, as_json=as_json), labels, ".json" if as_json else ".yaml"
    except Exception as error:  # too large for the builder, or unwritable: mutate bytes
        text, more = mutate_bytes(rng, seed.text)
        return text, [f"{type(error).__name__} in the builder; bytes: " + ", ".join(more)], ".yaml"


def template_case(seeds: Seeds, seed: int, number: int) -> Case:
    rng = random.Random(f"{seed}/template/{number}")
    source = rng.choice(seeds.templates)
    text, labels, _ = _mutated(rng, source)
    case = Case("template", number, source.name, labels, {"template.yaml": text})
    case.commands.append(Command("validate", ("validate", "template.yaml", "--format", "json")))
    if number % 4 == 0:
        argv = ("template", "visualize", "template.yaml", "--format", "json")
        case.commands.append(Command("template visualize", argv))
    if number % 10 == 5:
        argv = ("generate", "models", "template.yaml", "-o", "models.py")
        case.commands.append(Command("generate models", argv))
    return case


def composition_case(seeds: Seeds, seed: int, number: int) -> Case:
    rng = random.Random(f"{seed}/composition/{number}")
    source = rng.choice(seeds.compositions)
    text, labels, suffix = _mutated(rng, source, json_share=0.15)
    name = f"composition{suffix}"
    case = Case("composition", number, source.name, labels, {name: text})
    case.commands.append(Command("composition validate", ("composition", "validate", name)))
    explain = ("composition", "explain", name) + (("--json",) if number % 2 else ())
    case.commands.append(Command("composition explain", explain))
    return case


def context_case(seeds: Seeds, seed: int, number: int) -> Case:
    rng = random.Random(f"{seed}/context/{number}")
    source = rng.choice(seeds.contexts)
    schema: Any = None
    if isinstance(source.template.data, dict):
        schema = source.template.data.get("input_schema")
    text, labels = mutate_context(rng, source.text, schema)
    files = {"context.json": text, "template.yaml": source.template.text}
    explained = "template.yaml"
    if source.explained is not source.template:
        explained = "explained.yaml"
        files[explained] = source.explained.text
    case = Case("context", number, source.name, labels, files)
    case.commands.append(
        Command("context check", ("template.yaml", "context.json"), op=CONTEXT_CHECK)
    )
    argv = ("composition", "explain", explained, "--sample-context", "@context.json")
    case.commands.append(Command("composition explain (context)", (*argv, "--json")))
    return case


BUILDERS = {"template": template_case, "composition": composition_case, "context": context_case}


def build_case(seeds: Seeds, seed: int, kind: str, number: int) -> Case:
    return BUILDERS[kind](seeds, seed, number)


def parse_case_id(case_id: str) -> tuple[str, int]:
    """``template-123`` -> ("template", 123)."""
    kind, _, number = case_id.rpartition("-")
    if kind not in KINDS or not number.isdigit():
        raise ValueError(f"{case_id!r} is not KIND-NUMBER with KIND one of {', '.join(KINDS)}")
    return kind, int(number)


def case_manifest(case: Case) -> str:
    """What a reproducer directory records about its case."""
    return json.dumps(
        {
            "case": case.case_id,
            "seed_file": case.seed_file,
            "mutations": case.labels,
            "commands": [command.command_line() for command in case.commands],
        },
        indent=2,
    )
