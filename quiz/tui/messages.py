"""Messages that thread workers post back to the UI ("attributes down, messages up")."""

from __future__ import annotations

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


class StudyReady(Message):
    """The library, the database and the schedule are loaded (`first_run`: nothing answered yet, ever)."""

    def __init__(self, study: Study, problems: list[str], first_run: bool = False) -> None:
        super().__init__()
        self.study = study
        self.problems = problems
        self.first_run = first_run


class CardReady(Message):
    """The next card and its variant (card None: nothing left to study now).

    `typed`: an answer to put back (after undo); `lapses`: how often the card was forgotten.
    """

    def __init__(
        self, card: Card | None, variant: Variant | None, *, lapses: int = 0, typed: str = ""
    ) -> None:
        super().__init__()
        self.card = card
        self.variant = variant
        self.lapses = lapses
        self.typed = typed


class Graded(Message):
    def __init__(self, answered: Answered) -> None:
        super().__init__()
        self.answered = answered


class PreviewsReady(Message):
    """What each rating would schedule for the card on the verdict (quiz.core.previews), for the keys."""

    def __init__(self, card_uid: str, previews: tuple[IntervalPreview, ...]) -> None:
        super().__init__()
        self.card_uid = card_uid
        self.previews = previews


class Rated(Message):
    """A review was saved; `leech`: this answer made the card a leech."""

    def __init__(self, answered: Answered, rating: int, was_new: bool, leech: bool, lapses: int) -> None:
        super().__init__()
        self.answered = answered
        self.rating = rating
        self.was_new = was_new
        self.leech = leech
        self.lapses = lapses


class SiblingsFound(Message):
    """The family's cards on the other backends, about to run (`notes`: backend → what it is doing)."""

    def __init__(self, token: int, siblings: list[Card], notes: dict[str, str]) -> None:
        super().__init__()
        self.token = token
        self.siblings = siblings
        self.notes = notes


class SiblingRan(Message):
    def __init__(
        self, token: int, card: Card, variant: Variant, same_values: bool, result: RunResult
    ) -> None:
        super().__init__()
        self.token = token
        self.card = card
        self.variant = variant
        self.same_values = same_values
        self.result = result


class CountsReady(Message):
    """Due / learning / new / reviewed-today counts for the top bar."""

    def __init__(self, counts: dict[str, int]) -> None:
        super().__init__()
        self.counts = counts


class Undid(Message):
    def __init__(self, undone: Undone | None) -> None:
        super().__init__()
        self.undone = undone


class SetAside(Message):
    """A card was buried (`until` set) or suspended."""

    def __init__(self, card: Card, how: str, until: datetime | None = None) -> None:
        super().__init__()
        self.card = card
        self.how = how
        self.until = until


class HomeLoaded(Message):
    def __init__(self, data: HomeData) -> None:
        super().__init__()
        self.data = data


class StatsLoaded(Message):
    def __init__(self, data: StatsData) -> None:
        super().__init__()
        self.data = data


class ExamStarted(Message):
    def __init__(self, run: ExamRun) -> None:
        super().__init__()
        self.run = run


class ExamGraded(Message):
    def __init__(self, result: QuestionResult) -> None:
        super().__init__()
        self.result = result


class ExamFinished(Message):
    def __init__(self, report: ExamReport, exam_id: int | None, saved_to: str | None = None) -> None:
        super().__init__()
        self.report = report
        self.exam_id = exam_id
        self.saved_to = saved_to


class Failed(Message):
    """Something went wrong in a worker; shown as a message, never as a traceback."""

    def __init__(self, what: str, error: str, detail: Any = None, *, line: str | None = None) -> None:
        super().__init__()
        self.what = what
        self.error = error
        self.detail = detail
        self.line = line  # the whole line to show, when the error says it all

    @property
    def text(self) -> str:
        return self.line or f"Problem while {self.what}: {self.error}"
