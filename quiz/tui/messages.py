"""Messages that thread workers post back to the UI ("attributes down, messages up"), as dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from quiz.core.cards import Card
    from quiz.core.exam import ExamReport, QuestionResult
    from quiz.core.grading import RunResult
    from quiz.core.previews import IntervalPreview
    from quiz.core.variables import Variant
    from quiz.session.dashboards import HomeData, StatsData
    from quiz.session.exam import ExamRun
    from quiz.session.grading import Answered
    from quiz.session.study import Study
    from quiz.session.undo import Undone


@dataclass
class StudyReady(Message):
    """The library, the database and the schedule are loaded (`first_run`: nothing answered yet, ever)."""

    study: Study
    problems: list[str]
    first_run: bool = False


@dataclass
class CardReady(Message):
    """The next card and its variant (card None: nothing left to study now).

    `typed`: an answer to put back (after undo); `lapses`: how often the card was forgotten.
    """

    card: Card | None
    variant: Variant | None
    lapses: int = field(default=0, kw_only=True)
    typed: str = field(default="", kw_only=True)


@dataclass
class Graded(Message):
    """The verdict on an answer."""

    answered: Answered


@dataclass
class VerdictRefined(Message):
    """A later verdict on the answer on screen (a code answer: all its variants, the smallest failing
    one), from the grading that `token` names (quiz.session.grading.grade_stream)."""

    token: int
    answered: Answered


@dataclass
class PreviewsReady(Message):
    """What each rating would schedule for the card on the verdict (quiz.core.previews), for the keys."""

    card_uid: str
    previews: tuple[IntervalPreview, ...]


@dataclass
class Rated(Message):
    """A review was saved; `leech`: this answer made the card a leech."""

    answered: Answered
    rating: int
    was_new: bool
    leech: bool
    lapses: int


@dataclass
class SiblingsFound(Message):
    """The family's cards on the other backends, about to run (`notes`: backend → what it is doing)."""

    token: int
    siblings: list[Card]
    notes: dict[str, str]


@dataclass
class SiblingRan(Message):
    """One sibling's result (`same_values`: it ran the learner's values, not a draw of its own)."""

    token: int
    card: Card
    variant: Variant
    same_values: bool
    result: RunResult


@dataclass
class CountsReady(Message):
    """Due / learning / new / reviewed-today counts for the top bar."""

    counts: dict[str, int]


@dataclass
class Undid(Message):
    """Undo took this back (None: there was nothing to undo)."""

    undone: Undone | None


@dataclass
class SetAside(Message):
    """A card was buried (`until` set) or suspended."""

    card: Card
    how: str
    until: datetime | None = None


@dataclass
class HomeLoaded(Message):
    """Home's decks, counts and progress."""

    data: HomeData


@dataclass
class StatsLoaded(Message):
    """The statistics screen's figures."""

    data: StatsData


@dataclass
class ExamStarted(Message):
    """The exam's questions are drawn: the clock may start."""

    run: ExamRun


@dataclass
class ExamGraded(Message):
    """One exam answer, graded and saved."""

    result: QuestionResult


@dataclass
class ExamFinished(Message):
    """The exam is over: its report, its id in the database, where the report was written."""

    report: ExamReport
    exam_id: int | None
    saved_to: str | None = None


@dataclass
class Failed(Message):
    """Something went wrong in a worker; shown as a message, never as a traceback."""

    what: str
    error: str
    detail: Any = None
    line: str | None = field(default=None, kw_only=True)  # the whole line to show, when the error says it all

    @property
    def text(self) -> str:
        return self.line or f"Problem while {self.what}: {self.error}"
