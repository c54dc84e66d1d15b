"""The card browser (`b` from Home): search every card, see one card's reviews with the variants shown,
suspend/unsuspend, bury/unbury, reset, open the deck file at the card in $EDITOR.

The search runs in memory (quiz.core.browse.BrowserState, read once when the screen opens); the
history and the operations go to the database in thread workers, so typing never waits on it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Input, Static

from quiz.core.variables import prompt_outline
from quiz.tui.base import QuizScreen
from quiz.tui.messages import Failed
from quiz.tui.render import shown
from quiz.tui.widgets.key_bar import KeyBar

if TYPE_CHECKING:
    from quiz.core.browse import BrowserState, CardQuery
    from quiz.core.cards import Card
    from quiz.session.study import Study
    from quiz.store.browse import BrowseRow, HistoryEntry

# Rows put in the table at once: a search over a huge library shows its first matches and says how many.
SHOWN_ROWS = 500
CARD_WIDTH = 30


@dataclass
class BrowserOpened(Message):
    """Every card's state, read once; searches run on it."""

    state: BrowserState


@dataclass
class RowsReady(Message):
    """A search's rows (`token`: which search; `ms`: how long it took)."""

    token: int
    rows: list[BrowseRow]
    total: int
    ms: float


@dataclass
class HistoryReady(Message):
    """One card's reviews, newest first."""

    uid: str
    entries: list[HistoryEntry]


@dataclass
class Changed(Message):
    """An operation was saved: `changed` of the cards' states are new (re-read from the database)."""

    action: str
    uids: list[str]
    changed: int


def when(due: datetime | None, now: datetime) -> str:
    from quiz.core.previews import format_interval

    if due is None:
        return "–"
    if due <= now:
        late = now - due
        return "now" if late < timedelta(hours=1) else f"{format_interval(late)} ago"
    return f"in {format_interval(due - now)}"


class BrowserScreen(QuizScreen[None]):
    DEFAULT_CSS = """
    BrowserScreen #browser-title { height: 1; padding: 0 1; }
    BrowserScreen #browser-search { margin: 0 1; }
    BrowserScreen #browser-table { height: 1fr; }
    BrowserScreen #browser-detail-scroll { height: 40%; border-top: solid $primary-darken-2; padding: 0 1; }
    BrowserScreen #browser-status { height: auto; max-height: 2; padding: 0 1; }
    """

    HELP = """
**Card browser.** Every card of your library with its state. Type in the search box: words search
the prompt, code and card id; `deck:`, `section:`, `backend:`, `kind:`, `tag:` and `state:` (or `is:`)
filter, e.g. `detach tag:interview is:suspended`. States: new, learning, review, due, suspended,
buried, leech.

- **Enter** or **↓** in the search box goes to the cards; **/** goes back to the search.
- The highlighted card's reviews show below, newest first, with the values each one showed.
- **s** suspends or unsuspends the card, **u** buries or unburies it (until tomorrow), **r** resets
  it to new (press **r** twice; its reviews stay in the history), **e** opens its deck file at the
  card in `$VISUAL`/`$EDITOR`.
- **Esc** goes back. On the command line: `quiz cards` (with `--json`).
"""

    BINDINGS = [
        Binding("slash", "search", "Search"),
        Binding("s", "suspend", "Suspend"),  # each undoes itself (see HELP): short for the 80-column bar
        Binding("u", "bury", "Bury"),
        Binding("r", "reset", "Reset"),
        Binding("e", "edit", "Edit"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, query: str = "") -> None:
        super().__init__()
        self.initial = query
        self.state: BrowserState | None = None
        self.rows: list[BrowseRow] = []
        self.total = 0
        self.token = 0
        self.last_query_ms: float | None = None
        self.history_uid: str | None = None
        self.reset_armed: tuple[str, float] | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="browser-title")
        yield Input(
            value=self.initial,
            placeholder="search: words · deck: section: backend: kind: tag: is:suspended …",
            id="browser-search",
        )
        table: DataTable[Any] = DataTable(id="browser-table", cursor_type="row", zebra_stripes=True)
        yield table
        with VerticalScroll(id="browser-detail-scroll"):
            yield Static("", id="browser-detail")
        yield Static("reading your cards…", id="browser-status")
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, label, width in (
            ("card", "card", CARD_WIDTH),
            ("state", "state", 9),
            ("due", "due", 8),
            ("reviews", "rev", 3),
            ("right", "right", 5),
            ("prompt", "prompt", self._prompt_width()),
        ):
            table.add_column(label, key=key, width=width)
        self.query_one("#browser-title", Static).update(Text("Card browser", style="bold"))
        self.query_one(Input).focus()
        self.open()

    # --- loading and searching -----------------------------------------------------------------

    def _study(self) -> Study | None:
        return self.quiz_app.study

    def open(self) -> None:
        self.in_background(self._open, doing="reading your cards", group="browser-open")

    def _open(self) -> BrowserOpened | Failed:
        from quiz.core.browse import CardIndex
        from quiz.store.browse import open_browser

        app = self.quiz_app
        study = app.wait_for_study()
        if study is None:
            return Failed("opening the browser", app.load_error or "the decks did not load")
        index = CardIndex.build(study.library.cards())
        with study.store.session() as s:
            state = open_browser(s, study.profile, index, now=study.clock())
        return BrowserOpened(state)

    @on(BrowserOpened)
    def opened(self, message: BrowserOpened) -> None:
        self.state = message.state
        self.search(self.query_one(Input).value)

    @on(Input.Changed, "#browser-search")
    def typed(self, event: Input.Changed) -> None:
        if self.state is not None:
            self.search(event.value)

    @on(Input.Submitted, "#browser-search")
    def to_table(self, event: Input.Submitted) -> None:
        self.query_one(DataTable).focus()

    def search(self, text: str) -> None:
        from quiz.core.browse import QueryError, parse_search

        try:
            query = parse_search(text)
        except QueryError as exc:
            self._status(Text(f"⚠ {exc}", style="bold yellow"))
            return
        state, now = self.state, self._now()
        if state is not None and now - state.now > timedelta(minutes=1):
            state.refresh(now)  # due and buried move with the clock
        self.token += 1
        self.fetch(self.token, query)

    def fetch(self, token: int, query: CardQuery) -> None:
        self.in_background(lambda: self._fetch(token, query), doing="searching", group="browser-search")

    def _fetch(self, token: int, query: CardQuery) -> RowsReady | None:
        from quiz.store.browse import browse_page

        state, study = self.state, self._study()
        if state is None or study is None:
            return None
        started = time.perf_counter()
        positions = state.search(query)
        with study.store.session() as s:
            rows = browse_page(s, study.profile, state, positions, limit=SHOWN_ROWS)
        return RowsReady(token, rows, len(positions), (time.perf_counter() - started) * 1000)

    @on(RowsReady)
    def rows_ready(self, message: RowsReady) -> None:
        if message.token != self.token:
            return  # a later search is on its way
        self.rows, self.total, self.last_query_ms = message.rows, message.total, message.ms
        self._fill()

    def _fill(self) -> None:
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        now = self._now()
        for r in self.rows:
            table.add_row(*self._cells(r, now), key=r.card.uid)
        if self.rows:
            table.move_cursor(row=min(max(row, 0), len(self.rows) - 1))
        self._summary()
        self._show_history()

    def _cells(self, r: BrowseRow, now: datetime) -> list[Text]:
        state = r.status.primary(now)
        style = {"due": "bold red", "learning": "yellow", "new": "blue", "suspended": "dim", "buried": "dim"}
        prompt = shown(prompt_outline(r.card.prompt))
        prompt.truncate(self._prompt_width(), overflow="ellipsis")
        uid = shown(r.card.uid)
        uid.truncate(CARD_WIDTH, overflow="ellipsis")
        return [
            uid,
            Text(state, style=style.get(state, "")),
            Text(when(r.status.due, now) if r.status.state else "–"),
            Text(str(r.reviews), justify="right"),
            Text(f"{r.correct}/{r.graded}" if r.graded else "–", justify="right"),
            prompt,
        ]

    def _prompt_width(self) -> int:
        """The prompt takes what the other columns leave (10 at 80 columns: the full prompt is below)."""
        return max(10, self.app.size.width - 70)

    def on_resize(self) -> None:
        table = self.query_one(DataTable)
        column = table.columns.get("prompt")  # type: ignore[call-overload]
        if column is not None and column.width != self._prompt_width():
            column.width = self._prompt_width()
            self._fill()

    def _summary(self) -> None:
        state = self.state
        line = Text()
        line.append(f"{self.total} card{'s' if self.total != 1 else ''} found", style="bold")
        if self.total > len(self.rows):
            line.append(f" (the first {len(self.rows)} shown: narrow the search)", style="dim")
        if state is not None:
            counts = state.counts()
            line.append(" · all: ", style="dim")
            line.append(
                " · ".join(f"{n} {name}" for name, n in counts.items() if n and name != "review"),
                style="dim",
            )
        self._status(line)

    def _status(self, text: Text) -> None:
        self.query_one("#browser-status", Static).update(shown(text))

    def _now(self) -> datetime:
        study = self._study()
        return study.clock() if study is not None else datetime.now().astimezone()

    # --- the highlighted card and its history ------------------------------------------------

    def highlighted(self) -> BrowseRow | None:
        table = self.query_one(DataTable)
        if not self.rows or not 0 <= table.cursor_row < len(self.rows):
            return None
        return self.rows[table.cursor_row]

    @on(DataTable.RowHighlighted, "#browser-table")
    def row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_history()

    def _show_history(self) -> None:
        row = self.highlighted()
        if row is None:
            self.query_one("#browser-detail", Static).update("")
            return
        self.query_one("#browser-detail", Static).update(self._card_text(row, None))
        self.history_uid = row.card.uid
        self.history(row.card.uid)

    def history(self, uid: str) -> None:
        self.in_background(lambda: self._history(uid), doing="reading the card's reviews", group="browser-history")

    def _history(self, uid: str) -> HistoryReady | None:
        from quiz.store.browse import card_history

        study = self._study()
        if study is None:
            return None
        with study.store.session() as s:
            return HistoryReady(uid, card_history(s, study.profile, uid, limit=50))

    @on(HistoryReady)
    def history_ready(self, message: HistoryReady) -> None:
        row = self.highlighted()
        if row is None or row.card.uid != message.uid:
            return
        self.query_one("#browser-detail", Static).update(self._card_text(row, message.entries))

    def _card_text(self, row: BrowseRow, entries: list[HistoryEntry] | None) -> Text:
        c, st, now = row.card, row.status, self._now()
        out = Text()
        out.append(c.uid, style="bold")
        out.append(f"  {c.section} · {c.backend.value} · {c.kind.value}", style="dim")
        if c.tags:
            out.append(f" · tags {', '.join(c.tags)}", style="dim")
        out.append("\n")
        out.append(prompt_outline(c.prompt))
        out.append("\n")
        labels = ", ".join(st.labels(now))
        out.append(
            f"{labels} · due {when(st.due, now) if st.state else '–'} · lapses {st.lapses}", style="dim"
        )
        if st.buried(now) and st.buried_until is not None:
            out.append(f" · buried {when(st.buried_until, now)}", style="dim")
        if c.location.path:  # the file's name: the whole path is what `e` opens
            out.append(f" · {Path(c.location.path).name}:{c.location.line or 1} (e edits)", style="dim")
        out.append("\n")
        if entries is None:
            out.append("reading its reviews…", style="dim")
        elif not entries:
            out.append("no reviews yet", style="dim")
        else:
            out.append(f"{len(entries)} review(s), newest first:\n", style="bold")
            for e in entries:
                out.append("\n".join(e.lines()) + "\n")
        return shown(out)  # prompts, answers and errors are deck and run text

    # --- operations ----------------------------------------------------------------------------

    def action_search(self) -> None:
        self.query_one(Input).focus()

    def action_back(self) -> None:
        if self.query_one(Input).has_focus and self.rows:
            self.query_one(DataTable).focus()
            return
        self.app.pop_screen()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Letters typed in the search box are text, not operations.
        return not (action in ("suspend", "bury", "reset", "edit") and self.query_one(Input).has_focus)

    def action_suspend(self) -> None:
        row = self.highlighted()
        if row is not None:
            self.change("unsuspend" if row.status.suspended else "suspend", [row.card.uid])

    def action_bury(self) -> None:
        row = self.highlighted()
        if row is not None:
            self.change("unbury" if row.status.buried(self._now()) else "bury", [row.card.uid])

    def action_reset(self) -> None:
        row = self.highlighted()
        if row is None:
            return
        armed = self.reset_armed
        if armed is not None and armed[0] == row.card.uid and time.monotonic() - armed[1] < 5:
            self.reset_armed = None
            self.change("reset", [row.card.uid])
            return
        self.reset_armed = (row.card.uid, time.monotonic())
        self._status(
            Text(
                f"Reset {row.card.uid} to new? Press r again (its reviews stay in the history).", style="bold"
            )
        )

    def change(self, action: str, uids: list[str]) -> None:
        # Not exclusive: a second key press must not cancel the first one's change.
        self.in_background(
            lambda: self._change(action, uids), doing=f"{action}ing", group="browser-change", exclusive=False
        )

    def _change(self, action: str, uids: list[str]) -> Changed | None:
        from quiz.core.queue import study_day_start
        from quiz.store import browse

        study = self._study()
        if study is None:
            return None
        now = study.clock()
        with study.store.session() as s:
            if action in ("suspend", "unsuspend"):
                changed = browse.suspend_cards(s, study.profile, uids, action == "suspend")
            elif action == "bury":
                until = study_day_start(now, study.settings.scheduling()) + timedelta(days=1)
                changed = browse.bury_cards(s, study.profile, uids, until)
            elif action == "unbury":
                changed = browse.bury_cards(s, study.profile, uids, None)
            else:
                changed = browse.reset_cards(s, study.profile, uids)
            statuses = browse.statuses_of(s, study.profile, uids)
        state = self.state
        if state is not None:
            for uid in uids:
                if uid in statuses:
                    self.app.call_from_thread(state.set_status, uid, statuses[uid])
        return Changed(action, uids, changed)

    @on(Changed)
    def changed(self, message: Changed) -> None:
        past = {
            "suspend": "suspended",
            "unsuspend": "unsuspended: back in the queue",
            "bury": "buried until tomorrow",
            "unbury": "unburied: back in the queue",
            "reset": "reset to new",
        }[message.action]
        self.notify(f"{', '.join(message.uids)} {past}.", timeout=4)
        self.search(self.query_one(Input).value)

    def action_edit(self) -> None:
        import subprocess

        from textual.app import SuspendNotSupported

        from quiz.core.editor import EditorNotFound, editor_command

        row = self.highlighted()
        if row is None:
            return
        card: Card = row.card
        path, line = card.location.path, card.location.line
        if not path:
            self.notify(f"{card.uid} has no deck file to open.", severity="warning")
            return
        try:
            command = editor_command(path, line)
        except EditorNotFound as exc:
            self.notify(str(exc), severity="warning", timeout=8)
            return
        try:
            with self.app.suspend():
                code = subprocess.call(command)
        except SuspendNotSupported:
            if not self.app.is_headless:
                self.notify(f"Cannot leave the screen here: open {path}:{line} yourself.", timeout=8)
                return
            code = subprocess.call(command, stdin=subprocess.DEVNULL)  # headless: no terminal to share
        except OSError as exc:
            self.notify(f"Could not start the editor {command[0]!r}: {exc}", severity="error", timeout=8)
            return
        if code:
            self.notify(f"The editor exited with {code}.", severity="warning", timeout=5)
        else:
            self.notify("Deck saved? Changes count from the next start of quiz.", timeout=5)

    @on(Failed)
    def failed(self, message: Failed) -> None:
        message.stop()
        self.notify(message.text, severity="error", timeout=10)
        self._status(Text(message.text, style="bold red"))
