"""The exam: a timed self-assessment before interviews. Which questions, and the report.

An exam draws cards from the chosen sections and backends (one card per
family first, the sections taken in turn so each gets its share), each with
a fresh variant seed; it never touches the learner's schedule. The report
scores it per section and per backend, lists the time spent on every
question, and every missed card with its truth and explanation.

Pure: the random generator and the times come in as arguments.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any

from quiz.core.cards import Card
from quiz.core.stats import Tally
from quiz.core.text import visible

__all__ = [
    "ExamConfig",
    "ExamError",
    "ExamReport",
    "Question",
    "QuestionResult",
    "build_report",
    "pick_questions",
    "report_markdown",
]

MAX_SEED = 2**31 - 1
MAX_QUESTIONS = 200


class ExamError(ValueError):
    """The exam cannot be set up as asked (no cards match, bad numbers)."""


@dataclass(frozen=True, slots=True)
class ExamConfig:
    """What the learner chose. Empty `sections`/`backends`/`decks` mean all of them."""

    questions: int = 20
    time_limit_s: int | None = 20 * 60
    sections: tuple[str, ...] = ()
    backends: tuple[str, ...] = ()
    decks: tuple[str, ...] = ()
    seed: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.questions <= MAX_QUESTIONS:
            raise ExamError(f"the number of questions must be 1 to {MAX_QUESTIONS}, not {self.questions}")
        if self.time_limit_s is not None and self.time_limit_s <= 0:
            raise ExamError("the time limit must be positive (or none)")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("sections", "backends", "decks"):
            d[k] = list(d[k])
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExamConfig:
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known
        }
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Question:
    position: int
    card_uid: str
    seed: int


def pick_questions(
    cards: Iterable[Card],
    config: ExamConfig,
    rng: random.Random,
    *,
    usable: Callable[[Card], bool] = lambda _: True,
) -> list[Question]:
    """Draw the exam: sections in turn, a new family each time while there are some, fresh seeds.

    Raises ExamError when no card matches the chosen sections, backends and decks.
    """
    pool = [
        c
        for c in cards
        if (not config.sections or c.section in config.sections)
        and (not config.backends or c.backend.value in config.backends)
        and (not config.decks or c.deck_id in config.decks)
        and usable(c)
    ]
    if not pool:
        raise ExamError("no card matches the chosen sections, backends and decks")
    # section → families → cards, all in a random order
    by_section: dict[str, dict[tuple[str, str], list[Card]]] = defaultdict(lambda: defaultdict(list))
    for c in sorted(pool, key=lambda c: c.uid):
        by_section[c.section][(c.deck_id, c.family)].append(c)
    queues: dict[str, list[list[Card]]] = {}
    for section in sorted(by_section):
        families = [by_section[section][k] for k in sorted(by_section[section])]
        rng.shuffle(families)
        for members in families:
            rng.shuffle(members)
        queues[section] = families
    order = sorted(queues)
    rng.shuffle(order)
    picked: list[Card] = []
    while len(picked) < config.questions and any(queues.values()):
        for section in order:
            families = queues[section]
            if not families or len(picked) >= config.questions:
                continue
            members = families.pop(0)
            picked.append(members.pop(0))
            if members:  # the family's other backends come back after every other family
                families.append(members)
    rng.shuffle(picked)
    return [Question(i, c.uid, rng.randrange(MAX_SEED)) for i, c in enumerate(picked)]


@dataclass(frozen=True, slots=True)
class QuestionResult:
    """One question as asked and answered (answer None: not answered in time, or skipped)."""

    position: int
    card_uid: str
    section: str
    backend: str
    kind: str
    seed: int
    values: dict[str, Any]
    prompt: str
    code: str
    explain: str
    answer: str | None = None
    expected: str | None = None
    correct: bool | None = None
    error: str | None = None
    time_ms: int | None = None

    @property
    def graded(self) -> bool:
        """Counted in the score: answered and judged, or not answered at all (which counts as missed)."""
        return self.answer is None or self.correct is not None

    @property
    def missed(self) -> bool:
        return self.graded and not self.correct

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QuestionResult:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True, slots=True)
class ExamReport:
    config: ExamConfig
    started_at: datetime
    finished_at: datetime
    ended: str  # "completed", "time up" or "stopped"
    results: tuple[QuestionResult, ...]
    score: Tally = field(default_factory=Tally)
    by_section: dict[str, Tally] = field(default_factory=dict)
    by_backend: dict[str, Tally] = field(default_factory=dict)

    @property
    def missed(self) -> list[QuestionResult]:
        return [r for r in self.results if r.missed]

    @property
    def not_graded(self) -> list[QuestionResult]:
        return [r for r in self.results if not r.graded]

    @property
    def duration_s(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "ended": self.ended,
            "score": {"correct": self.score.correct, "total": self.score.total},
            "by_section": {k: {"correct": v.correct, "total": v.total} for k, v in self.by_section.items()},
            "by_backend": {k: {"correct": v.correct, "total": v.total} for k, v in self.by_backend.items()},
            "results": [r.to_dict() for r in self.results],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExamReport:
        return build_report(
            ExamConfig.from_dict(data["config"]),
            [QuestionResult.from_dict(r) for r in data["results"]],
            started_at=datetime.fromisoformat(data["started_at"]),
            finished_at=datetime.fromisoformat(data["finished_at"]),
            ended=data["ended"],
        )


def build_report(
    config: ExamConfig,
    results: Sequence[QuestionResult],
    *,
    started_at: datetime,
    finished_at: datetime,
    ended: str,
) -> ExamReport:
    """Score the exam. Unanswered questions count as missed; ones that could not be run are left out."""
    score = Tally()
    by_section: dict[str, Tally] = {}
    by_backend: dict[str, Tally] = {}
    for r in results:
        if not r.graded:
            continue
        ok = bool(r.correct)
        score = score.add(ok)
        by_section[r.section] = by_section.get(r.section, Tally()).add(ok)
        by_backend[r.backend] = by_backend.get(r.backend, Tally()).add(ok)
    return ExamReport(
        config=config,
        started_at=started_at,
        finished_at=finished_at,
        ended=ended,
        results=tuple(sorted(results, key=lambda r: r.position)),
        score=score,
        by_section=dict(sorted(by_section.items())),
        by_backend=dict(sorted(by_backend.items())),
    )


def _seconds(ms: int | None) -> str:
    return "–" if ms is None else f"{ms / 1000:.1f} s"


def _table(rows: Sequence[tuple[str, Tally]], what: str) -> list[str]:
    lines = [f"| {what} | correct | of | score |", "|---|---:|---:|---:|"]
    lines += [f"| {name} | {t.correct} | {t.total} | {t.percent()} |" for name, t in rows]
    return lines


def _fence(code: str) -> str:
    ticks = "```"
    while ticks in code:
        ticks += "`"
    return f"{ticks}python\n{code.rstrip()}\n{ticks}"


def report_markdown(report: ExamReport, *, title: str = "quiz exam") -> str:
    """The report as Markdown: scores, times, and every missed card with its truth and explanation."""
    c = report.config
    out = [f"# {title}", ""]
    out.append(
        f"**Score: {report.score.correct} / {report.score.total} ({report.score.percent()})** · "
        f"{report.ended} · {report.duration_s / 60:.1f} min"
    )
    out.append("")
    out.append(f"- started: {report.started_at.isoformat(timespec='seconds')}")
    out.append(f"- sections: {', '.join(c.sections) or 'all'}")
    out.append(f"- backends: {', '.join(c.backends) or 'all'}")
    if c.decks:
        out.append(f"- decks: {', '.join(c.decks)}")
    limit = f"{c.time_limit_s // 60} min" if c.time_limit_s else "none"
    out.append(f"- questions: {len(report.results)} · time limit: {limit} · seed: {c.seed}")
    out += ["", "## By section", "", *_table(list(report.by_section.items()), "section")]
    out += ["", "## By backend", "", *_table(list(report.by_backend.items()), "backend")]
    out += [
        "",
        "## Time per question",
        "",
        "| # | card | backend | answer | result | time |",
        "|---:|---|---|---|---|---:|",
    ]
    for r in report.results:
        result = (
            "not answered"
            if r.answer is None
            else "correct"
            if r.correct
            else "not graded"
            if r.correct is None
            else "wrong"
        )
        answer = "–" if r.answer is None else f"`{r.answer}`".replace("|", "\\|")
        out.append(
            f"| {r.position + 1} | {r.card_uid} | {r.backend} | {answer} | {result} | {_seconds(r.time_ms)} |"
        )
    missed = report.missed
    out += ["", f"## Missed ({len(missed)})", ""]
    if not missed:
        out.append("None: every answer was right.")
    for r in missed:
        out += [f"### {r.position + 1}. {r.card_uid} ({r.backend}, {r.section})", ""]
        out += [r.prompt.strip(), "", _fence(r.code), ""]
        out.append(f"- your answer: {'(not answered)' if r.answer is None else f'`{r.answer}`'}")
        out.append(f"- truth: `{r.expected}`" if r.expected is not None else "- truth: (not run)")
        out += ["", r.explain.strip(), ""]
    broken = report.not_graded
    if broken:
        out += ["## Not graded (left out of the score)", ""]
        out += [f"- {r.position + 1}. {r.card_uid}: {r.error}" for r in broken]
        out.append("")
    # Deck and run text throughout: one pass makes its control characters visible (our own text has none).
    return visible("\n".join(out).rstrip() + "\n")
