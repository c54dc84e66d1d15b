"""Settings: backends, device, new cards a day, desired retention, theme, language; saved for this profile
(in the profile's settings file, read at start-up, and in the database, which follows the learner)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, Select, SelectionList, Static

from quiz.config import (
    DEVICES,
    SettingsError,
    check_learner_settings,
    learner_settings_file,
    save_learner_settings,
)
from quiz.core.cards import BACKENDS
from quiz.core.i18n import LANGUAGE_NAMES, LANGUAGES, t
from quiz.core.text import visible
from quiz.tui.base import QuizModalScreen
from quiz.tui.widgets.key_bar import KeyBar

if TYPE_CHECKING:
    from quiz.config import Settings
    from quiz.session.study import Study


class SettingsScreen(QuizModalScreen["Settings | None"]):
    """Returns the new Settings once saved, or None when cancelled."""

    HELP = """
**Settings**, saved for this profile and used from now on.

- **Backends**: the frameworks you study (and compare against after each answer).
- **Device**: where card code runs: `auto` (a GPU if the framework sees one), `cpu` or `gpu`.
- **New cards a day**: how many never-seen cards each study day may bring.
- **Desired retention**: how sure FSRS should be that you still know a card when it comes back
  (0.90 is a good default; higher means more reviews).
- **Theme**: the colours (the `NO_COLOR` environment variable turns colour off altogether).
- **Language** (语言): the cards' text and quiz's own words, English or 中文 (a card without
  Chinese text is shown in English). `--lang` on the command line sets it for one run.
- **Optimize FSRS for my history…** fits the scheduler to your own reviews (as `quiz optimize`)
  and applies the fitted weights if you confirm.

**Ctrl+S** saves, Esc cancels.
"""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save"),
    ]

    def __init__(self, settings: Settings, study: Study | None) -> None:
        super().__init__()
        self.settings = settings
        self.study = study

    def compose(self) -> ComposeResult:
        from quiz.runner.backends import backend_info

        s = self.settings
        installed = [b for b in BACKENDS if backend_info(b).installed]
        missing = [b for b in BACKENDS if b not in installed]
        # Scrolls: at 80×24 the form is taller than the screen, and the Optimize button was cut off.
        with VerticalScroll(id="settings"):
            yield Static(f"[b]Settings[/b] for profile [b]{s.profile}[/b]", id="settings-title")
            with Horizontal():
                with Vertical(id="settings-left"):
                    yield Label("backends")
                    yield SelectionList[str](*[(b, b, b in s.backends) for b in installed], id="set-backends")
                    if missing:
                        yield Static(f"[dim]not installed: {', '.join(missing)}[/dim]")
                    yield Label("theme")
                    themes = sorted(self.app.available_themes)
                    yield Select(
                        [(t, t) for t in themes],
                        value=s.theme if s.theme in themes else themes[0],
                        allow_blank=False,
                        id="set-theme",
                    )
                    pinned = " (set on the command line)" if "lang" in s.pinned else ""
                    yield Label(t("settings.language", s.lang) + pinned)
                    yield Select(
                        [(LANGUAGE_NAMES[code], code) for code in LANGUAGES],
                        value=s.lang,
                        allow_blank=False,
                        id="set-lang",
                        disabled="lang" in s.pinned,
                    )
                with Vertical(id="settings-right"):
                    yield Label("device" + (" (set on the command line)" if "device" in s.pinned else ""))
                    yield Select(
                        [(d, d) for d in DEVICES],
                        value=s.device,
                        allow_blank=False,
                        id="set-device",
                        disabled="device" in s.pinned,
                    )
                    yield Label("new cards a day")
                    yield Input(str(s.new_per_day), id="set-new", type="integer")
                    yield Label("desired retention (0.70–0.99)")
                    yield Input(f"{s.desired_retention:.2f}", id="set-retention", type="number")
                    with Horizontal(id="settings-buttons"):
                        yield Button("Save", variant="primary", id="settings-save")
                        yield Button("Cancel", id="settings-cancel")
                    yield Button("Optimize FSRS for my history…", id="settings-optimize")
            yield Static(id="settings-error")
        yield KeyBar()

    def values(self) -> dict[str, Any]:
        """What the form says, validated (raises SettingsError naming the bad value)."""
        try:
            new = int(self.query_one("#set-new", Input).value)
        except ValueError:
            raise SettingsError("new cards a day must be a whole number") from None
        try:
            retention = float(self.query_one("#set-retention", Input).value)
        except ValueError:
            raise SettingsError("desired retention must be a number such as 0.90") from None
        raw = {
            "backends": tuple(self.query_one("#set-backends", SelectionList).selected),
            "device": self.query_one("#set-device", Select).value,
            "new_per_day": new,
            "desired_retention": retention,
            "theme": self.query_one("#set-theme", Select).value,
            "lang": self.query_one("#set-lang", Select).value,
        }
        return check_learner_settings(raw)

    def action_save(self) -> None:
        error = self.query_one("#settings-error", Static)
        try:
            values = self.values()
        except SettingsError as exc:
            error.update(Text(visible(str(exc)), style="bold red"))
            return
        for key in ("device", "lang"):
            if key in self.settings.pinned:
                values.pop(key, None)
        try:
            path = save_learner_settings(self.settings.profile, {**_saved(self.settings.profile), **values})
        except OSError as exc:
            error.update(Text(visible(f"could not save the settings: {exc}"), style="bold red"))
            return
        if self.study is not None:
            try:
                from quiz.session.saved_settings import save_settings

                save_settings(self.study, values)
            except Exception as exc:  # the file is saved: the database copy can wait for next time
                self.notify(f"Saved to {path}, but not to the database: {exc}", severity="warning", timeout=8)
        self.notify(f"Settings saved ({path.name}).", timeout=3)
        self.dismiss(replace(self.settings, **values))

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#settings-save")
    def save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#settings-cancel")
    def cancel_pressed(self) -> None:
        self.action_cancel()

    @on(Button.Pressed, "#settings-optimize")
    def optimize_pressed(self) -> None:
        """Fit FSRS to this learner's reviews (quiz optimize); applied weights are saved at once."""
        from quiz.tui.screens.optimize import OptimizeScreen

        def applied(new: Settings | None) -> None:
            if new is not None:
                self.settings = replace(self.settings, fsrs_parameters=new.fsrs_parameters)
                self.quiz_app.apply_settings(new, self.study)

        self.app.push_screen(OptimizeScreen(self.settings), applied)

    @on(Input.Submitted)
    def input_submitted(self) -> None:
        self.action_save()


def _saved(profile: str) -> dict[str, Any]:
    from quiz.config import read_learner_settings

    return read_learner_settings(profile) if learner_settings_file(profile).exists() else {}
