"""The planned DAG as a rich tree, for terminals.

Each step is drawn in full once, under its first parent in template order; its other parents
show a one-line reference instead, so joins do not repeat whole subtrees. Marks and colours tell
the step types apart; the marks alone carry the meaning, so the tree reads the same with
``NO_COLOR`` or without a Unicode-capable terminal (then ASCII marks are used).
"""

from __future__ import annotations

import io

from rich.console import Console, Group
from rich.text import Text
from rich.tree import Tree

from tasker_ctl.report.dag import DagNode, DagView
from tasker_ctl.template.model import StepType

# (unicode mark, ascii mark, style) per non-standard type.
_MARKS: dict[StepType, tuple[str, str, str]] = {
    StepType.DECISION: ("◆", "<>", "bold yellow"),
    StepType.BATCHABLE: ("⇉", "=>", "bold cyan"),
    StepType.BATCH_WORKER: ("▤", "[#]", "cyan"),
    StepType.DEFERRED_CONVERGENCE: ("⋈", "><", "bold green"),
    StepType.PLANNING: ("✦", "*", "bold magenta"),
}


def _pick(unicode_text: str, ascii_text: str, ascii_only: bool) -> str:
    return ascii_text if ascii_only else unicode_text


def _mark(step_type: StepType, ascii_only: bool) -> str:
    unicode_mark, ascii_mark, _ = _MARKS[step_type]
    return _pick(unicode_mark, ascii_mark, ascii_only)


def _describe(node: DagNode, ascii_only: bool) -> str:
    """The type mark and caption of a non-standard step ('' for standard steps)."""
    if node.type is StepType.STANDARD:
        return ""
    mark = _mark(node.type, ascii_only)
    if node.type is StepType.BATCH_WORKER:
        return f"{mark} batch_worker {_pick('×', 'x', ascii_only)}N at run time"
    if node.type is StepType.DEFERRED_CONVERGENCE:
        return f"{mark} deferred convergence"
    if node.type is StepType.PLANNING:
        target = node.planning.convergence if node.planning else "?"
        return f"{mark} planning {_pick('→', '->', ascii_only)} converges at {target}"
    return f"{mark} {node.type.value}"


def _label(node: DagNode, ascii_only: bool) -> Text:
    label = Text(node.name, style="bold" if node.created_at_start else "")
    if caption := _describe(node, ascii_only):
        label.append("  ")
        label.append(caption, style=_MARKS[node.type][2])
    # A worker's ×N already says it is spawned; repeating its batchable step adds nothing.
    if node.created_by is not None and node.type is not StepType.BATCH_WORKER:
        creator = node.created_by
        label.append(f"  (created by {creator.kind} '{creator.step}')", style="italic")
    elif not node.created_at_start and node.type is not StepType.BATCH_WORKER:
        label.append("  (never created: no decision, batch or planning upstream)", style="red")
    return label


def build_tree(view: DagView, *, ascii_only: bool = False) -> Tree:
    """The tree: the template at the root, the DAG's roots under it, children nested."""
    nodes = {node.name: node for node in view.nodes}
    children: dict[str, list[str]] = {node.name: [] for node in view.nodes}
    parents: dict[str, list[str]] = {node.name: [] for node in view.nodes}
    for edge in view.edges:
        children[edge.source].append(edge.target)
        parents[edge.target].append(edge.source)
    home = {
        name: min(found, key=lambda parent: nodes[parent].index)
        for name, found in parents.items()
        if found
    }
    tree = Tree(Text(view.template, style="bold"), guide_style="dim")
    shown: set[str] = set()
    reference = _pick("↳", "->", ascii_only)

    def add(branch: Tree, name: str) -> None:
        shown.add(name)
        sub = branch.add(_label(nodes[name], ascii_only))
        for child in children[name]:
            if home.get(child) == name and child not in shown:
                add(sub, child)
            else:
                where = "above" if child in shown else "below"
                sub.add(Text(f"{reference} {child} (see {where})", style="dim"))

    for root in view.roots:
        add(tree, root)
    # Steps in a dependency cycle have no root above them; list them rather than drop them.
    for name in nodes:
        if name not in shown:
            add(tree, name)
    return tree


def legend(*, ascii_only: bool = False, width: int | None = None) -> Text:
    """The legend: one line, or as few as ``width`` allows without splitting an entry."""
    entries = [
        "legend:",
        f"{_mark(StepType.DECISION, ascii_only)} decision",
        f"{_mark(StepType.BATCHABLE, ascii_only)} batchable",
        f"{_mark(StepType.BATCH_WORKER, ascii_only)} batch worker, "
        f"{_pick('×', 'x', ascii_only)}N copies at run time",
        f"{_mark(StepType.DEFERRED_CONVERGENCE, ascii_only)} deferred convergence, "
        "waits only on parents that were created",
        f"{_mark(StepType.PLANNING, ascii_only)} planning",
        "(created by ...) not created at task start",
        f"{_pick('↳', '->', ascii_only)} drawn in full elsewhere",
    ]
    lines = [entries[0]]
    for entry in entries[1:]:
        if width is not None and len(lines[-1]) + 2 + len(entry) > width:
            lines.append(entry)
        else:
            lines[-1] += (" " if lines[-1] == entries[0] else "  ") + entry
    return Text("\n".join(lines), style="dim")


def _ascii_only(console: Console) -> bool:
    return not console.encoding.lower().startswith("utf")


def print_tree(view: DagView, console: Console | None = None) -> None:
    """Print the tree and its legend (colour follows the console, e.g. ``NO_COLOR``)."""
    target = console or Console(highlight=False)
    ascii_only = _ascii_only(target)
    key = legend(ascii_only=ascii_only, width=target.width)
    target.print(Group(build_tree(view, ascii_only=ascii_only), key))


def tree_text(view: DagView, *, width: int = 100, ascii_only: bool = False) -> str:
    """The tree and legend as plain text, for files and tests."""
    buffer = io.StringIO()
    console = Console(
        file=buffer, width=width, color_system=None, highlight=False, emoji=False, soft_wrap=False
    )
    key = legend(ascii_only=ascii_only, width=width)
    console.print(Group(build_tree(view, ascii_only=ascii_only), key))
    # Wrapped lines keep the space they broke at; files and golden copies should not.
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())
