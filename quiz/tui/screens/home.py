"""Home: the decks with their due / learning / new counts, today's progress and streak, the backends
and what is warming up; study (all decks or the ones picked), exam, statistics, settings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from quiz.core.cards import BACKENDS
from quiz.tui.base import QuizScreen
from quiz.tui.messages import Failed, HomeLoaded
from quiz.tui.render import shown
from quiz.tui.widgets.key_bar import KeyBar

if TYPE_CHECKING:
    from quiz.session.dashboards import HomeData

ALL = "*all*"
STATE_WORDS = {"ready": "ready", "starting": "warming up…", "stopped": "not started"}


class HomeScreen(QuizScreen[None]):
    HELP = """
**Home.** Every deck with what is waiting: **due** (reviews), **learn** (cards being learned,
due now) and **new** (never seen; at most the daily limit a day).

- **Enter** studies the decks you picked with **Space**, or the highlighted one (the first row:
  all decks).
- **e** starts an exam (timed, fresh variants, your schedule is left alone).
- **c** custom study: only a tag (`tag:interview`), a backend, a deck or a section.
- **b** opens the card browser: search, each card's reviews, suspend/unsuspend, bury/unbury,
  reset, open in your editor.
- **t** opens statistics; **,** opens settings (backends, device, new cards a day, retention, theme).
"""

    BINDINGS = [
        Binding("enter", "study", "Study", priority=True),
        Binding("space", "pick", "Pick deck"),
        Binding("e", "exam", "Exam"),
        Binding("c", "custom", "Custom study"),
        Binding("b", "browse", "Browse cards"),
        Binding("t", "stats", "Statistics"),
        Binding("comma", "settings", "Settings"),
        Binding("escape", "back", "Back", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.data: HomeData | None = None
        self.picked: set[str] = set()

    def compose(self) -> ComposeResult:
        yield Static(id="home-title")
        yield Static(id="home-greeting")
        yield Static("loading decks and schedule…", id="home-today")
        yield Static(id="home-backends")
        table: DataTable[Any] = DataTable(id="home-decks", cursor_type="row", zebra_stripes=True)
        yield table
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column(" ", key="pick", width=1)
        table.add_column("deck", key="deck", width=self._deck_width())
        for key, label in (("due", "due"), ("learning", "learn"), ("new", "new"), ("total", "cards")):
            table.add_column(Text(label, justify="right"), key=key, width=5)
        self._title()
        self._backends()
        self.set_interval(1.0, self._backends, name="backends")
        self.quiz_app.watch_warmup(list(BACKENDS))
        self.load()
        table.focus()

    def _deck_width(self) -> int:
        """The deck column takes what the counts leave: titles whole on a wide terminal, 38 at 80 columns."""
        return max(38, min(120, self.app.size.width - 42))

    def on_resize(self) -> None:
        table = self.query_one(DataTable)
        column = table.columns.get("deck")  # type: ignore[call-overload]
        if column is not None and column.width != self._deck_width():
            column.width = self._deck_width()
            self._fill_table()

    def on_screen_resume(self) -> None:
        if self.is_mounted and self.data is not None:
            self.load()

    def settings_changed(self) -> None:
        self._title()
        self._backends()
        self.load()

    def _title(self) -> None:
        s = self.quiz_app.settings
        title = Text()
        title.append("quiz", style="bold")
        title.append(f"  ·  profile {s.profile}", style="dim")
        title.append(f"  ·  {s.new_per_day} new a day, retention {s.desired_retention:.0%}", style="dim")
        self.query_one("#home-title", Static).update(title)

    def _backends(self) -> None:
        from quiz.runner.backends import backend_info

        s = self.quiz_app.settings
        runner = self.quiz_app.runner
        line = Text()
        for name in BACKENDS:
            info = backend_info(name)
            if not info.installed:
                line.append(f"{name} not installed", style="dim")
            elif name not in s.backends:
                line.append(f"{name} off", style="dim")
            else:
                state = runner.state(name) if runner is not None else "stopped"
                style = {"ready": "green", "starting": "bold yellow"}.get(state, "dim")
                line.append(f"{name} ", style="bold")
                line.append(STATE_WORDS.get(state, state), style=style)
            line.append(" · ", style="dim")
        line.append("device ", style="dim")
        line.append(s.device, style="bold")
        self.query_one("#home-backends", Static).update(line)

    def load(self) -> None:
        self.in_background(self._home_data, doing="reading the schedule", group="home")

    def _home_data(self) -> HomeLoaded | None:
        from quiz.session.dashboards import home_data

        app = self.quiz_app
        study = app.wait_for_study()
        if study is None:
            if app.load_error is not None:
                self.app.call_from_thread(self.load_failed, app.load_error)
            return None
        return HomeLoaded(home_data(study))

    @on(HomeLoaded)
    def show(self, message: HomeLoaded) -> None:
        from quiz.tui.widgets.session_summary import when

        data = self.data = message.data
        now = self.quiz_app.clock()
        today = Text()
        today.append("today ", style="dim")
        today.append(f"{data.reviewed_today} answered", style="bold")
        if data.graded_today:
            today.append(f", {data.correct_today} right")
        today.append(" · streak ", style="dim")
        today.append(f"{data.streak} day{'s' if data.streak != 1 else ''}", style="bold")
        today.append(" · ", style="dim")
        today.append(f"{data.new_left_today} new left", style="bold blue" if data.new_left_today else "dim")
        waiting = data.total.due + data.total.learning
        if waiting == 0 and data.next_due is not None:
            today.append(f" · next due {when(data.next_due, now)}", style="dim")
        suspended = data.total.suspended
        if suspended:
            today.append(f" · {suspended} suspended (b: browse)", style="bold")
        leeches = data.total.leeches
        if leeches:
            today.append(f" · {leeches} leech{'es' if leeches > 1 else ''}", style="bold red")
        self.query_one("#home-today", Static).update(today)
        greeting = self.query_one("#home-greeting", Static)
        if data.total_reviews == 0:
            cards = sum(c.total for _, c in data.decks)
            greeting.update(
                Text.from_markup(
                    f"[b]Welcome![/b] The built-in decks are ready: [b]{cards}[/b] cards in "
                    f"[b]{len(data.decks)}[/b] decks, each graded by running its code on the real "
                    "frameworks. Press [b]Enter[/b] to start with all decks, or pick some with [b]Space[/b]."
                )
            )
            greeting.display = True
        else:
            greeting.display = False
        self._fill_table()

    def _fill_table(self) -> None:
        data = self.data
        if data is None:
            return
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        t = data.total

        def num(n: int, style: str) -> Text:
            return Text(str(n), style=style if n else "dim", justify="right")

        table.add_row(
            self._mark(ALL),
            Text("All decks", style="bold"),
            num(t.due, "bold red"),
            num(t.learning, "bold yellow"),
            num(min(t.new, data.new_left_today), "bold blue"),
            num(t.total, "bold"),
            key=ALL,
        )
        for deck, c in data.decks:
            title = Text(deck.id, style="bold")
            deck_title = deck.title_in(self.quiz_app.settings.lang)
            if deck_title:
                title.append(f"  {deck_title}", style="dim")
            title = shown(title)
            title.truncate(self._deck_width(), overflow="ellipsis")
            table.add_row(
                self._mark(deck.id),
                title,
                num(c.due, "bold red"),
                num(c.learning, "bold yellow"),
                num(c.new, "bold blue"),
                num(c.total, "bold"),
                key=deck.id,
            )
        if 0 <= row < table.row_count:
            table.move_cursor(row=row)

    def _mark(self, key: str) -> Text:
        return Text("✓", style="bold green") if key in self.picked else Text(" ")

    def _highlighted(self) -> str | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return str(key) if key is not None else None

    def action_pick(self) -> None:
        key = self._highlighted()
        if key is None:
            return
        if key == ALL:
            self.picked.clear()
        else:
            self.picked ^= {key}
        self._fill_table()

    def action_study(self) -> None:
        if self.picked:
            decks: list[str] | None = sorted(self.picked)
        else:
            key = self._highlighted()
            decks = None if key in (None, ALL) else [str(key)]
        self.quiz_app.start_study(decks)

    @on(DataTable.RowSelected)
    def row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_study()

    def action_exam(self) -> None:
        self.quiz_app.open_exam_setup()

    def action_custom(self) -> None:
        self.quiz_app.open_custom_study()

    def action_browse(self) -> None:
        self.quiz_app.open_browser()

    def action_stats(self) -> None:
        self.quiz_app.open_stats()

    def action_settings(self) -> None:
        self.quiz_app.open_settings()

    def action_back(self) -> None:
        """Esc on Home: nothing beneath it to go back to (Ctrl+Q quits)."""
        self.notify("Ctrl+Q quits.", timeout=2)

    def load_failed(self, error: str) -> None:
        """Loading the decks or the schedule failed: say so where "loading…" stood (Ctrl+Q still quits)."""
        if not self.is_attached:
            return
        line = Text("Could not load the decks and schedule: ", style="bold red")
        line.append(error)
        line.append("\nCtrl+Q quits; details in the log (quiz doctor checks the set-up).", style="dim")
        self.query_one("#home-today", Static).update(shown(line))

    @on(Failed)
    def failed(self, message: Failed) -> None:
        self.notify(f"Problem while {message.what}: {message.error}", severity="error", timeout=10)
