"""The base of quiz's screens: typed access to the app, and one way to work in a background thread.

A screen never touches the app's threads or events: it asks the app to wait for the study session
(`wait_for_study`, `wait_for_runner`, called from a worker thread) and hands its slow work to
`in_background`, which posts what the work returns — or, when it raises, the failure — as a message
the screen handles on the UI thread ("attributes down, messages up").
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from textual.message import Message
from textual.screen import ModalScreen, Screen

from quiz.tui.messages import Failed

if TYPE_CHECKING:
    from quiz.config import Settings
    from quiz.core.exam import ExamConfig
    from quiz.runner.client import Runner
    from quiz.session.study import Study

__all__ = ["QuizAppAPI", "QuizModalScreen", "QuizScreen"]

ResultType = TypeVar("ResultType")


class QuizAppAPI(Protocol):
    """What a screen uses of quiz's app besides Textual's App (quiz.tui.app.QuizApp; mypy checks it
    there). A protocol, so the screens need not import the app that imports them."""

    settings: Settings
    study: Study | None
    runner: Runner | None
    clock: Callable[[], datetime]
    deck: str | None
    load_error: str | None  # why loading failed (None: it did not, or not yet)
    isolation_header: str | None
    exiting: bool
    exit_after_first_card: bool
    exam_config: ExamConfig | None

    def wait_for_study(self, timeout: float = 300) -> Study | None:
        """From a worker thread: the study session once loaded; None if loading failed or the app quit."""
        ...

    def wait_for_runner(self, timeout: float = 300) -> Runner | None:
        """From a worker thread: the runner once made; None if it was not (loading failed, the app quit)."""
        ...

    def run_in_order(self, job: Callable[[], None]) -> None:
        """Run `job` on the app's one long-lived grading thread, after the jobs handed to it before."""
        ...

    def load(self) -> Any: ...
    def watch_warmup(self, backends: list[str]) -> Any: ...
    def go_home(self) -> None: ...
    def start_study(self, deck_ids: list[str] | None) -> None: ...
    def open_custom_study(self) -> None: ...
    def open_browser(self, query: str = "") -> None: ...
    def open_stats(self) -> None: ...
    def open_exam_setup(self) -> None: ...
    def open_settings(self) -> None: ...
    def apply_settings(self, new: Settings, study: Study | None) -> None: ...


def failure_message(doing: str) -> Callable[[Exception], Message | None]:
    """The usual answer to a failure: Failed(doing, "TypeName: what it says"), shown, never a traceback."""

    def failed(exc: Exception) -> Message:
        return Failed(doing, f"{type(exc).__name__}: {exc}")

    return failed


class QuizScreen(Screen[ResultType]):
    """A screen of quiz's app."""

    @property
    def quiz_app(self) -> QuizAppAPI:
        """The app, typed as what screens may use of it (the one cast of the app in the screens)."""
        return cast("QuizAppAPI", self.app)

    def in_background(
        self,
        job: Callable[[], Message | None],
        *,
        doing: str,
        group: str,
        exclusive: bool = True,
        in_order: bool = False,
        failure: Callable[[Exception], Message | None] | None = None,
    ) -> None:
        """Run `job` in a thread, then post the message it returns (None: nothing to post) to this screen.

        If it raises, `failure(exc)` is posted instead (default: Failed(doing, "TypeName: error")); a
        `failure` that returns None keeps quiet. `exclusive`: a new job of `group` cancels the one
        running (a worker checks `get_current_worker().is_cancelled` between steps). `in_order`: on the
        app's grading thread instead, one job after another in the order given (grading must not
        overtake itself, and a warm thread costs the verdict nothing to start).
        """
        on_failure = failure or failure_message(doing)

        def run() -> None:
            try:
                message = job()
            except Exception as exc:  # shown as a message, logged by whoever handles it
                message = on_failure(exc)
            if message is not None:
                self.post_message(message)

        if in_order:
            self.quiz_app.run_in_order(run)
        else:
            self.run_worker(run, name=doing, group=group, exclusive=exclusive, thread=True, exit_on_error=False)


class QuizModalScreen(ModalScreen[ResultType], QuizScreen[ResultType]):
    """A dialog of quiz's app: the screen below dims, its keys come first; `dismiss(value)` answers."""

    # ModalScreen first: Textual reads a screen's default CSS along the first base of each class, so
    # with QuizScreen first ModalScreen's (the dimmed background) would be skipped.
