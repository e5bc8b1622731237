"""The step dependency graph: ancestry, cycles and topological order.

Built from plain step names and dependency lists so that it works on templates that failed
other checks; unknown dependency names and duplicate steps are simply left out of the edges.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cached_property


class StepGraph:
    """Directed graph with an edge ``dependency -> step`` for each declared dependency."""

    def __init__(self, steps: Sequence[tuple[str, Sequence[str]]]) -> None:
        self.order: list[str] = []
        self.parents: dict[str, list[str]] = {}
        declared: dict[str, Sequence[str]] = {}
        for name, dependencies in steps:
            declared.setdefault(name, dependencies)
        self.order = list(declared)
        for name, dependencies in declared.items():
            self.parents[name] = [d for d in dict.fromkeys(dependencies) if d in declared]
        self.children: dict[str, list[str]] = {name: [] for name in self.order}
        for name in self.order:
            for parent in self.parents[name]:
                self.children[parent].append(name)

    def __contains__(self, name: object) -> bool:
        return name in self.parents

    def ancestors(self, name: str) -> set[str]:
        return self._reach(name, self.parents)

    def descendants(self, name: str) -> set[str]:
        return self._reach(name, self.children)

    @staticmethod
    def _reach(start: str, edges: dict[str, list[str]]) -> set[str]:
        seen: set[str] = set()
        stack = list(edges.get(start, []))
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            stack.extend(edges.get(current, []))
        return seen

    @cached_property
    def cycles(self) -> list[list[str]]:
        """One cycle path per back edge, e.g. ``['a', 'b', 'a']``, visiting steps in order."""
        white, gray, black = 0, 1, 2
        colour = dict.fromkeys(self.order, white)
        found: list[list[str]] = []
        for root in self.order:
            if colour[root] != white:
                continue
            colour[root] = gray
            path = [root]
            stack = [iter(self.parents[root])]
            while stack:
                node = next(stack[-1], None)
                if node is None:
                    stack.pop()
                    colour[path.pop()] = black
                    continue
                if colour[node] == gray:
                    start = path.index(node)
                    found.append([*path[start:], node])
                elif colour[node] == white:
                    colour[node] = gray
                    path.append(node)
                    stack.append(iter(self.parents[node]))
        return found

    def topological_order(self) -> list[str]:
        """Kahn's order with template order as the tie-break; steps in cycles are left out."""
        remaining = {name: len(self.parents[name]) for name in self.order}
        position = {name: index for index, name in enumerate(self.order)}
        ready = [name for name in self.order if remaining[name] == 0]
        result: list[str] = []
        while ready:
            ready.sort(key=position.__getitem__)
            current = ready.pop(0)
            result.append(current)
            for child in self.children[current]:
                remaining[child] -= 1
                if remaining[child] == 0:
                    ready.append(child)
        return result

    def roots(self) -> list[str]:
        return [name for name in self.order if not self.parents[name]]

    def leaves(self) -> list[str]:
        return [name for name in self.order if not self.children[name]]

    def depth(self, names: Iterable[str] | None = None) -> dict[str, int]:
        """Longest distance from a root, for each step outside cycles."""
        depth: dict[str, int] = {}
        for name in self.topological_order():
            depth[name] = max((depth[p] + 1 for p in self.parents[name] if p in depth), default=0)
        if names is None:
            return depth
        return {name: depth[name] for name in names if name in depth}
