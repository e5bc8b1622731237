"""How path extraction treats jq's builtins: which of them navigate, which consume.

A builtin not modelled here but known to jq consumes its input and arguments (each argument
evaluated against the same input, as jq's closures are); a name jq does not know (or a call
too deep to inline) is an unknown function: its input counts as read below, inexactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tasker_ctl.grammar.expressions import _abstract as v
from tasker_ctl.grammar.expressions import _ast as a

if TYPE_CHECKING:
    from tasker_ctl.grammar.expressions._analyzer import Analyzer
    from tasker_ctl.grammar.expressions._scope import Scope


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


Model = Callable[["Analyzer", list[a.Node], v.Values, "Scope"], v.Values]

# output is the input, or part of it, unchanged
_PASSTHROUGH = _words(
    """
    values nulls arrays objects iterables scalars strings numbers booleans finites normals
    reverse sort unique debug stderr
    """
)
# read nothing from the input (arguments still count)
_ARGUMENTS_ONLY = _words(
    """
    range pow atan2 fma fmin fmax fmod fdim copysign drem hypot ldexp scalb scalbln
    nextafter nexttoward remainder jn yn IN INDEX input inputs now env builtins
    input_filename input_line_number get_search_list get_prog_origin get_jq_origin nan
    infinite have_decnum have_literal_numbers
    """
)
# walk anywhere below the input
_DEEP = _words(
    """
    recurse recurse_down paths leaf_paths tostream walk getpath
    """
)
# everything else jq 1.6-1.8 defines: consumes its input
_KNOWN = _words(
    """
    abs acos acosh add all any arrays ascii ascii_downcase ascii_upcase asin asinh atan
    atanh booleans bsearch capture cbrt ceil combinations contains cos cosh date dateadd
    datesub debug del delpaths endswith erf erfc error exp exp10 exp2 explode expm1 fabs
    finites first flatten floor format frexp from_entries fromdate fromdateiso8601 fromjson
    fromstream gamma getpath gmtime group_by gsub halt halt_error has implode in index
    indices inside isempty isfinite isinfinite isnan isnormal isvalid iterables j0 j1 join
    keys keys_unsorted last length lgamma lgamma_r limit localtime log log10 log1p log2 logb
    ltrimstr ltrim map map_values match max max_by min min_by mktime modf modulemeta
    nearbyint normals not nth nulls numbers objects path pick pow10 repeat rindex rint round
    rtrim rtrimstr scalars scan select setpath significand sin sinh skip sort sort_by split
    splits sqrt startswith strflocaltime strftime strings strptime sub tan tanh test tgamma
    to_entries toarray toboolean todate todateiso8601 tojson tonumber tostring transpose
    trim trimstr trunc truncate_stream type unique unique_by until utf8bytelength values
    while with_entries y0 y1 JOIN
    """
)


def call_builtin(
    an: Analyzer, name: str, args: list[a.Node], dot: v.Values, scope: Scope
) -> v.Values | None:
    """Outputs of builtin ``name`` called with ``args``, or None when jq has no such name."""
    model = _MODELS.get((name, len(args)))
    if model is not None:
        return model(an, args, dot, scope)
    if name in _PASSTHROUGH:
        _use_args(an, args, dot, scope)
        return dot
    if name in _ARGUMENTS_ONLY:
        _use_args(an, args, dot, scope)
        return v.UNKNOWNS
    if name in _DEEP:
        an.use(dot, exact=False)
        for arg in args:
            an.use(an.ev(arg, v.UNKNOWNS, scope), exact=False)
        return v.UNKNOWNS
    if name in _KNOWN:
        an.use(dot)
        _use_args(an, args, dot, scope)
        return v.UNKNOWNS
    return None


def _use_args(an: Analyzer, args: list[a.Node], dot: v.Values, scope: Scope) -> None:
    for arg in args:
        an.use(an.ev(arg, dot, scope))


def _constant(value: bool | None) -> Model:
    return lambda an, args, dot, scope: frozenset({v.const(value)})


def _empty(an: Analyzer, args: list[a.Node], dot: v.Values, scope: Scope) -> v.Values:
    return v.NOTHING


def _error(an: Analyzer, args: list[a.Node], dot: v.Values, scope: Scope) -> v.Values:
    if args:
        _use_args(an, args, dot, scope)
    else:
        an.use(dot)
    return v.NOTHING


def _select(an: Analyzer, args: list[a.Node], dot: v.Values, scope: Scope) -> v.Values:
    _use_args(an, args, dot, scope)
    return dot


def _map(an: Analyzer, args: list[a.Node], dot: v.Values, scope: Scope) -> v.Values:
    return an.reads.collection(an.ev(args[0], v.elements(dot), scope))


def _quantifier(an: Analyzer, args: list[a.Node], dot: v.Values, scope: Scope) -> v.Values:
    if not args:
        an.use(v.elements(dot))
    elif len(args) == 1:
        an.use(an.ev(args[0], v.elements(dot), scope))
    else:
        an.use(an.ev(args[1], an.ev(args[0], dot, scope), scope))
    return v.UNKNOWNS


def _reorder_by(an: Analyzer, args: list[a.Node], dot: v.Values, scope: Scope) -> v.Values:
    an.use(an.ev(args[0], v.elements(dot), scope))
    return dot


def _group_by(an: Analyzer, args: list[a.Node], dot: v.Values, scope: Scope) -> v.Values:
    an.use(an.ev(args[0], v.elements(dot), scope))
    return an.reads.collection(dot)


def _extreme_by(an: Analyzer, args: list[a.Node], dot: v.Values, scope: Scope) -> v.Values:
    an.use(an.ev(args[0], v.elements(dot), scope))
    return v.elements(dot)


def _element(an: Analyzer, args: list[a.Node], dot: v.Values, scope: Scope) -> v.Values:
    _use_args(an, args, dot, scope)
    return v.elements(dot, numeric=True)


def _extreme(an: Analyzer, args: list[a.Node], dot: v.Values, scope: Scope) -> v.Values:
    members = v.elements(dot)
    an.use(members)
    return members


def _generator_last(an: Analyzer, args: list[a.Node], dot: v.Values, scope: Scope) -> v.Values:
    # first(f), last(f), limit(n; f), nth(n; f), skip(n; f): outputs of the last argument
    _use_args(an, args[:-1], dot, scope)
    return an.ev(args[-1], dot, scope)


def _loop(an: Analyzer, args: list[a.Node], dot: v.Values, scope: Scope) -> v.Values:
    # until(cond; update), while(cond; update), repeat(update)
    states = dot | an.ev(args[-1], dot, scope)
    if len(args) == 2:
        an.use(an.ev(args[0], states, scope))
    return states


def _sum(an: Analyzer, args: list[a.Node], dot: v.Values, scope: Scope) -> v.Values:
    an.use(an.ev(args[0], dot, scope) if args else v.elements(dot))
    return v.UNKNOWNS


def _entries(an: Analyzer, dot: v.Values) -> v.Values:
    entry = an.reads.record_value({"key": v.UNKNOWNS, "value": v.elements(dot)}, v.NOTHING)
    return an.reads.collection(entry)


def _from(an: Analyzer, entries: v.Values) -> v.Values:
    values: set[v.Value] = set()
    for entry in entries:
        if isinstance(entry, v.Rec):
            an.use(v.key(frozenset({entry}), "key"))
            values.update(v.key(frozenset({entry}), "value"))
        else:
            an.use(frozenset({entry}))
    return an.reads.record_value({}, frozenset(values))


def _to_entries(an: Analyzer, args: list[a.Node], dot: v.Values, scope: Scope) -> v.Values:
    return _entries(an, dot)


def _from_entries(an: Analyzer, args: list[a.Node], dot: v.Values, scope: Scope) -> v.Values:
    return _from(an, v.elements(dot))


def _with_entries(an: Analyzer, args: list[a.Node], dot: v.Values, scope: Scope) -> v.Values:
    return _from(an, an.ev(args[0], v.elements(_entries(an, dot)), scope))


def _delete(an: Analyzer, args: list[a.Node], dot: v.Values, scope: Scope) -> v.Values:
    # del(path): the paths are only located, the rest of the input is the output
    an.ev(args[0], dot, scope)
    return dot


def _getpath(an: Analyzer, args: list[a.Node], dot: v.Values, scope: Scope) -> v.Values:
    an.use(dot, exact=False)
    _use_args(an, args, dot, scope)
    return v.UNKNOWNS


_MODELS: dict[tuple[str, int], Model] = {
    ("empty", 0): _empty,
    ("null", 0): _constant(None),
    ("true", 0): _constant(True),
    ("false", 0): _constant(False),
    ("error", 0): _error,
    ("error", 1): _error,
    ("select", 1): _select,
    ("map", 1): _map,
    ("map_values", 1): _map,
    ("any", 0): _quantifier,
    ("any", 1): _quantifier,
    ("any", 2): _quantifier,
    ("all", 0): _quantifier,
    ("all", 1): _quantifier,
    ("all", 2): _quantifier,
    ("sort_by", 1): _reorder_by,
    ("unique_by", 1): _reorder_by,
    ("group_by", 1): _group_by,
    ("min_by", 1): _extreme_by,
    ("max_by", 1): _extreme_by,
    ("first", 0): _element,
    ("last", 0): _element,
    ("nth", 1): _element,
    ("min", 0): _extreme,
    ("max", 0): _extreme,
    ("first", 1): _generator_last,
    ("last", 1): _generator_last,
    ("limit", 2): _generator_last,
    ("nth", 2): _generator_last,
    ("skip", 2): _generator_last,
    ("until", 2): _loop,
    ("while", 2): _loop,
    ("repeat", 1): _loop,
    ("add", 0): _sum,
    ("add", 1): _sum,
    ("to_entries", 0): _to_entries,
    ("from_entries", 0): _from_entries,
    ("with_entries", 1): _with_entries,
    ("del", 1): _delete,
    ("getpath", 1): _getpath,
}
