"""Cards, decks, deck problems and variants as JSON data and back, exactly (what the caches store).

Written from each dataclass's own fields, so a field added to `Card` later is
stored too; `*_from_data` rebuilds the objects, and `exact` tells whether a
round trip gives back an equal object with the same types (a value JSON
cannot carry — a set, a date — fails it, and the caller then does not cache).
"""

from __future__ import annotations

from dataclasses import fields
from enum import Enum
from typing import Any

from quiz.core.cards import Backend, Card, Deck, Kind, Location, Tolerance
from quiz.core.deck_files import Problem
from quiz.core.variables import Variant

__all__ = [
    "card_data",
    "card_from_data",
    "deck_data",
    "deck_from_data",
    "exact",
    "problem_data",
    "problem_from_data",
    "variant_data",
    "variant_from_data",
]

# Fields of a type JSON does not carry as itself (lists come back as tuples in tuple fields).
_ENUMS: dict[str, type[Enum]] = {"backend": Backend, "kind": Kind, "source_backend": Backend}


def _plain(value: Any) -> Any:
    """A JSON-friendly copy: enums as their values, tuples as lists, dataclasses as dicts."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (Tolerance, Location)):
        return {f.name: getattr(value, f.name) for f in fields(value)}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _tuples(value: Any) -> Any:
    """JSON lists back to tuples, all the way down."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


def card_data(card: Card) -> dict[str, Any]:
    return {f.name: _plain(getattr(card, f.name)) for f in fields(Card)}


def card_from_data(data: dict[str, Any]) -> Card:
    values: dict[str, Any] = {}
    for name, value in data.items():
        convert = _CARD_FIELDS.get(name, _unknown)
        values[name] = value if convert is None or value is None else convert(value)
    return Card(**values)


def _unknown(value: Any) -> Any:
    raise ValueError("unknown card field")


def _variables(value: Any) -> tuple[tuple[str, dict[str, Any]], ...]:
    return tuple((str(n), dict(spec)) for n, spec in value)


def _converter(name: str, default: Any) -> Any:
    """How a stored field becomes the Card's value again (None: as it is)."""
    special = {
        "tolerance": lambda v: Tolerance(**v),
        "location": lambda v: Location(**v),
        "variables": _variables,
        "requires": dict,
    }
    if name in special:
        return special[name]
    if name in _ENUMS:
        return _ENUMS[name]
    return _tuples


_CARD_FIELDS: dict[str, Any] = {f.name: _converter(f.name, f.default) for f in fields(Card)}


def deck_data(deck: Deck) -> dict[str, Any]:
    out = {f.name: _plain(getattr(deck, f.name)) for f in fields(Deck) if f.name != "cards"}
    out["cards"] = [card_data(c) for c in deck.cards]
    return out


def deck_from_data(data: dict[str, Any]) -> Deck:
    values = dict(data)
    values["cards"] = tuple(card_from_data(c) for c in data["cards"])
    values["tags"] = tuple(values.get("tags", ()))
    return Deck(**values)


def problem_data(problem: Problem) -> dict[str, Any]:
    return {
        "path": problem.path,
        "line": problem.line,
        "card_id": problem.card_id,
        "message": problem.message,
    }


def problem_from_data(data: dict[str, Any]) -> Problem:
    return Problem(data["path"], data["line"], data["card_id"], data["message"])


def variant_data(variant: Variant) -> dict[str, Any]:
    return {f.name: _plain(getattr(variant, f.name)) for f in fields(Variant)}


def variant_from_data(data: dict[str, Any]) -> Variant:
    values = dict(data)
    values["values"] = {str(k): _tuples(v) for k, v in data["values"].items()}
    values["choices"] = tuple(values.get("choices", ()))
    return Variant(**values)


def exact(original: Any, rebuilt: Any) -> bool:
    """Equal, and of the same types all the way down (so `2` never comes back as `2.0`, nor a list as a tuple)."""
    if type(original) is not type(rebuilt):
        return False
    if isinstance(original, (Card, Deck, Variant, Tolerance, Location)):
        return all(exact(getattr(original, f.name), getattr(rebuilt, f.name)) for f in fields(original))
    if isinstance(original, (tuple, list)):
        return len(original) == len(rebuilt) and all(
            exact(a, b) for a, b in zip(original, rebuilt, strict=True)
        )
    if isinstance(original, dict):
        return original.keys() == rebuilt.keys() and all(exact(v, rebuilt[k]) for k, v in original.items())
    if isinstance(original, float) and original != original:  # NaN
        return bool(rebuilt != rebuilt)
    return bool(original == rebuilt)
