"""The short summary at the end of a study session: answered, right, new, again, time, what comes next."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from quiz.core.stats import SessionSummary


def when(due: datetime, now: datetime) -> str:
    """`in 8 min`, `in 3 h`, `tomorrow 09:30`, `on 12 Mar`."""
    seconds = (due - now).total_seconds()
    if seconds < 60:
        return "now"
    if seconds < 3600:
        return f"in {seconds / 60:.0f} min"
    if seconds < 6 * 3600:
        return f"in {seconds / 3600:.0f} h"
    local, today = due.astimezone(), now.astimezone()
    days = (local.date() - today.date()).days
    if days == 0:
        return f"today {local:%H:%M}"
    if days == 1:
        return f"tomorrow {local:%H:%M}"
    return f"on {local:%d %b}"


def summary_text(
    summary: SessionSummary,
    next_due: datetime | None,
    now: datetime,
    elsewhere: tuple[int, datetime | None] = (0, None),
) -> Text:
    """`elsewhere`: cards waiting now outside this session's decks, and the next due there (Study.elsewhere)."""
    out = Text()
    if summary.reviewed == 0:
        out.append("Nothing to study right now.", style="bold green")
    else:
        out.append("Session done. ", style="bold green")
        a = summary.answers
        out.append(f"{summary.reviewed} answered")
        if a.total:
            out.append(f", {a.correct} right ({a.percent()})")
        if summary.new_cards:
            out.append(f", {summary.new_cards} new")
        if summary.again:
            out.append(f", {summary.again} to see again soon")
        out.append(f", {summary.seconds / 60:.1f} min of thinking.")
        if len(summary.by_backend) > 1:
            out.append("\n")
            out.append(
                " · ".join(f"{b} {t.correct}/{t.total}" for b, t in summary.by_backend.items()), style="dim"
            )
        if summary.leeches:
            out.append("\nleeches (forgotten again and again): ", style="bold red")
            out.append(", ".join(summary.leeches))
    waiting, other_due = elsewhere
    here = " in these decks" if waiting or other_due is not None else ""
    if next_due is not None:
        out.append(f"\nNext card due {when(next_due, now)}{here}.", style="dim")
    if waiting:
        out.append(f"\n{waiting} card{'s' if waiting != 1 else ''} waiting in other decks now (Home).", style="bold")
    elif other_due is not None and (next_due is None or other_due < next_due):
        out.append(f"\nIn other decks: next due {when(other_due, now)}.", style="dim")
    out.append("\nEnter or Esc: Home (decks, exam, statistics, settings) · Ctrl+Q quits", style="dim")
    return out
