"""The learner's card family on the other backends: each sibling's question, code, real result, and
whether that result is the same as the learner's card (quiz.core.siblings decides).

Filled in after the verdict, one backend at a time as each worker answers; a
backend still loading says so. A sibling runs with the very values the learner
just saw wherever its variables allow; otherwise with its own draw, and the
panel says why. Panels sit side by side when the terminal is wide enough for
all of them, else stacked; while the comparison is out of sight below the
verdict, a one-line hint near the verdict's top carries the marks.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, ScrollableContainer, Vertical
from textual.widgets import Static

from quiz.core.i18n import DEFAULT_LANGUAGE, t
from quiz.core.siblings import Comparison, Mark, compare, drawn, share
from quiz.core.text import visible
from quiz.tui.lang import lang_of
from quiz.tui.render import highlight_python, markdown_text, shown
from quiz.tui.widgets.card_view import numbered

if TYPE_CHECKING:
    from quiz.core.cards import Card
    from quiz.core.grading import RunResult
    from quiz.core.variables import Variant

# Side by side only when every panel gets this many of the view's columns (code lines wrap below
# it), and never in fewer than WIDE: a 100-column terminal (a 92-column view) stacks.
PANEL_MIN = 48
WIDE = 100

# Catalog keys (quiz.core.i18n) and styles of each mark, in full and short.
MARK_TEXT = {
    Mark.SAME: ("siblings.mark.same", "bold green"),
    Mark.DIFFERS: ("siblings.mark.differs", "bold red"),
    Mark.NOT_COMPARED: ("siblings.mark.not_compared", "yellow"),
}
SHORT_MARK = {
    Mark.SAME: ("siblings.short.same", "bold green"),
    Mark.DIFFERS: ("siblings.short.differs", "bold red"),
    Mark.NOT_COMPARED: ("siblings.short.not_compared", "yellow"),
}


def side_by_side(width: int, panels: int) -> bool:
    """Whether `panels` fit next to each other in a view `width` columns wide."""
    return width >= max(WIDE, panels * PANEL_MIN)


def one_line(prompt: str) -> str:
    """A question on one line: its line breaks and runs of spaces become single spaces."""
    return re.sub(r"\s+", " ", prompt).strip()


def outcome(card: Card, result: RunResult, lang: str = DEFAULT_LANGUAGE) -> Text:
    """What the code did, in the learner's words ("(2, 3)", "raises RuntimeError", "no error")."""
    from quiz.core.grading import format_truth, raised_truth

    out = Text()
    raised = raised_truth(card, result)
    if raised is not None:  # a card that invites "error": raising is its result
        out.append("→ ", style="bold")
        out.append(f"raises {raised.type}", style="bold")
        return out
    if not result.ok:
        out.append(t("siblings.could_not_run", lang), style="bold yellow")
        out.append(visible(result.error or t("siblings.unknown_error", lang)), style="yellow")
        return out
    out.append("→ ", style="bold")
    out.append(visible(format_truth(card, result.truth)), style="bold")
    return out


def _alike(a: Any, b: Any) -> bool:
    """The same value, lists and tuples alike (a stored draw comes back with lists)."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_alike(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def _values_text(variant: Variant) -> str:
    return ", ".join(f"{k} = {v!r}" for k, v in variant.values.items())


class SiblingPanel(Vertical):
    """One backend's card: whose it is and how it compares, its question, its code, its result."""

    def __init__(self, backend: str, *, current: bool = False) -> None:
        super().__init__(classes="sibling" + (" -current" if current else ""), id=f"sibling-{backend}")
        self.backend = backend
        self.current = current
        self.comparison: Comparison | None = None
        self.variant: Variant | None = None  # what it ran (None while it waits)

    def compose(self) -> ComposeResult:
        yield Static(id=f"sibling-head-{self.backend}", classes="sibling-head")
        yield Static(id=f"sibling-question-{self.backend}", classes="sibling-question")
        yield Static(id=f"sibling-code-{self.backend}", classes="sibling-code")
        yield Static(id=f"sibling-out-{self.backend}", classes="sibling-out")

    def _part(self, name: str) -> Static:
        return self.query_one(f"#sibling-{name}-{self.backend}", Static)

    def show_waiting(self, card: Card, note: str) -> None:
        head = Text()
        head.append(card.backend.value, style="bold cyan")
        head.append(f"  {card.id}", style="dim")
        self._part("head").update(shown(head))
        self._part("question").update(shown(markdown_text(one_line(card.prompt))))
        self._part("out").update(shown(Text(note, style="dim italic")))

    def show(
        self,
        card: Card,
        variant: Variant,
        result: RunResult | None,
        *,
        comparison: Comparison | None = None,
        values_note: Text | None = None,
    ) -> None:
        """Fill the panel; `comparison` None on the learner's own card."""
        self.comparison, self.variant = comparison, variant
        lang = lang_of(self)
        head = Text()
        head.append(card.backend.value, style="bold cyan")
        if self.current:
            head.append(t("siblings.yours", lang), style="bold")
        elif comparison is not None:
            key, style = MARK_TEXT[comparison.mark]
            head.append(f"  {t(key, lang)}", style=style)
            if comparison.why:
                head.append(
                    f"\n{comparison.why}", style="dim" if comparison.mark == Mark.DIFFERS else "yellow"
                )
        if values_note is not None:
            head.append("\n")
            head.append_text(values_note)
        self._part("head").update(shown(head))
        self._part("question").update(shown(markdown_text(one_line(variant.prompt))))
        self._part("code").update(numbered(highlight_python(variant.code)))
        self._part("out").update(
            shown(outcome(card, result, lang))
            if result is not None
            else Text(t("siblings.running", lang), style="dim italic")
        )


class SiblingsHint(Static):
    """Near the verdict's top: the marks, and that the comparison is below, while it is out of sight."""

    def on_mount(self) -> None:
        self.display = False


class SiblingsView(Vertical):
    """A title and one panel per backend (the learner's card first)."""

    def __init__(self, *, hint: SiblingsHint | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.hint = hint
        self.card: Card | None = None
        self.variant: Variant | None = None
        self.result: RunResult | None = None
        self.sibling_cards: list[Card] = []
        self._watching: ScrollableContainer | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="siblings-title")
        yield Horizontal(id="siblings-row")

    async def reset(
        self,
        card: Card,
        variant: Variant,
        result: RunResult | None,
        siblings: list[Card],
        notes: dict[str, str],
    ) -> None:
        """Start over for a new verdict: the learner's card, and a waiting panel per sibling."""
        self.card, self.variant, self.result, self.sibling_cards = card, variant, result, list(siblings)
        row = self.query_one("#siblings-row", Horizontal)
        await row.remove_children()  # gone before panels with the same ids come
        self.display = bool(siblings)
        if not siblings:
            self._update_hint()
            return
        self._lay_out()
        panels = [SiblingPanel(card.backend.value, current=True)] + [
            SiblingPanel(s.backend.value) for s in siblings
        ]
        await row.mount_all(panels)
        lang = lang_of(self)
        panels[0].show(card, variant, result, values_note=self._own_values(card, variant, lang))
        for s, panel in zip(siblings, panels[1:], strict=True):
            panel.show_waiting(s, notes.get(s.backend.value, t("siblings.waiting", lang)))
        self._retitle()
        self._watch_scroll()
        self.call_after_refresh(self._update_hint)

    def show_sibling(self, card: Card, variant: Variant, same_values: bool, result: RunResult | None) -> None:
        mine, my_variant, my_result = self.card, self.variant, self.result
        if mine is None or my_variant is None:
            return
        why_not = ""
        if not same_values:
            why_not = (
                share(card, my_variant.values, dict(mine.variables)).why_not or "your values do not fit it"
            )
        comparison = None
        if result is not None and my_result is not None:
            comparison = compare(
                mine,
                my_result,
                card,
                result,
                same_values=same_values,
                why_not=why_not,
                my_choices=my_variant.choices,
                its_choices=variant.choices,
            )
        note = self._sibling_values(mine, my_variant, card, variant, same_values, lang_of(self))
        for panel in self.query(SiblingPanel):
            if panel.backend == card.backend.value:
                panel.show(card, variant, result, comparison=comparison, values_note=note)
        self._retitle()
        self.call_after_refresh(self._update_hint)

    # --- what the panels say ---------------------------------------------------------------

    @staticmethod
    def _own_values(card: Card, variant: Variant, lang: str) -> Text | None:
        if not drawn(card):
            return Text(t("siblings.fixed", lang), style="dim")
        return Text(t("siblings.your_values", lang, values=visible(_values_text(variant))), style="dim")

    @staticmethod
    def _sibling_values(
        mine: Card, my_variant: Variant, card: Card, variant: Variant, same_values: bool, lang: str
    ) -> Text:
        if not drawn(card):
            return Text(t("siblings.fixed", lang), style="dim")
        if same_values:
            unused = [n for n in drawn(mine) if n not in dict(card.variables)]
            note = t("siblings.same_values", lang)
            if unused:
                note += t("siblings.takes_no", lang, names=", ".join(unused))
            return Text(note, style="green")
        # Its own draw, which keeps those of the learner's values its specs take (Study.sibling_variant).
        mine_drawn = set(drawn(mine))
        yours = [
            n
            for n in drawn(card)
            if n in mine_drawn
            and n in my_variant.values
            and _alike(variant.values.get(n), my_variant.values[n])
        ]
        own = {n: variant.values[n] for n in drawn(card) if n not in yours and n in variant.values}
        values = visible(", ".join(f"{k} = {v!r}" for k, v in own.items()))
        out = Text(style="yellow")
        if yours:
            out.append(t("siblings.yours_some", lang, names=", ".join(yours)), style="green")
            out.append(" · ", style="dim")
            out.append(t("siblings.own_some", lang, values=values))
        else:
            out.append(t("siblings.own_values", lang, values=values))
        return out

    def marks(self) -> list[tuple[str, Mark | None]]:
        """Each sibling's backend and mark (None while it runs)."""
        return [
            (p.backend, p.comparison.mark if p.comparison is not None else None)
            for p in self.query(SiblingPanel)
            if not p.current
        ]

    def _summary(self) -> Text:
        out = Text()
        lang = lang_of(self)
        for i, (backend, mark) in enumerate(self.marks()):
            if i:
                out.append(" · ", style="dim")
            out.append(f"{backend} ", style="bold cyan")
            if mark is None:
                out.append(t("siblings.running", lang), style="dim italic")
            else:
                key, style = SHORT_MARK[mark]
                out.append(t(key, lang), style=style)
        return out

    def _retitle(self) -> None:
        if self.card is None:
            return
        lang = lang_of(self)
        title = Text()
        title.append(t("siblings.title", lang, backend=self.card.backend.value), style="bold")
        title.append_text(self._summary())
        title.append(t("siblings.family", lang), style="dim")
        title.append(self.card.family, style="dim bold")
        title.append(")" if lang == DEFAULT_LANGUAGE else "）", style="dim")
        self.query_one("#siblings-title", Static).update(shown(title))

    # --- layout: side by side when wide, the hint while below the fold ---------------------

    def _lay_out(self) -> None:
        width = self.size.width or self.app.size.width
        self.set_class(not side_by_side(width, 1 + len(self.sibling_cards)), "-narrow")

    def on_resize(self, event: Any) -> None:
        if self.sibling_cards:
            self._lay_out()
            self.call_after_refresh(self._update_hint)

    def _watch_scroll(self) -> None:
        scroll = next((a for a in self.ancestors if isinstance(a, ScrollableContainer)), None)
        if scroll is not None and scroll is not self._watching:
            self._watching = scroll
            # After the refresh: regions on screen follow the scroll only once it is painted.
            self.watch(scroll, "scroll_y", self._scrolled, init=False)

    def _scrolled(self) -> None:
        self.call_after_refresh(self._update_hint)

    def below_the_fold(self) -> bool:
        """Whether part of the comparison is below what the scrolling view shows."""
        scroll = self._watching
        if not self.display or scroll is None:
            return False
        return self.region.bottom > scroll.content_region.bottom

    def _update_hint(self) -> None:
        hint = self.hint
        if hint is None:
            return
        show = bool(self.sibling_cards) and self.below_the_fold()
        if show:
            lang = lang_of(self)
            text = Text()
            text.append(t("siblings.hint", lang), style="bold")
            text.append_text(self._summary())
            text.append(t("siblings.hint_keys", lang), style="dim")
            hint.update(shown(text))
        hint.display = show
