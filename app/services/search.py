"""Search a model's items by name and metadata: the query language of GET .../search.

A query is terms separated by spaces, all of which an item must meet (AND)::

    digit=3                 text field: equal, ignoring case   (!= : not equal)
    scale>0.5 scale<=0.8    number field: > < >= <= = !=
    tom                     a bare word: the item's name contains it, ignoring case
    colour="dark red"       double quotes keep spaces inside a value (or a bare phrase)

The fields are the index's metadata columns (float64 ones are numbers, the others text), the
label field when it is not a column already, and three of every item: ``name`` (text),
``id`` and, with a decoder, ``reconstruction_error`` (numbers); a metadata column of the same
name wins. An item with no value (NaN) never meets a number condition, ``!=`` included.
Everything is computed over whole columns with numpy. The columns a query reads, the text
ones lower-cased, are prepared once per model (``Searchable``, kept by the LoadedModel): at a
million items, lower-casing the names alone takes 0.2 s, the search itself milliseconds. The
lower-cased copies cost memory: 4 bytes a character (84 MB for a million 21-character names).
"""

from __future__ import annotations

import base64
import math
import re
from dataclasses import dataclass

import numpy as np

from app.index.store import LatentIndex
from models.errors import InvalidInputError

MAX_QUERY_CHARS = 1000
MAX_TERMS = 32
MAX_SEARCH_IDS = 100_000  # ids in one answer; the bitmap carries any number of matches
OPERATORS = (">=", "<=", "!=", "==", "=", ">", "<")
ORDERING = (">", "<", ">=", "<=")
# A run of quoted pieces and unquoted non-space characters: one term.
_TERM = re.compile(r'(?:"[^"]*"|[^\s"])+')
# field, operator, value: the field is the text before the first operator character.
_CONDITION = re.compile(r'([^"=<>!]*)(>=|<=|!=|==|=|>|<)(.*)\Z', re.S)


@dataclass(frozen=True)
class Term:
    """One condition: ``field op value``, or a bare word (``field`` None, ``op`` "contains")."""

    field: str | None
    op: str
    value: str


@dataclass(frozen=True)
class SearchResult:
    """Which items matched: ``mask`` (N,) bool, in id order."""

    query: str
    mask: np.ndarray

    @property
    def count(self) -> int:
        return int(self.mask.sum())

    @property
    def total(self) -> int:
        return len(self.mask)

    def ids(self, limit: int) -> list[int]:
        """The first ``limit`` matching ids, ascending."""
        return np.flatnonzero(self.mask)[:limit].tolist()

    def bitmap(self) -> str:
        """Every match as base64 of a bit per item: item i is bit ``i % 8`` (least significant
        first) of byte ``i // 8``; ceil(N / 8) bytes whatever the count."""
        return base64.b64encode(np.packbits(self.mask, bitorder="little").tobytes()).decode()


def _bad(message: str) -> InvalidInputError:
    return InvalidInputError(message, code="bad_query")


def parse_query(text: str) -> list[Term]:
    """The terms of a query; 422 ``bad_query`` when it cannot be read."""
    if len(text) > MAX_QUERY_CHARS:
        raise _bad(f"a query has at most {MAX_QUERY_CHARS} characters, not {len(text)}")
    if text.count('"') % 2:
        raise _bad('a query has an unclosed double quote (")')
    tokens = _TERM.findall(text)
    if not tokens:
        raise _bad("an empty query: give a condition such as label=3, or a word of the names")
    if len(tokens) > MAX_TERMS:
        raise _bad(f"a query has at most {MAX_TERMS} terms, not {len(tokens)}")
    return [_term(token) for token in tokens]


def _term(token: str) -> Term:
    found = _CONDITION.match(token)
    if found is None:
        return Term(None, "contains", token.replace('"', ""))
    field, op, value = found.groups()
    if not field:
        raise _bad(f"{token!r}: a condition needs a field before {op!r}, e.g. scale{op}0.5")
    return Term(field, "=" if op == "==" else op, value.replace('"', ""))


@dataclass(frozen=True)
class Searchable:
    """What a query reads, prepared once: every field's column (``search_fields``), the text
    ones again in lower case, and the item names in lower case (for bare words)."""

    fields: dict[str, np.ndarray]
    lowered: dict[str, np.ndarray]
    names: np.ndarray

    @classmethod
    def of(cls, index: LatentIndex) -> Searchable:
        fields = search_fields(index)
        raw = index.item_names.astype(np.str_, copy=False)
        names = np.char.lower(raw)  # the names field, when not shadowed, is this same array
        lowered = {
            k: names if v is raw else np.char.lower(v)
            for k, v in fields.items()
            if not _is_number(v)
        }
        return cls(fields, lowered, names)

    def __len__(self) -> int:
        return len(self.names)


def search_fields(index: LatentIndex) -> dict[str, np.ndarray]:
    """Every field a query can name -> its (N,) column: float64 (a number) or unicode (text)."""
    fields = {name: _column(values) for name, values in index.metadata.items()}
    label = index.label_field
    if label and label not in fields and index.labels is not None:
        names = np.array([*index.label_names, ""], dtype=np.str_)
        fields[label] = names[np.where(index.labels >= 0, index.labels, -1)]
    fields.setdefault("name", index.item_names.astype(np.str_, copy=False))
    fields.setdefault("id", np.arange(len(index), dtype=np.float64))
    if index.errors is not None:
        fields.setdefault("reconstruction_error", index.errors.astype(np.float64))
    return fields


def _column(values: np.ndarray) -> np.ndarray:
    kind = values.dtype.kind
    if kind in "fiub":
        return values.astype(np.float64, copy=False)
    return values.astype(np.str_, copy=False)


def _is_number(column: np.ndarray) -> bool:
    return column.dtype.kind == "f"


def describe_fields(fields: dict[str, np.ndarray]) -> str:
    """``digit (text), id (number), ...``: for the messages that name what exists."""
    return ", ".join(f"{k} ({'number' if _is_number(v) else 'text'})" for k, v in fields.items())


def search(items: LatentIndex | Searchable, query: str) -> SearchResult:
    """The items meeting every term of ``query``; 422 ``bad_query`` or ``unknown_field``.
    ``items``: an index, or what ``Searchable.of`` prepared from it (the server keeps one)."""
    terms = parse_query(query)
    ready = items if isinstance(items, Searchable) else Searchable.of(items)
    mask = np.ones(len(ready), dtype=bool)
    for term in terms:
        if term.field is None:
            mask &= np.char.find(ready.names, term.value.lower()) >= 0
        else:
            mask &= _matches(term.field, term.op, term.value, ready)
    return SearchResult(query=query, mask=mask)


def _matches(field: str, op: str, value: str, ready: Searchable) -> np.ndarray:
    fields = ready.fields
    name, column = _field(field, fields)
    if _is_number(column):
        return _compare(column, op, _number(name, value, fields))
    if op in ORDERING:
        raise _bad(
            f"field {name!r} is text: it takes = or != only, not {op!r} "
            f"(fields: {describe_fields(fields)})"
        )
    equal = ready.lowered[name] == value.lower()
    return equal if op == "=" else ~equal


def _field(name: str, fields: dict[str, np.ndarray]) -> tuple[str, np.ndarray]:
    """The field called ``name``, or else the only one called so ignoring case."""
    if name in fields:
        return name, fields[name]
    same = [key for key in fields if key.lower() == name.lower()]
    if len(same) == 1:
        return same[0], fields[same[0]]
    raise InvalidInputError(
        f"no field {name!r}: this model's fields are {describe_fields(fields)}",
        code="unknown_field",
    )


def _number(field: str, text: str, fields: dict[str, np.ndarray]) -> float:
    try:
        value = float(text) if "_" not in text else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise _bad(
            f"field {field!r} is a number: {text!r} is not a finite number "
            f"(fields: {describe_fields(fields)})"
        )
    return value


def _compare(column: np.ndarray, op: str, value: float) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        if op == "=":
            return column == value
        if op == "!=":
            return (column != value) & ~np.isnan(column)
        if op == ">":
            return column > value
        if op == "<":
            return column < value
        if op == ">=":
            return column >= value
        return column <= value
