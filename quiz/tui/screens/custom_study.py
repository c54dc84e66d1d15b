"""Custom study (`c` from Home): a session over one slice of the library — a deck, a tag such as
`interview`, a backend, a section — typed as the browser's filters (`tag:interview backend:torch`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from quiz.tui.render import shown

if TYPE_CHECKING:
    from quiz.core.queue import StudyScope  # noqa: F401 (the screen's result type, named in a string)
    from quiz.session.study import Study


class CustomStudyScreen(ModalScreen["StudyScope | None"]):
    """Returns the scope to study (quiz.core.queue.StudyScope), or None when cancelled."""

    HELP = """
**Custom study.** Study only part of your cards: `tag:interview`, `backend:torch`, `deck:autograd`,
`section:broadcasting`, or several together (each must hold; `tag:a,b` takes either). Enter starts
the session; the usual daily limits apply. Esc cancels.
"""

    DEFAULT_CSS = """
    CustomStudyScreen { align: center middle; }
    CustomStudyScreen #custom { width: 80; max-width: 100%; height: auto; border: thick $primary;
        background: $surface; padding: 0 1; }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, study: Study) -> None:
        super().__init__()
        self.study = study

    def compose(self) -> ComposeResult:
        tags = sorted({t for c in self.study.library.cards() for t in c.tags})
        with Vertical(id="custom"):
            yield Static(Text("Custom study", style="bold"))
            yield Input(placeholder="tag:interview backend:torch deck:… section:…", id="custom-scope")
            hint = Text("tags: ", style="dim")
            hint.append(", ".join(tags) or "none", style="dim")
            hint.append("\nEnter starts · Esc cancels", style="dim")
            yield Static(shown(hint), id="custom-hint")
            yield Static(id="custom-error")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted, "#custom-scope")
    def submitted(self, event: Input.Submitted) -> None:
        from quiz.core.browse import QueryError, parse_search
        from quiz.core.queue import StudyScope

        error = self.query_one("#custom-error", Static)
        try:
            query = parse_search(event.value)
        except QueryError as exc:
            error.update(shown(Text(str(exc), style="bold red")))
            return
        if query.text or query.states or query.kinds:
            error.update(
                Text(
                    "Custom study takes deck:, tag:, backend: and section: (not words, kinds or states).",
                    style="bold red",
                )
            )
            return
        scope = StudyScope(
            decks=query.decks, tags=query.tags, backends=query.backends, sections=query.sections
        )
        if scope.everything:
            error.update(Text("Say what to study, e.g. tag:interview.", style="bold red"))
            return
        if not any(self.study.usable(c) and scope.includes(c) for c in self.study.library.cards()):
            error.update(shown(Text(f"No card you study matches {event.value!r}.", style="bold red")))
            return
        self.dismiss(scope)

    def action_cancel(self) -> None:
        self.dismiss(None)
