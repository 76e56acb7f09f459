"""One codec for the core's records, read off their field lists.

Every record here is a NamedTuple whose annotations say what each field holds. From them come:

- ``encode(record)``: a JSON-ready dict of the fields that differ from their defaults (Decimals as exact
  strings, times in ISO 8601, enums as their values), which the journal and the paper ledger store;
- ``decode(cls, data)``: the record back, missing fields taking their defaults and unknown ones ignored, so a
  journal written before a field existed still reads;
- ``specs(cls)``: each field's kind, from which :mod:`ntlab.tabular` builds every DataFrame column.

So a field added to a record (with a default) reaches the journal, the ledger and the frames with no other
edit.
"""

from __future__ import annotations

import enum
import functools
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

R = TypeVar("R", bound=tuple[Any, ...])

T = TypeVar("T")


def _per_class(build: Callable[[type[Any]], T]) -> Callable[[type[Any]], T]:
    """Compute once per record class (the field list of a class never changes)."""
    done: dict[type[Any], T] = {}

    def cached(cls: type[Any]) -> T:
        found = done.get(cls)
        if found is None:
            found = done[cls] = build(cls)
        return found

    return functools.wraps(build)(cached)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class Kind(enum.Enum):
    """What a field holds, which decides how it is stored and shown."""

    TEXT = "text"
    DECIMAL = "decimal"
    TIME = "time"
    ENUM = "enum"
    BOOL = "bool"
    INT = "int"
    RECORD = "record"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of a record: its name, position, kind and default (``enum``/``record``: the class)."""

    name: str
    index: int
    kind: Kind
    optional: bool
    default: Any
    required: bool
    type: type | None = None


def _classify(annotation: Any) -> tuple[Kind, bool, type | None]:
    optional = False
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        if len(args) != 1:
            raise TypeError(f"field type {annotation!r} is not one of the codec's kinds")
        annotation = args[0]
    if annotation is str:
        return Kind.TEXT, optional, None
    if annotation is Decimal:
        return Kind.DECIMAL, optional, None
    if annotation is datetime:
        return Kind.TIME, optional, None
    if annotation is bool:
        return Kind.BOOL, optional, None
    if annotation is int:
        return Kind.INT, optional, None
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return Kind.ENUM, optional, annotation
    if isinstance(annotation, type) and issubclass(annotation, tuple) and hasattr(annotation, "_fields"):
        return Kind.RECORD, optional, annotation
    raise TypeError(f"field type {annotation!r} is not one of the codec's kinds")


@_per_class
def specs(cls: type[Any]) -> tuple[FieldSpec, ...]:
    """The record class's fields in order, with their kinds."""
    hints = typing.get_type_hints(cls)
    defaults = cls._field_defaults
    out = []
    for index, name in enumerate(cls._fields):
        kind, optional, klass = _classify(hints[name])
        out.append(FieldSpec(name, index, kind, optional, defaults.get(name), name not in defaults, klass))
    return tuple(out)


def kinds(cls: type[Any]) -> dict[str, FieldSpec]:
    return {spec.name: spec for spec in specs(cls)}


# --- to and from JSON ---------------------------------------------------------------------------------------

_REQUIRED = object()  # the "default" of a field without one: never identical to a value


def _compile(name: str, source: str, scope: dict[str, Any]) -> Callable[..., Any]:
    """A function generated from a record's field list (as dataclasses generate ``__init__``): the same
    field list, without a Python loop over the fields on every call."""
    exec(compile(source, f"<ntlab.core.fields {name}>", "exec"), scope)
    function: Callable[..., Any] = scope[name]
    return function


def encoder(cls: type[Any], *, omit: tuple[str, ...] = ()) -> Callable[[Any], dict[str, Any]]:
    """A function giving a ``cls`` record as a dict for the journal's JSON encoder, leaving out the fields
    named in ``omit`` and every field that holds its default (by identity: a default is shared).

    Decimals become their exact strings here; other values stay as they are (orjson writes enums as their
    values and times in ISO 8601), which keeps this cheap enough for every order event.
    """
    scope: dict[str, Any] = {}
    every = specs(cls)
    lines = ["def encode(r):", f"    {', '.join(f'v{spec.index}' for spec in every)}, = r", "    d = {}"]
    for spec in every:
        if spec.name in omit:
            continue
        value = f"v{spec.index}"
        if spec.kind is Kind.RECORD:
            scope[f"encode_{spec.name}"] = encoder(spec.type)  # type: ignore[arg-type]
            value = f"encode_{spec.name}({value})"
        elif spec.kind is Kind.DECIMAL:
            value = f"str({value})"
        if spec.required:
            lines.append(f"    d[{spec.name!r}] = {value}")
        else:
            scope[f"default_{spec.name}"] = spec.default
            lines.append(f"    if v{spec.index} is not default_{spec.name}: d[{spec.name!r}] = {value}")
    lines.append("    return d")
    return _compile("encode", "\n".join(lines), scope)


def encode(record: Any) -> dict[str, Any]:
    """The record as a dict for the journal's JSON encoder; fields holding their default are left out."""
    return _encoders(type(record))(record)


_encoders = _per_class(encoder)


def replacer(cls: type[R], *names: str) -> Callable[..., R]:
    """A function ``(record, value, ...)`` giving a copy of a ``cls`` record with the fields ``names`` set to
    the values, in that order: NamedTuple's own ``_replace`` with keywords, without its cost per field."""
    index = {spec.name: spec.index for spec in specs(cls)}
    unknown = [n for n in names if n not in index]
    if unknown:
        raise TypeError(f"{cls.__name__} has no field {unknown[0]!r}")
    params = ", ".join(f"v{i}" for i in range(len(names)))
    # a list copy set in place: a NamedTuple's items read one by one cost a generic lookup each
    sets = "; ".join(f"t[{index[name]}] = v{position}" for position, name in enumerate(names))
    source = f"def replace(r, {params}):\n    t = list(r); {sets}\n    return new(cls, t)"
    return _compile("replace", source, {"new": tuple.__new__, "cls": cls})


def builder(cls: type[R], taken: tuple[str, ...], *names: str) -> Callable[..., R]:
    """A function ``(source, value, ...)`` building a ``cls`` record: the fields in ``taken`` read from the
    mapping ``source`` (another record's ``__dict__``, a request's), the fields ``names`` from the values in
    that order, every other field its default. Positional, as the record is built once per order."""
    index = {spec.name: spec for spec in specs(cls)}
    unknown = [n for n in (*taken, *names) if n not in index]
    if unknown:
        raise TypeError(f"{cls.__name__} has no field {unknown[0]!r}")
    scope: dict[str, Any] = {"new": tuple.__new__, "cls": cls}
    slots = []
    for spec in specs(cls):
        if spec.name in names:
            slots.append(f"v{names.index(spec.name)}")
        elif spec.name in taken:
            slots.append(f"source[{spec.name!r}]")
        elif spec.required:
            raise TypeError(f"{cls.__name__}.{spec.name} has no default: take it or pass it")
        else:
            scope[f"default_{spec.name}"] = spec.default
            slots.append(f"default_{spec.name}")
    params = ", ".join(f"v{i}" for i in range(len(names)))
    source = f"def build(source, {params}):\n    return new(cls, ({', '.join(slots)},))"
    return _compile("build", source, scope)


def packer(cls: type[Any]) -> Callable[..., tuple[Any, ...]]:
    """A function ``(record, *extra)`` giving a ``cls`` record as an exact tuple of its values, enums as
    their values, followed by the ``extra`` values (plain ones too).

    CPython's collector stops tracking an exact tuple that holds only strings, numbers, Decimals, datetimes
    and None, so records kept packed cost its full collections nothing; a NamedTuple (a tuple subclass) is
    walked at every one. :func:`unpacker` gives the record back.
    """
    names, values = [], []
    for spec in specs(cls):
        if spec.kind is Kind.RECORD:
            raise TypeError(f"{cls.__name__}.{spec.name} holds a record: packed records hold plain values")
        name = f"v{spec.index}"
        names.append(name)
        if spec.kind is Kind.ENUM:
            name = f"(None if {name} is None else {name}._value_)" if spec.optional else f"{name}._value_"
        values.append(name)
    lines = [  # unpacked at once (a NamedTuple's items read one by one cost a generic lookup each)
        "def pack(r, *extra):",
        f"    {', '.join(names)}, = r",
        f"    t = ({', '.join(values)},)",
        "    return t + extra if extra else t",
    ]
    return _compile("pack", "\n".join(lines), {})


def unpacker(cls: type[R]) -> Callable[[tuple[Any, ...]], R]:
    """The inverse of :func:`packer`: the record from the first fields of a packed tuple (it may go on
    with values of the caller's own)."""
    scope: dict[str, Any] = {"new": tuple.__new__, "cls": cls}
    slots = []
    for spec in specs(cls):
        value = f"t[{spec.index}]"
        if spec.kind is Kind.ENUM:
            assert spec.type is not None
            scope[f"enum_{spec.name}"] = spec.type._value2member_map_  # type: ignore[attr-defined]
            member = f"enum_{spec.name}[{value}]"
            value = f"(None if {value} is None else {member})" if spec.optional else member
        slots.append(value)
    return _compile("unpack", f"def unpack(t):\n    return new(cls, ({', '.join(slots)},))", scope)


def decoder(cls: type[R]) -> Callable[[Mapping[str, Any]], R]:
    """A function giving the ``cls`` record from :func:`encode`'s dict (after a JSON round trip): the inverse
    of :func:`encoder`, generated from the same field list, so replaying a long journal stays cheap."""
    scope: dict[str, Any] = {"new": tuple.__new__, "cls": cls, "REQUIRED": _REQUIRED}
    scope.update(Decimal=Decimal, fromisoformat=datetime.fromisoformat, missing=_missing(cls))
    lines = ["def decode(d):", "    get = d.get"]
    for spec in specs(cls):
        i, value = spec.index, f"v{spec.index}"
        if spec.required:
            lines += [
                f"    {value} = get({spec.name!r}, REQUIRED)",
                f"    if {value} is REQUIRED: missing({spec.name!r})",
            ]
            keep = f"{value} is not None"
        else:
            scope[f"default_{i}"] = spec.default
            lines.append(f"    {value} = get({spec.name!r}, default_{i})")
            keep = f"{value} is not None and {value} is not default_{i}"
        if spec.kind is Kind.DECIMAL:
            convert = f"Decimal({value})"
        elif spec.kind is Kind.TIME:
            convert = f"fromisoformat({value})"
        elif spec.kind is Kind.ENUM:
            assert spec.type is not None
            scope[f"enum_{i}"], scope[f"members_{i}"] = spec.type, spec.type._value2member_map_  # type: ignore[attr-defined]
            convert = f"members_{i}[{value}] if {value} in members_{i} else enum_{i}({value})"
        elif spec.kind is Kind.RECORD:
            scope[f"decode_{i}"] = _decoders(spec.type)  # type: ignore[arg-type]
            convert = f"decode_{i}({value})"
        else:
            continue
        lines.append(f"    if {keep}: {value} = {convert}")
    lines.append(f"    return new(cls, ({', '.join(f'v{spec.index}' for spec in specs(cls))},))")
    return _compile("decode", "\n".join(lines), scope)


def _missing(cls: type[Any]) -> Callable[[str], None]:
    def missing(name: str) -> None:
        raise KeyError(f"a {cls.__name__} record needs {name!r}")

    return missing


_decoders = _per_class(decoder)


def decode(cls: type[R], data: Mapping[str, Any]) -> R:
    """The record from :func:`encode`'s dict (after a JSON round trip). Missing fields take their defaults;
    unknown ones are ignored, so records written before a field existed still read."""
    return typing.cast(R, _decoders(cls)(data))


# --- times as the tables keep them -----------------------------------------------------------------------------


def time_ns(value: datetime) -> int:
    """A datetime as integer nanoseconds since the epoch (naive times are UTC), exact to the microsecond."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - _EPOCH) // _MICROSECOND * 1000
