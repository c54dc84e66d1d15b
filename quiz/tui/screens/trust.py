"""Trust (shown at start-up): an added deck is new or changed — here is everything it would run and tell.

Deck code runs on the learner's machine, so a deck brought in with `quiz deck
add` runs only once the learner has seen it and agreed. The review
(`quiz.trust_review`) lists every field that decides what runs or what the
learner is told — code, vars, answer, result, choices, prompt, explain,
requirements — card by card; for a new version, what differs from the one
trusted before, field by field. The bytes reviewed are the bytes pinned: if
the file changes while this is open, the pin won't match it and the deck
stays out. Deck text is shown as plain text, never as markup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from quiz.core.text import visible
from quiz.tui.render import highlight_python, shown

if TYPE_CHECKING:
    from quiz.library import TrustRequest
    from quiz.trust_review import CardReview, FieldReview

# Fields holding Python: highlighted when shown whole.
PYTHON_FIELDS = ("code", "source_code", "answer", "result")


class TrustScreen(ModalScreen[bool]):
    """Dismisses with True when the learner trusts the deck."""

    BINDINGS = [
        Binding("t", "trust", "Trust and run it"),
        Binding("escape,n", "later", "Not now"),
    ]

    def __init__(self, request: TrustRequest) -> None:
        super().__init__()
        self.request = request

    def compose(self) -> ComposeResult:
        r = self.request
        review = r.review
        head = Text()
        head.append(f"Deck {r.deck_id!r}", style="bold")
        head.append(f"  {visible(r.title)}\n", style="dim")
        if r.changed and review.against_trusted:
            head.append("changed since you trusted it. ", style="bold yellow")
            head.append(
                f"{review.changed_cards} card(s) new or changed, {review.unchanged} the same "
                "in everything they run and show:\n"
            )
        elif r.changed:
            head.append("changed since you trusted it ", style="bold yellow")
            head.append("(the version you trusted is not at hand, so all of it is shown):\n")
        else:
            head.append("was added from outside the built-in decks. ", style="bold yellow")
            head.append(f"Its {len(review.cards)} card(s) would run this code on your machine:\n")
        if r.problems:
            head.append(
                f"{len(r.problems)} part(s) of the file did not load and are not listed; they do not run.\n",
                style="dim",
            )
        head.append(visible(str(r.path)), style="dim")
        with Vertical(id="trust"):
            yield Static(shown(head), id="trust-head")
            with VerticalScroll(id="trust-code"):
                if review.deck:
                    yield Static(Text("deck", style="bold cyan"))
                    for f in review.deck:
                        yield from _field(f)
                for card in review.cards:
                    yield Static(shown(_card_heading(card)))
                    for f in card.fields:
                        yield from _field(f)
                if r.changed and review.against_trusted and not review.cards and not review.deck:
                    yield Static(
                        Text("No card differs in anything it runs or shows: only comments or layout changed.")
                    )
            with Horizontal(id="trust-buttons"):
                yield Button("Trust and run it (t)", id="trust-yes", variant="warning")
                yield Button("Not now (Esc)", id="trust-no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "trust-yes")

    def action_trust(self) -> None:
        self.dismiss(True)

    def action_later(self) -> None:
        self.dismiss(False)


def _card_heading(card: CardReview) -> Text:
    text = Text()
    text.append(card.card_id, style="bold cyan")
    if card.heading:
        text.append(f"  {card.heading}", style="dim")
    text.append(f"  {card.where}", style="dim")
    style = {"new": "bold green", "changed": "bold yellow", "removed": "bold red"}[card.status]
    text.append(f"  [{card.status}]", style=style)
    return text


def _field(f: FieldReview) -> ComposeResult:
    label = Text()
    label.append(f.label, style="bold")
    if f.changed and f.before is not None:
        label.append("  changed", style="bold yellow")
    yield Static(shown(label), classes="trust-label")
    if f.changed and f.before is not None:
        diff = Text()
        for line in f.diff():
            style = "red" if line.startswith("-") else "green" if line.startswith("+") else "dim"
            diff.append(line + "\n", style=style)
        yield Static(shown(diff), classes="trust-card")
    elif f.name in PYTHON_FIELDS:
        yield Static(highlight_python(f.text), classes="trust-card")
    else:
        yield Static(shown(f.text), classes="trust-card")
