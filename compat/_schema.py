"""Tool schemas: JSON Schema (draft 2020-12) -> what Gemini accepts.

Operations
    clean_schema(json_schema, mode="parameters")
        -> a Gemini `Schema` (docs/reference/gemini.md#schema): upper-case single `type`,
           `nullable`, string-only `enum`, the formats Gemini allows, no `$ref`, no unknown
           keywords.
    clean_schema(json_schema, mode="parametersJsonSchema")
        -> a JSON Schema restricted to the subset `responseJsonSchema` documents
           (`$defs`/`$ref` kept, a `$ref` never has non-`$` siblings).

Goals
    Cleaning only relaxes: an instance valid under the input stays valid under the output.
    The one deliberate exception: an untyped schema with `properties` (`items`) is read as
    OBJECT (ARRAY), which is what every tool author means and what Gemini needs.
    Never raises on any JSON value (garbage in -> the most permissive schema), never
    mutates its input, and cleaning a cleaned schema changes nothing.

Plan (mode "parameters")
    One walk over the input builds the output. Each node yields one of three shapes:
    unconstrained (annotations only), typed (`type` plus the keywords of that type), or a
    disjunction (`anyOf` plus annotations). `$ref` is inlined by JSON pointer; a ref that
    recurs beyond `_MAX_REF_REPEAT` levels, or past the expansion budget, becomes
    unconstrained. Conjunctions (`allOf`, `$ref` siblings, `anyOf` beside `type`) are
    merged by `_conjoin`, which keeps a superset of the intersection when exactness would
    need a keyword Gemini lacks.
"""

from __future__ import annotations

import math
from typing import Any, Literal
from urllib.parse import unquote

from compat._nesting import fits

__all__ = ["clean_schema"]

Schema = dict[str, Any]

# Output nesting levels; deeper sub-schemas become unconstrained. Protobuf's JSON parser stops
# at 100 nested messages and each level costs two (a Schema and its map entry).
_MAX_DEPTH = 32
_MAX_REF_REPEAT = 2  # how many times one $ref may be open in a single expansion chain
_MAX_REF_EXPANSIONS = 256  # total $ref inlinings per call (guards exponential fan-out)
_MAX_OPEN_REFS = 24  # refs being expanded at once (bounds the Python stack)
_MAX_BRANCHES = 16  # anyOf branches produced when distributing a conjunction

_TYPE_NAMES = {
    "string": "STRING",
    "number": "NUMBER",
    "integer": "INTEGER",
    "boolean": "BOOLEAN",
    "array": "ARRAY",
    "object": "OBJECT",
    "null": "NULL",
}
_FORMATS = {
    "STRING": frozenset({"enum", "date-time"}),
    "NUMBER": frozenset({"float", "double"}),
    "INTEGER": frozenset({"int32", "int64"}),
}
_ANNOTATIONS = ("title", "description", "default")
_TYPE_ORDER = ("OBJECT", "ARRAY", "STRING", "NUMBER", "INTEGER", "BOOLEAN")


def clean_schema(
    json_schema: object,
    *,
    mode: Literal["parameters", "parametersJsonSchema"] = "parameters",
) -> dict[str, Any]:
    """Convert a tool's JSON Schema into a schema Gemini accepts (see the module docstring).

    `mode="parameters"` gives a Gemini `Schema` for `FunctionDeclaration.parameters`;
    `mode="parametersJsonSchema"` gives the JSON-Schema subset for `parametersJsonSchema`.
    """
    if mode == "parameters":
        return _GeminiSchemaBuilder(json_schema).build(json_schema, 0)
    if mode == "parametersJsonSchema":
        return _JsonSchemaSubsetBuilder(json_schema).build(json_schema, 0)
    raise ValueError(f"unknown clean_schema mode {mode!r}")


# ---------------------------------------------------------------------------------------
# Reading JSON Schema values


def _resolve_pointer(root: object, ref: str) -> object | None:
    """The sub-schema a same-document `$ref` ("#", "#/$defs/x") points at, else None."""
    if ref == "#":
        return root
    if not ref.startswith("#/"):
        return None  # remote refs, $anchor and $id-relative refs are not followed
    node = root
    for raw in ref[2:].split("/"):
        token = unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict):
            if token not in node:
                return None
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return None
    return node


def _type_names(node: Schema) -> tuple[set[str] | None, bool]:
    """(Gemini type names allowed, or None for any; whether null is allowed)."""
    declared = node.get("type")
    if isinstance(declared, str):
        single = _TYPE_NAMES.get(declared) or _TYPE_NAMES.get(declared.lower())
        if single is not None and single != "NULL":
            return {single}, False  # the common case, without building sets twice
        declared = [declared]
    if not isinstance(declared, list):
        return None, False
    names = {_TYPE_NAMES.get(item.lower()) for item in declared if isinstance(item, str)}
    names.discard(None)
    allows_null = "NULL" in names
    names.discard("NULL")
    if not names:
        # Only null (or nothing usable): no keyword can express it; stay unconstrained.
        return None, True
    return {name for name in names if name is not None}, allows_null


def _typed_like(sub_schema: object, parent: Schema) -> object:
    """`sub_schema` with the parent's declared `type` when it has none of its own.

    Exact, since the parent requires that type anyway; it lets `{"type": "string",
    "anyOf": [{"format": ...}, {"enum": [...]}]}` keep its branches' keywords.
    """
    if (
        isinstance(sub_schema, dict)
        and "type" not in sub_schema
        and "type" in parent
        and not _is_null_only(sub_schema)
    ):
        return {**sub_schema, "type": parent["type"]}
    return sub_schema


def _is_null_only(node: object) -> bool:
    """True for `{"type": "null"}` and its spellings (an `anyOf` branch meaning "or null")."""
    if not isinstance(node, dict):
        return False
    declared = node.get("type")
    if isinstance(declared, list) and len(declared) == 1:
        declared = declared[0]
    if isinstance(declared, str) and declared.lower() == "null":
        return True
    return ("const" in node and node["const"] is None) or node.get("enum") == [None]


def _number(value: object) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value if math.isfinite(value) else None


def _count(value: object) -> int | None:
    """A non-negative integer keyword value (minItems, maxLength, ...), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) and value >= 0 else None


def _lower_bound(node: Schema) -> float | int | None:
    bounds = [_number(node.get("minimum")), _number(node.get("exclusiveMinimum"))]
    present = [bound for bound in bounds if bound is not None]
    return max(present) if present else None


def _upper_bound(node: Schema) -> float | int | None:
    bounds = [_number(node.get("maximum")), _number(node.get("exclusiveMaximum"))]
    present = [bound for bound in bounds if bound is not None]
    return min(present) if present else None


def _annotations(node: Schema) -> Schema:
    out: Schema = {}
    for key in ("title", "description"):
        if isinstance(node.get(key), str):
            out[key] = node[key]
    if "default" in node and fits(node["default"], _MAX_DEPTH):  # else the output nests too deep
        out["default"] = node["default"]
    return out


def _enum_values(node: Schema) -> list[object] | None:
    if "const" in node:
        return [node["const"]]
    values = node.get("enum")
    return values if isinstance(values, list) else None


def _unique_strings(values: list[Any]) -> list[str]:
    return list(dict.fromkeys(value for value in values if isinstance(value, str)))


# ---------------------------------------------------------------------------------------
# mode="parameters": the Gemini Schema


def _is_unconstrained(schema: Schema) -> bool:
    return "type" not in schema and "anyOf" not in schema


def _expressible(typed: Schema) -> bool:
    """Whether Gemini accepts this typed schema as it is.

    Gemini refuses an OBJECT without properties ("should be non-empty for OBJECT type") and an
    ARRAY whose `items` has no `type`. A free-form object (only `additionalProperties`) or an
    array of a union therefore becomes an unconstrained schema: relaxed, never stricter.
    """
    if typed["type"] == "OBJECT":
        return bool(typed.get("properties"))
    if typed["type"] == "ARRAY":
        items = typed.get("items")
        return isinstance(items, dict) and "type" in items
    return True


def _accepts_null(schema: Schema) -> bool:
    if _is_unconstrained(schema) or schema.get("nullable") is True:
        return True
    return any(_accepts_null(branch) for branch in schema.get("anyOf", ()))


def _with_null(schema: Schema) -> Schema:
    if _is_unconstrained(schema) or schema.get("nullable") is True:
        return schema
    return {**schema, "nullable": True}


class _GeminiSchemaBuilder:
    """One clean_schema call in mode "parameters": holds the root for `$ref` lookups."""

    def __init__(self, root: object) -> None:
        self.root = root
        self.open_refs: list[str] = []
        self.expansions = 0

    def build(self, node: object, depth: int) -> Schema:
        if not isinstance(node, dict) or depth > _MAX_DEPTH:
            return {}
        ref = node.get("$ref")
        if isinstance(ref, str):
            target = self._expand(ref, depth)
            if "type" in target and "type" not in node:
                # Siblings such as maxLength need the type the target gives them.
                node = {**node, "type": target["type"]}
            own = _conjoin(self._own(node, depth), target)
        else:
            own = self._own(node, depth)
        parts = node.get("allOf")
        for part in parts if isinstance(parts, list) else ():
            own = _conjoin(own, self.build(_typed_like(part, node), depth + 1))
        branches = node.get("anyOf", node.get("oneOf"))  # oneOf relaxes to anyOf
        if isinstance(branches, list) and branches:
            branches = [_typed_like(branch, node) for branch in branches]
            own = _conjoin(own, self._disjunction(branches, depth))
        # `nullable` (Gemini, OpenAPI 3.0) means "or null", whatever else the node says.
        return _with_null(own) if node.get("nullable") is True else own

    def _expand(self, ref: str, depth: int) -> Schema:
        target = _resolve_pointer(self.root, ref)
        if (
            target is None
            or len(self.open_refs) >= _MAX_OPEN_REFS
            or self.open_refs.count(ref) >= _MAX_REF_REPEAT
            or self.expansions >= _MAX_REF_EXPANSIONS
        ):
            return {}
        self.expansions += 1
        self.open_refs.append(ref)
        try:
            return self.build(target, depth)
        finally:
            self.open_refs.pop()

    def _disjunction(self, branches: list[Any], depth: int) -> Schema:
        or_null = any(_is_null_only(branch) for branch in branches)
        cleaned = [self.build(b, depth + 1) for b in branches if not _is_null_only(b)]
        if not cleaned or any(_is_unconstrained(branch) for branch in cleaned):
            return {}
        if len(cleaned) == 1:
            only = cleaned[0]
            return _with_null(only) if or_null else only
        literals = _merged_string_literals(cleaned)
        disjunction: Schema = {"anyOf": cleaned} if literals is None else literals
        return _with_null(disjunction) if or_null else disjunction

    def _own(self, node: Schema, depth: int) -> Schema:
        """The schema of the node's own keywords (no $ref, allOf, anyOf, oneOf)."""
        out = _annotations(node)
        names, allows_null = _type_names(node)
        values = _enum_values(node)
        enum: list[str] | None = None
        if values is not None:
            names, enum = _narrow_by_enum(names, values)
            allows_null = allows_null or None in values
        if names is None:
            names = _inferred_type(node)
        if not names:
            return out
        if "INTEGER" in names and "NUMBER" in names:
            names.discard("INTEGER")
        typed = [self._typed(name, node, enum, depth) for name in _TYPE_ORDER if name in names]
        if any(_is_unconstrained(branch) for branch in typed):
            return out  # one branch accepts anything, so the whole node does
        if len(typed) == 1:
            out.update(typed[0])
        else:
            out["anyOf"] = typed
        return _with_null(out) if allows_null else out

    def _typed(self, name: str, node: Schema, enum: list[str] | None, depth: int) -> Schema:
        out: Schema = {"type": name}
        fmt = node.get("format")
        if isinstance(fmt, str) and fmt in _FORMATS.get(name, ()):
            out["format"] = fmt
        if name == "STRING":
            if enum:
                out["enum"] = enum
            _copy_counts(node, out, ("minLength", "maxLength"))
        elif name in ("NUMBER", "INTEGER"):
            lower, upper = _lower_bound(node), _upper_bound(node)
            if lower is not None:
                out["minimum"] = lower
            if upper is not None:
                out["maximum"] = upper
        elif name == "ARRAY":
            items = node.get("items")
            if isinstance(items, dict) and "prefixItems" not in node:
                cleaned = self.build(items, depth + 1)
                if cleaned:
                    out["items"] = cleaned
            _copy_counts(node, out, ("minItems", "maxItems"))
        elif name == "OBJECT":
            self._object_keywords(node, out, depth)
        return out if _expressible(out) else {}

    def _object_keywords(self, node: Schema, out: Schema, depth: int) -> None:
        declared = node.get("properties")
        if isinstance(declared, dict) and declared:
            properties = {key: self.build(value, depth + 1) for key, value in declared.items()}
            out["properties"] = properties
            required = node.get("required")
            if isinstance(required, list):
                names = [name for name in _unique_strings(required) if name in properties]
                if names:
                    out["required"] = names
            ordering = node.get("propertyOrdering")
            if isinstance(ordering, list):
                ordered = [name for name in _unique_strings(ordering) if name in properties]
                if ordered:
                    out["propertyOrdering"] = ordered
        _copy_counts(node, out, ("minProperties", "maxProperties"))


def _merged_string_literals(branches: list[Schema]) -> Schema | None:
    """`anyOf` of plain string enums (a union of literals) as one STRING enum, else None."""
    values: list[str] = []
    for branch in branches:
        if branch.keys() != {"type", "enum"} or branch["type"] != "STRING":
            return None
        values.extend(branch["enum"])
    return {"type": "STRING", "enum": list(dict.fromkeys(values))}


def _narrow_by_enum(
    names: set[str] | None, values: list[object]
) -> tuple[set[str] | None, list[str] | None]:
    """Types and string enum implied by `enum`/`const` values.

    Gemini takes `enum` only on STRING with string values, so it is kept only when every
    non-null value is a string; otherwise it is dropped (relaxing) and, for an untyped
    schema, the values' own JSON types become the types.
    """
    present = [value for value in values if value is not None]
    if not present:
        return names, None
    if all(isinstance(value, str) for value in present):
        if names is None or "STRING" in names:
            return {"STRING"}, _unique_strings(present)
        return names, None
    if names is not None:
        return names, None
    return {_json_type(value) for value in present}, None


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int):
        return "INTEGER"
    if isinstance(value, float):
        return "NUMBER"
    if isinstance(value, str):
        return "STRING"
    if isinstance(value, list):
        return "ARRAY"
    return "OBJECT"


def _inferred_type(node: Schema) -> set[str] | None:
    if isinstance(node.get("properties"), dict):
        return {"OBJECT"}
    if isinstance(node.get("items"), dict):
        return {"ARRAY"}
    return None


def _copy_counts(node: Schema, out: Schema, keys: tuple[str, str]) -> None:
    for key in keys:
        value = _count(node.get(key))
        if value is not None:
            out[key] = value


# Merging two cleaned schemas (a conjunction). The result accepts every instance both
# accept; where Gemini cannot say "and" exactly it keeps the looser of the two.


def _conjoin(a: Schema, b: Schema) -> Schema:
    if _is_unconstrained(b):
        return {**b, **a}  # b only brings annotations; a's win
    if _is_unconstrained(a):
        return {**b, **a} if a else b
    both_null = _accepts_null(a) and _accepts_null(b)
    annotations = {key: a[key] for key in _ANNOTATIONS if key in a}
    for key in _ANNOTATIONS:
        if key in b and key not in annotations:
            annotations[key] = b[key]
    disjunctive = "anyOf" in a or "anyOf" in b
    merged = _conjoin_disjunctions(a, b) if disjunctive else _conjoin_typed(a, b)
    merged.update(annotations)
    if both_null:
        merged = _with_null(merged)
    return merged


def _core(schema: Schema) -> Schema:
    """The constraint part of a schema: without annotations or `nullable`."""
    return {k: v for k, v in schema.items() if k not in _ANNOTATIONS and k != "nullable"}


def _branches(schema: Schema) -> list[Schema]:
    return list(schema["anyOf"]) if "anyOf" in schema else [_core(schema)]


def _conjoin_disjunctions(a: Schema, b: Schema) -> Schema:
    pairs = [(x, y) for x in _branches(a) for y in _branches(b)]
    if len(pairs) > _MAX_BRANCHES:
        return {"anyOf": _branches(a)} if "anyOf" in a else _core(a)
    branches = [_conjoin(x, y) for x, y in pairs]
    return {"anyOf": branches} if len(branches) > 1 else _core(branches[0])


def _conjoin_typed(a: Schema, b: Schema) -> Schema:
    kind_a, kind_b = a["type"], b["type"]
    if kind_a != kind_b:
        if {kind_a, kind_b} != {"INTEGER", "NUMBER"}:
            return _core(a)  # contradictory: nothing but maybe null satisfies both
        out: Schema = {"type": "INTEGER"}
        for source in (a, b):
            if source.get("format") in _FORMATS["INTEGER"]:
                out["format"] = source["format"]
    else:
        out = {"type": kind_a}
        if "format" in a or "format" in b:
            out["format"] = a.get("format", b.get("format"))
    _tighter(a, b, out, "minimum", max)
    _tighter(a, b, out, "maximum", min)
    for key in ("minLength", "minItems", "minProperties"):
        _tighter(a, b, out, key, max)
    for key in ("maxLength", "maxItems", "maxProperties"):
        _tighter(a, b, out, key, min)
    if "enum" in a and "enum" in b:
        common = [value for value in a["enum"] if value in b["enum"]]
        if common:
            out["enum"] = common
    elif "enum" in a or "enum" in b:
        out["enum"] = a.get("enum", b.get("enum"))
    if "items" in a and "items" in b:
        out["items"] = _conjoin(a["items"], b["items"])
    elif "items" in a or "items" in b:
        out["items"] = a.get("items", b.get("items"))
    if "properties" in a or "properties" in b:
        _conjoin_properties(a, b, out)
    return out


def _tighter(a: Schema, b: Schema, out: Schema, key: str, pick: Any) -> None:
    if key in a and key in b:
        out[key] = pick(a[key], b[key])
    elif key in a or key in b:
        out[key] = a.get(key, b.get(key))


def _conjoin_properties(a: Schema, b: Schema, out: Schema) -> None:
    properties = dict(a.get("properties", {}))
    for name, schema in b.get("properties", {}).items():
        properties[name] = _conjoin(properties[name], schema) if name in properties else schema
    out["properties"] = properties
    required = list(dict.fromkeys([*a.get("required", ()), *b.get("required", ())]))
    if required:
        out["required"] = required


# ---------------------------------------------------------------------------------------
# mode="parametersJsonSchema": the documented JSON Schema subset

_JSON_TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object", "null"})
_JSON_FORMATS = frozenset({"date-time", "date", "time", "int32", "int64", "float", "double"})
# Keywords a kept `$ref` may point through, and what the next pointer token is.
_POINTER_NEXT = {
    "$defs": "name",
    "definitions": "name",
    "properties": "name",
    "items": "keyword",
    "prefixItems": "index",
    "anyOf": "index",
    "oneOf": "index",
}
_KEPT_CONTAINERS = frozenset(_POINTER_NEXT)


class _JsonSchemaSubsetBuilder:
    """One clean_schema call in mode "parametersJsonSchema"."""

    def __init__(self, root: object) -> None:
        self.root = root

    def build(self, node: object, depth: int) -> Schema:
        if not isinstance(node, dict) or depth > _MAX_DEPTH:
            return {}
        out = self._own(node, depth)
        conjuncts: list[Schema] = []
        ref = node.get("$ref")
        if isinstance(ref, str):
            kept = self._kept_ref(ref)
            if kept is not None:
                conjuncts.append({"$ref": kept})
        all_of = node.get("allOf")
        if isinstance(all_of, list):
            conjuncts.extend(self.build(part, depth + 1) for part in all_of)
        for part in conjuncts:
            out = _conjoin_json(out, part)
        return out

    def _kept_ref(self, ref: str) -> str | None:
        """The ref as it reads in the output, if its target survives cleaning unmoved."""
        if ref != "#" and not ref.startswith("#/"):
            return None
        tokens = ref[2:].split("/") if ref != "#" else []
        expect = "keyword"
        for index, token in enumerate(tokens):
            if expect == "index" and not token.isdigit():
                return None
            if expect != "keyword":
                expect = "keyword"
                continue
            if token not in _KEPT_CONTAINERS:
                return None
            if token == "definitions":
                tokens[index] = "$defs"
            expect = _POINTER_NEXT[token]
        if _resolve_pointer(self.root, ref) is None:
            return None
        return "#/" + "/".join(tokens) if tokens else "#"

    def _own(self, node: Schema, depth: int) -> Schema:
        out: Schema = {}
        for key in ("title", "description"):
            if isinstance(node.get(key), str):
                out[key] = node[key]
        declared = node.get("type")
        if isinstance(declared, str) and declared.lower() in _JSON_TYPES:
            out["type"] = declared.lower()
        elif isinstance(declared, list):
            names = [n.lower() for n in declared if isinstance(n, str) and n.lower() in _JSON_TYPES]
            if names and len(names) == len(declared):
                out["type"] = list(dict.fromkeys(names))
        if node.get("nullable") is True and "type" in out:
            current = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = list(dict.fromkeys([*current, "null"]))
        fmt = node.get("format")
        if isinstance(fmt, str) and fmt in _JSON_FORMATS:
            out["format"] = fmt
        values = _enum_values(node)
        if values and all(_is_enum_scalar(value) for value in values):
            out["enum"] = list(values)
        lower, upper = _lower_bound(node), _upper_bound(node)
        if lower is not None:
            out["minimum"] = lower
        if upper is not None:
            out["maximum"] = upper
        _copy_counts(node, out, ("minItems", "maxItems"))
        self._children(node, out, depth)
        return out

    def _children(self, node: Schema, out: Schema, depth: int) -> None:
        for key in ("$defs", "definitions", "properties"):
            declared = node.get(key)
            if isinstance(declared, dict) and declared:
                target = out.setdefault("$defs" if key == "definitions" else key, {})
                for name, value in declared.items():
                    target[name] = self.build(value, depth + 1)
        if isinstance(out.get("properties"), dict) and isinstance(node.get("required"), list):
            names = [n for n in _unique_strings(node["required"]) if n in out["properties"]]
            if names:
                out["required"] = names
        items = node.get("items")
        if isinstance(items, dict | bool):
            out["items"] = self.build(items, depth + 1) if isinstance(items, dict) else items
        prefix = node.get("prefixItems")
        if isinstance(prefix, list) and prefix:
            out["prefixItems"] = [self.build(item, depth + 1) for item in prefix]
        extra = node.get("additionalProperties")
        if isinstance(extra, bool):
            out["additionalProperties"] = extra
        elif isinstance(extra, dict):
            out["additionalProperties"] = self.build(extra, depth + 1)
        for key in ("anyOf", "oneOf"):
            branches = node.get(key)
            if isinstance(branches, list) and branches:
                out[key] = [self.build(branch, depth + 1) for branch in branches]


def _is_enum_scalar(value: object) -> bool:
    return isinstance(value, str) or _number(value) is not None


def _conjoin_json(a: Schema, b: Schema) -> Schema:
    """a AND b in the subset: a one-branch `anyOf`/`oneOf` is exactly its branch."""
    if not a:
        return b
    if "$ref" in a:
        a = {"anyOf": [a]}
    if "anyOf" not in a:
        return {**a, "anyOf": [b]}
    if "oneOf" not in a:
        return {**a, "oneOf": [b]}
    return {"anyOf": [a], "oneOf": [b]}
