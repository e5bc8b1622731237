"""Self-contained JSON Schemas: where a ``$ref`` may lead, and validators that never fetch.

The schemas a template holds are untrusted input (docs/security.md). A ``$ref`` in one resolves
only inside its own document (``#/...``, ``#/$defs/NAME``, ``#/definitions/NAME``, anchors and
``$id``-identified subschemas of the same document) or to a schema the project registered with
``register_schema``. Nothing is fetched: jsonschema's default registry would follow
``http://`` and ``file://`` references (every worker a proxy into the operator's network, local
files quoted in messages), so every validator tasker-ctl builds comes from ``build_validator``
here, whose registry refuses to retrieve anything.

``ref_problems`` is the static side: every ``$ref`` of a schema that leaves its document or
points nowhere in it, for ``tasker-ctl validate`` to report before anything runs.

This module depends on nothing of ours but ``errors``, so the template package may use it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NoReturn
from urllib.parse import urldefrag, urljoin

from tasker_ctl.errors import SchemaRefError, SchemaUnusableError

if TYPE_CHECKING:
    from jsonschema.protocols import Validator
    from referencing import Registry

JsonPath = tuple[str | int, ...]

REF_HINT = (
    "copy the schema under $defs and refer to it as #/$defs/NAME (tasker-ctl never fetches "
    "schemas); a schema shared by code can be registered with "
    "tasker_ctl.sdk.contracts.register_schema"
)
_REFERENCE_KEYWORDS = ("$ref", "$dynamicRef")
# keywords whose values are data, not schemas: a "$ref" inside them refers to nothing
_DATA_KEYWORDS = frozenset({"enum", "const", "default", "examples", "example"})
# keywords whose values map names to schemas (the names themselves are data)
_SCHEMA_MAPS = frozenset(
    {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "dependencies"}
)
_MAX_SHOWN_REF = 200
_MAX_DEPTH = 200


def shown_ref(ref: str) -> str:
    """A reference as messages show it: bounded, on one line."""
    flat = ref.replace("\n", "\\n").replace("\r", "\\r")
    return flat if len(flat) <= _MAX_SHOWN_REF else flat[: _MAX_SHOWN_REF - 1] + "…"


# -- registered schemas -------------------------------------------------------------------------

_lock = threading.Lock()
_registered: dict[str, Any] = {}
_registry_cache: dict[str, Any] = {}  # "registry" -> the Registry of the current registrations
_generation = [0]  # bumped by every change, so that callers can key caches on it


def register_schema(uri: str, schema: Mapping[str, Any] | bool) -> None:
    """Make ``$ref: URI`` (and ``URI#/pointer``) resolve to ``schema`` in every schema check.

    ``uri`` is an absolute URI without a fragment, e.g. ``https://schemas.example/money.json``;
    a later registration under the same URI replaces the earlier one. Nothing is fetched: the
    schema is the one given here.
    """
    if not isinstance(uri, str) or not uri.strip() or uri != uri.strip():
        raise ValueError(f"a schema URI must be a non-empty string without spaces, got {uri!r}")
    if urldefrag(uri).fragment or uri.endswith("#"):
        raise ValueError(f"a schema URI has no fragment, got {uri!r}")
    if not isinstance(schema, Mapping | bool):
        raise ValueError(f"a schema is a mapping or a boolean, got {type(schema).__name__}")
    with _lock:
        _registered[uri] = dict(schema) if isinstance(schema, Mapping) else schema
        _registry_cache.clear()
        _generation[0] += 1


def unregister_schema(uri: str) -> bool:
    """Forget a registered schema; whether it was registered."""
    with _lock:
        found = _registered.pop(uri, None) is not None
        _registry_cache.clear()
        _generation[0] += 1
    return found


def registrations_generation() -> int:
    """A number that changes whenever the registered schemas do (a cache key)."""
    return _generation[0]


def registrations_digest() -> str:
    """A digest of the registered schemas' URIs and content: what a check that resolved a
    ``$ref`` against them depended on (a cache of validated templates keys on it)."""
    with _lock:
        text = json.dumps(_registered, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def registered_schema_uris() -> tuple[str, ...]:
    with _lock:
        return tuple(sorted(_registered))


def schema_registry() -> Registry[Any]:
    """The registered schemas, with a retrieval that refuses every other URI."""
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    with _lock:
        cached = _registry_cache.get("registry")
        if cached is None:
            resources = [
                (uri, Resource.from_contents(schema, default_specification=DRAFT202012))
                for uri, schema in _registered.items()
            ]
            cached = Registry(retrieve=_refuse_retrieval).with_resources(resources)  # type: ignore[call-arg]
            _registry_cache["registry"] = cached
    registry: Registry[Any] = cached
    return registry


def _refuse_retrieval(uri: str) -> NoReturn:
    from referencing.exceptions import NoSuchResource

    raise NoSuchResource(ref=uri)  # type: ignore[call-arg]


# -- validators ---------------------------------------------------------------------------------


def build_validator(
    schema: Any, *, validator_class: type[Validator] | None = None, check_formats: bool = False
) -> Validator:
    """A jsonschema validator for ``schema`` that resolves references only as this module
    allows. The class follows ``$schema`` (2020-12 when absent or unknown) unless given."""
    from jsonschema import validators

    cls = validator_class
    if cls is None:
        declared = schema.get("$schema") if isinstance(schema, dict) else None
        with warnings.catch_warnings():
            # an unknown $schema falls back to the default, with a deprecation warning
            warnings.simplefilter("ignore", DeprecationWarning)
            cls = validators.validator_for(
                {"$schema": declared} if isinstance(declared, str) else {},
                default=validators.Draft202012Validator,
            )
    format_checker = cls.FORMAT_CHECKER if check_formats else None
    return cls(schema, registry=schema_registry(), format_checker=format_checker)


# errors read of one value at most: a million-item result that breaks its item schema would
# otherwise build a million errors, each holding its context, before the first is reported
MAX_VALIDATION_ERRORS = 100


def validation_errors(validator: Validator, value: Any) -> list[Any]:
    """The ``ValidationError``s of ``value``, the first ``MAX_VALIDATION_ERRORS`` found; a
    reference that does not resolve raises ``SchemaRefError``, any other failure to apply the
    schema ``SchemaUnusableError``."""
    from referencing.exceptions import Unresolvable

    try:
        return list(itertools.islice(validator.iter_errors(value), MAX_VALIDATION_ERRORS))
    except Unresolvable as error:
        raise SchemaRefError(_ref_of(error)) from None
    except RecursionError:
        raise SchemaUnusableError(
            "the schema refers to itself without end", hint="break the $ref cycle"
        ) from None
    except Exception as error:
        # a malformed pattern, an unknown type: the kind, with a bounded description
        raise SchemaUnusableError(
            f"the schema cannot be applied ({type(error).__name__}: {shown_ref(str(error))})",
            hint="check the schema with 'tasker-ctl validate'",
        ) from None


def _ref_of(error: Exception) -> str:
    ref = getattr(error, "ref", None)
    return ref if isinstance(ref, str) else str(error)


# -- the static check ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RefProblem:
    """A ``$ref`` (at ``path`` inside its schema, ending with the keyword) that leaves the
    document (``external``) or points nowhere inside it (``unresolved``)."""

    path: JsonPath
    ref: str
    kind: Literal["external", "unresolved"]


def ref_problems(schema: Any) -> list[RefProblem]:
    """Every reference of ``schema`` that would not resolve under this module's rules.

    Never raises: a malformed schema gives what can be told about its references.
    """
    if not isinstance(schema, dict):
        return []
    try:
        return list(_problems(schema))
    except RecursionError:  # nesting deeper than _MAX_DEPTH is cut off before this
        return []


def _problems(schema: dict[str, Any]) -> Iterator[RefProblem]:
    from referencing.jsonschema import DRAFT202012, specification_with

    declared = schema.get("$schema")
    specification = (
        specification_with(declared, default=DRAFT202012)
        if isinstance(declared, str)
        else DRAFT202012
    )
    root_id = schema.get("$id") if isinstance(schema.get("$id"), str) else None
    base = _join("", root_id)
    references = list(_references(schema, (), base, 0))
    local = {"", urldefrag(base).url} | {
        urldefrag(_join(where, identifier)).url for where, identifier in _identifiers(references)
    }
    registered = set(registered_schema_uris())
    registry = None
    for path, ref, ref_base, _identifier in references:
        if ref is None:
            continue
        try:
            target = urldefrag(urljoin(ref_base, ref)).url  # the document the ref names
        except ValueError:  # not a URI reference at all
            yield RefProblem(path, ref, "external")
            continue
        if target not in local and target not in registered:
            yield RefProblem(path, ref, "external")
            continue
        pointer_into_root = (ref.startswith("#/") or ref == "#") and target in (
            "",
            urldefrag(base).url,
        )
        if pointer_into_root and _pointer_exists(schema, ref[1:]):
            continue
        if registry is None:  # anchors, $id-identified subschemas, registered schemas
            resource = specification.create_resource(schema)
            registry = schema_registry().with_resource(urldefrag(base).url, resource)
        if not _resolves(registry, ref_base, ref):
            yield RefProblem(path, ref, "unresolved")


def _references(
    node: Any, path: JsonPath, base: str, depth: int
) -> Iterator[tuple[JsonPath, str | None, str, str | None]]:
    """(path of the keyword, reference or None, base URI there, ``$id`` declared there) for
    every schema object under ``node``, which is a schema."""
    if depth > _MAX_DEPTH:
        return
    if isinstance(node, list):  # items in the tuple form, allOf, anyOf, oneOf
        for index, item in enumerate(node):
            yield from _references(item, (*path, index), base, depth + 1)
        return
    if not isinstance(node, dict):
        return
    identifier = node.get("$id") if isinstance(node.get("$id"), str) else None
    here = _join(base, identifier)
    yield path, None, base, identifier
    for keyword in _REFERENCE_KEYWORDS:
        if isinstance(node.get(keyword), str):
            yield (*path, keyword), node[keyword], here, None
    for key, value in node.items():
        if key in _DATA_KEYWORDS or key in _REFERENCE_KEYWORDS:
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            for name, subschema in value.items():
                yield from _references(subschema, (*path, key, name), here, depth + 1)
        else:
            yield from _references(value, (*path, key), here, depth + 1)


def _identifiers(
    references: list[tuple[JsonPath, str | None, str, str | None]],
) -> Iterator[tuple[str, str]]:
    for _path, ref, base, identifier in references:
        if ref is None and identifier is not None:
            yield base, identifier


def _join(base: str, identifier: str | None) -> str:
    if identifier is None:
        return base
    try:
        return urljoin(base, identifier)
    except ValueError:
        return base


def _pointer_exists(document: Any, pointer: str) -> bool:
    from urllib.parse import unquote

    current = document
    for raw in pointer.split("/")[1:]:
        part = unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return False
    return True


def _resolves(registry: Registry[Any], base: str, ref: str) -> bool:
    try:
        registry.resolver(base_uri=base).lookup(ref)
    except Exception:  # Unresolvable, or a malformed schema the crawl cannot read
        return False
    return True
