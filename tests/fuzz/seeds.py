"""The files mutations start from: the project's templates and contexts, and Tasker Core's.

The corpus (../shared/corpus/tasker-core) is used when it is there; without it the fuzz run
starts from the project's own files only.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.fuzz.document import Document, parse_yaml, serialize, slots

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CORPUS_ROOT = PROJECT_ROOT.parent / "shared" / "corpus" / "tasker-core"


@dataclass(frozen=True)
class Seed:
    """One seed file: where it comes from (for case labels), its bytes and its data (None when
    the harness cannot parse it: such a seed gets byte-level mutations only)."""

    name: str
    text: bytes
    data: Any


@dataclass(frozen=True)
class ContextSeed:
    """A context with the template it is for and a file with compositions to explain."""

    name: str
    text: bytes
    template: Seed
    explained: Seed


@dataclass(frozen=True)
class Seeds:
    templates: tuple[Seed, ...]
    compositions: tuple[Seed, ...]
    contexts: tuple[ContextSeed, ...]

    def counts(self) -> dict[str, int]:
        return {
            "templates": len(self.templates),
            "compositions": len(self.compositions),
            "contexts": len(self.contexts),
        }


def _files(root: Path, *patterns: str) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted({path for pattern in patterns for path in root.glob(pattern) if path.is_file()})


def _display(path: Path) -> str:
    if path.is_relative_to(PROJECT_ROOT):
        return str(path.relative_to(PROJECT_ROOT))
    return (
        f"tasker-core:{path.relative_to(CORPUS_ROOT)}"
        if path.is_relative_to(CORPUS_ROOT)
        else str(path)
    )


# a seed whose aliases expand past this many values (a billion-laughs fixture) is mutated at
# byte level only: the harness's own reader expands them
_SEED_NODES = 100_000


def _seed(path: Path) -> Seed:
    text = path.read_bytes()
    data = None
    with contextlib.suppress(Exception):  # an unparseable seed is still a good byte-level seed
        data = parse_yaml(text)
    if len(slots(data, limit=_SEED_NODES + 1)) > _SEED_NODES:
        data = None
    return Seed(_display(path), text, data)


def _compositions_of(template: Seed) -> list[Seed]:
    """The compositions a template's steps carry, each as a seed of its own."""
    steps = template.data.get("steps") if isinstance(template.data, dict) else None
    found = []
    for step in steps if isinstance(steps, list) else []:
        if isinstance(step, dict) and isinstance(step.get("composition"), dict):
            composition = step["composition"]
            text = serialize(Document(composition))
            found.append(Seed(f"{template.name}#{step.get('name')}", text, composition))
    return found


@functools.cache
def load_seeds(*, corpus: Path = CORPUS_ROOT) -> Seeds:
    template_paths = _files(PROJECT_ROOT / "examples", "**/*.yaml", "**/*.yml")
    template_paths += _files(PROJECT_ROOT / "tests" / "fixtures" / "templates", "**/*.yaml")
    template_paths += _files(corpus / "config" / "tasks", "**/*.yaml", "**/*.yml")
    template_paths += _files(
        corpus / "tests" / "fixtures" / "task_templates", "**/*.yaml", "**/*.yml"
    )
    templates = [_seed(path) for path in template_paths]

    fixtures = corpus / "crates" / "tasker-grammar" / "tests" / "fixtures"
    compositions = [_seed(path) for path in _files(fixtures, "**/*.yaml", "**/*.yml")]
    for template in templates:
        compositions += _compositions_of(template)

    # contexts of templates without compositions are explained against the examples' ones
    composed = [
        seed for seed in templates if seed.name.startswith("examples/") and _compositions_of(seed)
    ]
    contexts = []
    for index, path in enumerate(_files(PROJECT_ROOT / "examples", "*/context.json")):
        template_paths = _files(path.parent, "*.yaml")
        if not template_paths:
            continue
        template = _seed(template_paths[0])
        explained = template if _compositions_of(template) else composed[index % len(composed)]
        contexts.append(ContextSeed(_display(path), path.read_bytes(), template, explained))
    return Seeds(tuple(templates), tuple(compositions), tuple(contexts))
