"""Messages that thread workers post back to the UI ("attributes down, messages up")."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from quiz.core.cards import Card
    from quiz.core.variables import Variant
    from quiz.study import Answered, Study


class StudyReady(Message):
    """The library, the database and the schedule are loaded."""

    def __init__(self, study: Study, problems: list[str]) -> None:
        super().__init__()
        self.study = study
        self.problems = problems


class CardReady(Message):
    """The next card and its variant (card None: nothing left to study now)."""

    def __init__(self, card: Card | None, variant: Variant | None) -> None:
        super().__init__()
        self.card = card
        self.variant = variant


class Graded(Message):
    def __init__(self, answered: Answered) -> None:
        super().__init__()
        self.answered = answered


class Failed(Message):
    """Something went wrong in a worker; shown as a message, never as a traceback."""

    def __init__(self, what: str, error: str) -> None:
        super().__init__()
        self.what = what
        self.error = error
