"""Decks and cards as the learner meets them: what is asked, on which backend, of which kind."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Backend(StrEnum):
    """A framework a card runs on."""

    TORCH = "torch"
    TENSORFLOW = "tensorflow"
    MXNET = "mxnet"


class Kind(StrEnum):
    """What the learner predicts."""

    SHAPE = "shape"
    DTYPE = "dtype"
    BOOL = "bool"
    GRAD_IS_NONE = "grad_is_none"
    VALUE = "value"
    RAISES = "raises"
    CHOICE = "choice"
    CODE = "code"
    TRANSLATE = "translate"


BACKENDS: tuple[str, ...] = tuple(b.value for b in Backend)
KINDS: tuple[str, ...] = tuple(k.value for k in Kind)
# Kinds that take the answer "error" when a card sets `may_raise` (a `raises` card always names an
# exception; a `code` answer is code).
MAY_RAISE_KINDS: tuple[Kind, ...] = (
    Kind.SHAPE,
    Kind.DTYPE,
    Kind.BOOL,
    Kind.GRAD_IS_NONE,
    Kind.VALUE,
    Kind.CHOICE,
)

DEFAULT_TIMEOUT_S = 5.0
MAX_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class Tolerance:
    """How close a numeric answer must be to the truth (as `math.isclose`)."""

    rtol: float = 1e-5
    atol: float = 1e-8


@dataclass(frozen=True, slots=True)
class Location:
    """Where something is in a deck file, for error messages."""

    path: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass(frozen=True, slots=True)
class Card:
    """One question. Its truth is never stored: it comes from running `code`."""

    deck_id: str
    id: str
    section: str
    backend: Backend
    kind: Kind
    prompt: str
    code: str
    answer: str | None
    explain: str
    family: str
    tags: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    result: str | None = None
    tolerance: Tolerance = Tolerance()
    timeout: float = DEFAULT_TIMEOUT_S
    requires: dict[str, Any] = field(default_factory=dict)
    constant: bool = False
    variables: tuple[tuple[str, dict[str, Any]], ...] = ()
    assume: tuple[str, ...] = ()
    may_raise: bool = False  # the prompt invites the answer "error": the code failing is a truth, not a fault
    location: Location = Location("")
    # `translate` cards: the working code in another framework, run in that framework's worker.
    source_backend: Backend | None = None
    source_code: str | None = None

    @property
    def uid(self) -> str:
        """Library-wide id: `deck/card`."""
        return f"{self.deck_id}/{self.id}"

    @property
    def needs_gpu(self) -> bool:
        return bool(self.requires.get("gpu"))

    @property
    def runs_learner_code(self) -> bool:
        """The learner answers with code that is run (and graded over several variants)."""
        return self.kind in (Kind.CODE, Kind.TRANSLATE)

    @property
    def backends(self) -> tuple[str, ...]:
        """Every backend the card runs on: its own, and a translate card's source backend."""
        if self.source_backend is not None and self.source_backend != self.backend:
            return (self.backend.value, self.source_backend.value)
        return (self.backend.value,)


@dataclass(frozen=True, slots=True)
class Deck:
    """A deck file, parsed and validated."""

    id: str
    title: str
    path: str
    cards: tuple[Card, ...]
    description: str = ""
    author: str = ""
    version: str = ""
    tags: tuple[str, ...] = ()
    written_against: dict[str, str] = field(default_factory=dict)
    sections: dict[str, str] = field(default_factory=dict)


def family_of(card_id: str) -> str:
    """`expand-shape.torch` → `expand-shape`: the id without a trailing backend part."""
    head, dot, tail = card_id.rpartition(".")
    return head if dot and tail in BACKENDS else card_id
