"""Where the learner answers, shaped by the kind of card: a field, yes/no, options, a code editor.

Every form posts `AnswerBox.Submitted` with the answer as text (what
`quiz.core.answers.parse_answer` reads). Only the text field is built at
start-up; the other forms are made when a card needs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Static

from quiz.core.answers import DTYPES, hint_for
from quiz.core.cards import Card, Kind
from quiz.core.i18n import DEFAULT_LANGUAGE, t
from quiz.tui.lang import lang_of
from quiz.tui.render import shown
from quiz.tui.widgets.hidden import displayed

if TYPE_CHECKING:
    from quiz.core.variables import Variant

# The label before the text field, as catalog keys ("field.shape" is "shape"; "field.answer" otherwise).
FIELD_LABEL = {
    Kind.SHAPE: "field.shape",
    Kind.DTYPE: "field.dtype",
    Kind.VALUE: "field.value",
    Kind.RAISES: "field.raises",
}
EXCEPTIONS = (
    "no error",
    "RuntimeError",
    "ValueError",
    "TypeError",
    "IndexError",
    "KeyError",
    "AttributeError",
    "InvalidArgumentError",
    "MXNetError",
    "NotImplementedError",
    "AssertionError",
)
# The two answers of yes/no cards: (key, label's catalog key, the text parse_answer reads). The keys
# and the text read stay the same in every language; only the label is translated.
YES_NO = {
    Kind.BOOL: (("y", "yesno.yes", "yes"), ("n", "yesno.no", "no")),
    Kind.GRAD_IS_NONE: (("n", "yesno.none", "none"), ("t", "yesno.tensor", "not none")),
}


class YesNo(Horizontal, can_focus=True):
    """Two answers side by side, one key each (shown in the label); arrows and Enter work too."""

    def __init__(self, kind: Kind, lang: str = DEFAULT_LANGUAGE) -> None:
        super().__init__(classes="answer-form")
        self.options = YES_NO[kind]
        self.lang = lang
        self.selected = 0

    def compose(self) -> ComposeResult:
        for i, (key, label, _) in enumerate(self.options):
            option = Static(
                Text.assemble((f" {key} ", "bold reverse"), f" {t(label, self.lang)} "),
                classes="yesno-option",
            )
            option.index = i  # type: ignore[attr-defined]
            yield option

    def on_mount(self) -> None:
        self._paint()

    def _paint(self) -> None:
        for i, option in enumerate(self.query(".yesno-option")):
            option.set_class(i == self.selected, "-selected")

    def pick(self, key: str) -> bool:
        for i, (k, _, _) in enumerate(self.options):
            if k == key:
                self.selected = i
                self._paint()
                return True
        return False

    @property
    def answer(self) -> str:
        return self.options[self.selected][2]

    def on_key(self, event: Any) -> None:
        if self.disabled:
            return
        if event.key in ("left", "right", "up", "down"):
            self.selected = 1 - self.selected
            self._paint()
            event.stop()
        elif event.key == "enter" or (event.character and self.pick(event.character.lower())):
            event.stop()
            self.post_message(AnswerBox.Submitted(self.answer))

    def on_click(self, event: Any) -> None:
        index = getattr(event.widget, "index", None)
        if index is not None and not self.disabled:
            self.selected = index
            self._paint()
            self.post_message(AnswerBox.Submitted(self.answer))


class AnswerField(Input):
    """The text field of the answer form."""

    def check_consume_key(self, key: str, character: str | None = None) -> bool:
        # Hidden (the verdict shown), it types nothing: the study screen's rating keys get the keys
        # while the focus is still here, until the verdict is painted (StudyScreen.watch_phase).
        return displayed(self) and super().check_consume_key(key, character)


class AnswerBox(Vertical):
    """The answer area of the study and exam screens."""

    @dataclass
    class Submitted(Message):
        """The learner's answer, as text."""

        value: str

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.kind: Kind | None = None
        self.form = "field"
        self.widget: Widget | None = None  # the form in use other than the text field
        # Held, not queried: a query parses its selector, and this runs on the first paint.
        self.field = AnswerField(
            placeholder="your prediction, then Enter", id="answer", select_on_focus=False
        )
        self.label = Static("answer", id="answer-label")
        self.row = Horizontal(id="answer-row")
        # The hint is the field's placeholder; where it does not fit (80 columns) it is this line instead.
        self.hint_text = ""
        self.hint_line = Static("", id="answer-hint", markup=False)

    def compose(self) -> ComposeResult:
        # No select-on-focus on the field: a key typed as it takes focus must not be selected and replaced.
        with self.row:
            yield self.label
            yield self.field
        yield self.hint_line

    # --- asking ---------------------------------------------------------------------

    def ask(self, card: Card, variant: Variant, typed: str = "") -> bool:
        """Show the right form for `card`; `typed` is what the learner typed ahead. Returns True when
        that already chose an answer (yes/no or an option), which the caller then submits."""
        self.kind = card.kind
        self.remove_class("-locked")
        lang = lang_of(self)
        key = typed.strip()[:1].lower()
        if card.kind in YES_NO:
            box = YesNo(card.kind, lang)
            self._use("yesno", box)
            return bool(key) and box.pick(key)
        if card.kind == Kind.CHOICE:
            return self._ask_choice(variant.choices or card.choices, key)
        if card.kind in (Kind.CODE, Kind.TRANSLATE):
            from quiz.tui.widgets.code_editor import CodeEditor

            editor = CodeEditor()
            self._use("code", editor)
            editor.insert(typed)
            return False
        self._use("field", None)
        field = self.field
        field.disabled = False
        field.value = typed
        field.cursor_position = len(typed)
        self.hint_text = t("field.then_enter", lang, hint=hint_for(card, lang))
        self._fit_hint()
        field.suggester = _suggester(card.kind)
        self.label.update(t(FIELD_LABEL.get(card.kind, "field.answer"), lang))
        field.focus()
        return False

    def _ask_choice(self, choices: tuple[str, ...], key: str) -> bool:
        from textual.widgets import OptionList
        from textual.widgets.option_list import Option

        options = []
        for i, text in enumerate(choices):
            letter = chr(ord("a") + i)
            options.append(
                Option(shown(Text.assemble((f" {letter} ", "bold reverse"), " ", text)), id=letter)
            )
        box = OptionList(*options, classes="answer-form answer-choice")
        self._use("choice", box)
        if key and "a" <= key < chr(ord("a") + len(choices)):
            box.highlighted = ord(key) - ord("a")
            return True
        return False

    def _fit_hint(self) -> None:
        """The hint as the field's placeholder when it fits in the field, else wrapped under it."""
        hint, field = self.hint_text, self.field
        # Before the first layout the field has no width yet: the app's, less the label and the borders.
        width = field.content_size.width or self.app.size.width - 15
        fits = cell_len(hint) <= width
        field.placeholder = hint if fits else ""
        if not fits:
            self.hint_line.update(hint)
        self.hint_line.display = self.form == "field" and not fits

    def on_resize(self) -> None:
        if self.form == "field" and self.hint_text:
            self._fit_hint()

    def _use(self, form: str, widget: Widget | None) -> None:
        """Keep the text field (built once), replace any other form with `widget`."""
        if self.widget is not None:
            self.widget.remove()
        self.widget = widget
        self.row.display = form == "field"
        if form != "field":
            self.hint_line.display = False
        self.form = form
        if widget is not None:
            self.mount(widget)
            widget.focus()

    # --- reading and locking --------------------------------------------------------------

    @property
    def value(self) -> str:
        if self.form == "field" or self.widget is None:
            return self.field.value
        if isinstance(self.widget, YesNo):
            return self.widget.answer
        if self.form == "choice":
            highlighted = getattr(self.widget, "highlighted", None)
            return "" if highlighted is None else chr(ord("a") + highlighted)
        return str(getattr(self.widget, "text", ""))

    def set_locked(self, locked: bool) -> None:
        """While the answer runs (and after): the form stays visible but takes no input."""
        field = self.field
        widgets = [field] if self.widget is None else [field, self.widget]
        if locked == self.has_class("-locked") and all(w.disabled == locked for w in widgets):
            return  # unchanged: restyling costs milliseconds on the first paint and the verdict
        self.set_class(locked, "-locked")
        field.disabled = locked
        if self.widget is not None:
            self.widget.disabled = locked

    def focus_answer(self) -> None:
        target = self.widget if self.form != "field" else self.field
        if target is not None and not target.disabled:
            target.focus()

    def receive(self, character: str) -> None:
        """A key typed before the form had focus: give it to the form, as if it had."""
        self.focus_answer()
        if self.form == "field":
            field = self.field
            field.insert_text_at_cursor(character)
        elif isinstance(self.widget, YesNo):
            if self.widget.pick(character.lower()):
                self.post_message(self.Submitted(self.widget.answer))
        elif self.form == "choice":
            self.on_key(_Typed(character))
        elif self.widget is not None:
            self.widget.insert(character)  # type: ignore[attr-defined]

    @on(Input.Submitted, "#answer")
    def _field_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Submitted(event.value))

    def on_option_list_option_selected(self, event: Any) -> None:
        event.stop()
        self.post_message(self.Submitted(event.option.id or ""))

    def on_code_editor_submitted(self, event: Any) -> None:
        event.stop()
        self.post_message(self.Submitted(event.value))

    def on_key(self, event: Any) -> None:
        # Letters pick options directly (a, b, c…), as the labels show.
        if (
            self.form == "choice"
            and self.widget is not None
            and event.character
            and event.character.isalpha()
        ):
            count = getattr(self.widget, "option_count", 0)
            i = ord(event.character.lower()) - ord("a")
            if 0 <= i < count:
                event.stop()
                self.widget.highlighted = i  # type: ignore[attr-defined]
                self.post_message(self.Submitted(chr(ord("a") + i)))


class _Typed:
    """A key as `on_key` reads it, for keys handed over by `receive`."""

    def __init__(self, character: str) -> None:
        self.character = character

    def stop(self) -> None:
        pass


def _suggester(kind: Kind) -> Any:
    if kind == Kind.DTYPE:
        from textual.suggester import SuggestFromList

        return SuggestFromList(sorted(DTYPES), case_sensitive=False)
    if kind == Kind.RAISES:
        from textual.suggester import SuggestFromList

        return SuggestFromList(EXCEPTIONS, case_sensitive=False)
    return None
