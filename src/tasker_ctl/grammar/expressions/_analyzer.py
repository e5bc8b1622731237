"""Abstract evaluation of a jq syntax tree: which envelope paths does it read?

Each node is evaluated with the set of abstract values ``.`` may hold and returns the set
its outputs may hold. Navigation (``.a``, ``.[]``, ``first``, ``select``...) follows values
without counting them as read; consuming them (comparison, arithmetic, a builtin that looks
at the whole value, the program's output) counts them read via :class:`Reads`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tasker_ctl.grammar.errors import BudgetExceeded
from tasker_ctl.grammar.expressions import _abstract as v
from tasker_ctl.grammar.expressions import _ast as a
from tasker_ctl.grammar.expressions._builtin_models import call_builtin
from tasker_ctl.grammar.expressions._scope import Closure, Scope, UserFunction

MAX_STEPS = 5_000
MAX_INLINE = 4
MAX_RECURSION = 2


class Analyzer:
    def __init__(self) -> None:
        self.reads = v.Reads()
        self.steps = 0
        self.inlining: list[a.FuncDef] = []

    def run(self, node: a.Node) -> None:
        self.reads.use(self.ev(node, frozenset({v.ENVELOPE}), Scope(None)))

    def use(self, values: v.Values, exact: bool = True) -> None:
        self.reads.use(values, exact)

    def ev(self, node: a.Node, dot: v.Values, scope: Scope) -> v.Values:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise BudgetExceeded
        if not dot:
            # no input, so the expression never runs
            return v.NOTHING
        out = _HANDLERS[type(node)](self, node, dot, scope)
        return out if len(out) <= v.MAX_VALUES else self.reads.bound(out)

    def unknown_call(self, args: list[a.Node], dot: v.Values, scope: Scope) -> v.Values:
        # anything could be read from the input or the arguments
        self.use(dot, exact=False)
        for arg in args:
            self.use(self.ev(arg, v.UNKNOWNS, scope), exact=False)
        return v.UNKNOWNS

    def bind(self, pattern: a.Pattern, values: v.Values, target: Scope, dot: v.Values) -> None:
        if isinstance(pattern, a.PVar):
            previous = target.variables.get(pattern.name, v.NOTHING)
            target.variables[pattern.name] = previous | values
        elif isinstance(pattern, a.PArray):
            for item in pattern.items:
                self.bind(item, v.elements(values, numeric=True), target, dot)
        elif isinstance(pattern, a.PObject):
            for entry in pattern.entries:
                if isinstance(entry.key, str):
                    member = v.key(values, entry.key)
                else:
                    self.use(self.ev(entry.key, dot, target))
                    member = v.dynamic(values)
                if entry.var is not None:
                    self.bind(a.PVar(entry.var), member, target, dot)
                if entry.pattern is not None:
                    self.bind(entry.pattern, member, target, dot)

    def call(self, node: a.Call, dot: v.Values, scope: Scope) -> v.Values:
        binding = scope.function(node.name, len(node.args))
        if isinstance(binding, Closure):
            return self.ev(binding.node, dot, binding.scope)
        if isinstance(binding, UserFunction):
            return self.inline(binding, node.args, dot, scope)
        modelled = call_builtin(self, node.name, node.args, dot, scope)
        if modelled is not None:
            return modelled
        return self.unknown_call(node.args, dot, scope)

    def inline(
        self, function: UserFunction, args: list[a.Node], dot: v.Values, scope: Scope
    ) -> v.Values:
        definition = function.node
        recursion = sum(1 for active in self.inlining if active is definition)
        if len(self.inlining) >= MAX_INLINE or recursion >= MAX_RECURSION:
            return self.unknown_call(args, dot, scope)
        inner = Scope(function.scope)
        for param, arg in zip(definition.params, args, strict=False):
            name = param.removeprefix("$")
            if param.startswith("$"):
                inner.variables[name] = self.ev(arg, dot, scope)
            inner.functions[(name, 0)] = Closure(arg, scope)
        self.inlining.append(definition)
        try:
            return self.ev(definition.body, dot, inner)
        finally:
            self.inlining.pop()


def _identity(an: Analyzer, node: a.Node, dot: v.Values, scope: Scope) -> v.Values:
    return dot


def _recurse_all(an: Analyzer, node: a.Node, dot: v.Values, scope: Scope) -> v.Values:
    an.use(dot, exact=False)
    return v.UNKNOWNS


def _literal(an: Analyzer, node: a.Literal, dot: v.Values, scope: Scope) -> v.Values:
    return frozenset({v.const(node.value)})


def _string(an: Analyzer, node: a.StringNode, dot: v.Values, scope: Scope) -> v.Values:
    for part in node.interpolations:
        an.use(an.ev(part, dot, scope))
    if node.interpolations:
        return v.UNKNOWNS
    return frozenset({v.const(node.literal)})


def _format(an: Analyzer, node: a.FormatNode, dot: v.Values, scope: Scope) -> v.Values:
    an.use(dot)
    return v.UNKNOWNS


def _index(an: Analyzer, node: a.Index, dot: v.Values, scope: Scope) -> v.Values:
    target = an.ev(node.target, dot, scope)
    if isinstance(node.key, str):
        return v.key(target, node.key)
    out: set[v.Value] = set()
    for key in an.ev(node.key, dot, scope):
        if isinstance(key, v.Const) and isinstance(key.value, str):
            out.update(v.key(target, key.value))
        elif isinstance(key, v.Const) and key.kind in ("int", "float"):
            out.update(v.elements(target, numeric=True))
        else:
            an.use(frozenset({key}))
            out.update(v.dynamic(target))
    return frozenset(out)


def _iterate(an: Analyzer, node: a.Iterate, dot: v.Values, scope: Scope) -> v.Values:
    return v.elements(an.ev(node.target, dot, scope))


def _slice(an: Analyzer, node: a.Slice, dot: v.Values, scope: Scope) -> v.Values:
    for bound in (node.low, node.high):
        if bound is not None:
            an.use(an.ev(bound, dot, scope))
    out: set[v.Value] = set()
    for value in an.ev(node.target, dot, scope):
        if isinstance(value, v.PathVal):
            out.update(an.reads.collection(v.elements(frozenset({value}))))
        elif isinstance(value, v.Coll):
            out.add(value)
        else:
            out.add(v.UNKNOWN)
    return frozenset(out)


def _array(an: Analyzer, node: a.ArrayNode, dot: v.Values, scope: Scope) -> v.Values:
    members = an.ev(node.body, dot, scope) if node.body is not None else v.NOTHING
    return an.reads.collection(members)


def _object(an: Analyzer, node: a.ObjectNode, dot: v.Values, scope: Scope) -> v.Values:
    fields: dict[str, v.Values] = {}
    rest: v.Values = v.NOTHING
    for key, value_node in node.entries:
        values = an.ev(value_node, dot, scope)
        keys = [key] if isinstance(key, str) else list(an.ev(key, dot, scope))
        for name in keys:
            if isinstance(name, str):
                fields[name] = fields.get(name, v.NOTHING) | values
            elif isinstance(name, v.Const) and isinstance(name.value, str):
                fields[name.value] = fields.get(name.value, v.NOTHING) | values
            else:
                an.use(frozenset({name}))
                rest = rest | values
    return an.reads.record_value(fields, rest)


def _variable(an: Analyzer, node: a.VarRef, dot: v.Values, scope: Scope) -> v.Values:
    found = scope.variable(node.name)
    return found if found is not None else v.UNKNOWNS


def _call(an: Analyzer, node: a.Call, dot: v.Values, scope: Scope) -> v.Values:
    return an.call(node, dot, scope)


def _pipe(an: Analyzer, node: a.Pipe, dot: v.Values, scope: Scope) -> v.Values:
    current: a.Node = node
    while isinstance(current, a.Pipe):
        dot = an.ev(current.left, dot, scope)
        current = current.right
    return an.ev(current, dot, scope)


def _comma(an: Analyzer, node: a.Comma, dot: v.Values, scope: Scope) -> v.Values:
    operands: list[a.Node] = []
    current: a.Node = node
    while isinstance(current, a.Comma):
        operands.append(current.right)
        current = current.left
    operands.append(current)
    return frozenset().union(*(an.ev(operand, dot, scope) for operand in reversed(operands)))


def _alternative(an: Analyzer, node: a.Alternative, dot: v.Values, scope: Scope) -> v.Values:
    return an.ev(node.left, dot, scope) | an.ev(node.right, dot, scope)


def _binop(an: Analyzer, node: a.BinOp, dot: v.Values, scope: Scope) -> v.Values:
    operands = an.ev(node.left, dot, scope) | an.ev(node.right, dot, scope)
    if node.op != "+":
        an.use(operands)
        return v.UNKNOWNS
    # adding arrays or objects the expression built concatenates or merges them
    built = {value for value in operands if type(value) is v.Coll or type(value) is v.Rec}
    an.use(operands.difference(built))
    return v.UNKNOWNS.union(built)


def _assign(an: Analyzer, node: a.Assign, dot: v.Values, scope: Scope) -> v.Values:
    targets = an.ev(node.left, dot, scope)
    if node.op == "|=":
        an.use(an.ev(node.right, targets, scope))
    else:
        an.use(an.ev(node.right, dot, scope))
        if node.op != "=":
            an.use(targets)
    return dot


def _negate(an: Analyzer, node: a.Negate, dot: v.Values, scope: Scope) -> v.Values:
    an.use(an.ev(node.operand, dot, scope))
    return v.UNKNOWNS


def _bind(an: Analyzer, node: a.Bind, dot: v.Values, scope: Scope) -> v.Values:
    values = an.ev(node.source, dot, scope)
    inner = Scope(scope)
    for pattern in node.patterns:
        an.bind(pattern, values, inner, dot)
    return an.ev(node.body, dot, inner)


def _reduce(an: Analyzer, node: a.Reduce, dot: v.Values, scope: Scope) -> v.Values:
    inner = Scope(scope)
    an.bind(node.pattern, an.ev(node.source, dot, scope), inner, dot)
    state = an.ev(node.init, dot, scope)
    # two rounds reach what a state built from the items can hold, up to the set bounds
    for _ in range(2):
        state = an.reads.bound(state | an.ev(node.update, state, inner))
    return state


def _foreach(an: Analyzer, node: a.Foreach, dot: v.Values, scope: Scope) -> v.Values:
    inner = Scope(scope)
    an.bind(node.pattern, an.ev(node.source, dot, scope), inner, dot)
    init = an.ev(node.init, dot, scope)
    first = an.ev(node.update, init, inner)
    states = an.reads.bound(first | an.ev(node.update, init | first, inner))
    return an.ev(node.extract, states, inner) if node.extract is not None else states


def _if(an: Analyzer, node: a.If, dot: v.Values, scope: Scope) -> v.Values:
    out: v.Values = v.NOTHING
    for condition, branch in node.branches:
        an.use(an.ev(condition, dot, scope))
        out = out | an.ev(branch, dot, scope)
    return out | (an.ev(node.otherwise, dot, scope) if node.otherwise is not None else dot)


def _try(an: Analyzer, node: a.Try, dot: v.Values, scope: Scope) -> v.Values:
    out = an.ev(node.body, dot, scope)
    if node.handler is not None:
        out = out | an.ev(node.handler, v.UNKNOWNS, scope)
    return out


def _label(an: Analyzer, node: a.Label, dot: v.Values, scope: Scope) -> v.Values:
    return an.ev(node.body, dot, scope)


def _break(an: Analyzer, node: a.Break, dot: v.Values, scope: Scope) -> v.Values:
    return v.NOTHING


def _funcdef(an: Analyzer, node: a.FuncDef, dot: v.Values, scope: Scope) -> v.Values:
    inner = Scope(scope)
    inner.functions[(node.name, len(node.params))] = UserFunction(node, inner)
    return an.ev(node.rest, dot, inner)


_HANDLERS: dict[type[a.Node], Callable[[Analyzer, Any, v.Values, Scope], v.Values]] = {
    a.Identity: _identity,
    a.RecurseAll: _recurse_all,
    a.Literal: _literal,
    a.StringNode: _string,
    a.FormatNode: _format,
    a.Index: _index,
    a.Iterate: _iterate,
    a.Slice: _slice,
    a.ArrayNode: _array,
    a.ObjectNode: _object,
    a.VarRef: _variable,
    a.Call: _call,
    a.Pipe: _pipe,
    a.Comma: _comma,
    a.Alternative: _alternative,
    a.BinOp: _binop,
    a.Assign: _assign,
    a.Negate: _negate,
    a.Bind: _bind,
    a.Reduce: _reduce,
    a.Foreach: _foreach,
    a.If: _if,
    a.Try: _try,
    a.Label: _label,
    a.Break: _break,
    a.FuncDef: _funcdef,
}
