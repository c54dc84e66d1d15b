"""The short summary at the end of a study session: answered, right, new, again, time, what comes next."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from quiz.core.i18n import DEFAULT_LANGUAGE, t
from quiz.core.stats import SessionSummary


def when(due: datetime, now: datetime, lang: str = DEFAULT_LANGUAGE) -> str:
    """`in 8 min`, `in 3 h`, `tomorrow 09:30`, `on 12 Mar` (`3月12日` in Chinese)."""
    seconds = (due - now).total_seconds()
    if seconds < 60:
        return t("when.now", lang)
    if seconds < 3600:
        return t("when.minutes", lang, n=seconds / 60)
    if seconds < 6 * 3600:
        return t("when.hours", lang, n=seconds / 3600)
    local, today = due.astimezone(), now.astimezone()
    days = (local.date() - today.date()).days
    if days == 0:
        return t("when.today", lang, time=f"{local:%H:%M}")
    if days == 1:
        return t("when.tomorrow", lang, time=f"{local:%H:%M}")
    # %b is the C locale's English month: a Chinese date is written out instead.
    date = f"{local.month}月{local.day}日" if lang == "zh" else f"{local:%d %b}"
    return t("when.date", lang, date=date)


def summary_text(
    summary: SessionSummary, next_due: datetime | None, now: datetime, lang: str = DEFAULT_LANGUAGE
) -> Text:
    out = Text()
    if summary.reviewed == 0:
        out.append(t("summary.nothing", lang), style="bold green")
    else:
        out.append(t("summary.done", lang), style="bold green")
        a = summary.answers
        out.append(t("summary.answered", lang, n=summary.reviewed))
        if a.total:
            out.append(t("summary.right", lang, correct=a.correct, percent=a.percent()))
        if summary.new_cards:
            out.append(t("summary.new", lang, n=summary.new_cards))
        if summary.again:
            out.append(t("summary.again", lang, n=summary.again))
        out.append(t("summary.minutes", lang, minutes=summary.seconds / 60))
        if len(summary.by_backend) > 1:
            out.append("\n")
            out.append(
                " · ".join(f"{b} {t.correct}/{t.total}" for b, t in summary.by_backend.items()), style="dim"
            )
        if summary.leeches:
            out.append(t("summary.leeches", lang), style="bold red")
            out.append(", ".join(summary.leeches))
    if next_due is not None:
        out.append(t("summary.next", lang, when=when(next_due, now, lang)), style="dim")
    out.append(t("summary.keys", lang), style="dim")
    return out
