"""Trust (shown at start-up): an added deck is new or changed — here is all the code it would run.

Deck code runs on the learner's machine, so a deck brought in with `quiz deck
add` runs only once the learner has seen its code and agreed; the content
they agreed to is pinned by its sha256 (quiz.store.trust). The bytes shown
here are the bytes pinned: if the file changes while this is open, the pin
won't match it and the deck stays out.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from quiz.core.text import visible
from quiz.tui.render import highlight_python, shown


@dataclass(frozen=True)
class TrustRequest:
    """One added deck waiting for the learner's trust, with what it runs."""

    deck_id: str
    title: str
    path: str
    changed: bool  # True: trusted before, its content changed since
    data: bytes  # the file's bytes, as listed below
    listing: list[tuple[str, str]]  # (card id, the code it runs), only new or changed cards when `changed`


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
        head = Text()
        head.append(f"Deck {r.deck_id!r}", style="bold")
        head.append(f"  {visible(r.title)}\n", style="dim")
        if r.changed:
            head.append("changed since you trusted it. ", style="bold yellow")
            head.append(f"{len(r.listing)} card(s) now run new code:\n")
        else:
            head.append("was added from outside the built-in decks. ", style="bold yellow")
            head.append(f"Its {len(r.listing)} card(s) would run this code on your machine:\n")
        head.append(visible(r.path), style="dim")
        with Vertical(id="trust"):
            yield Static(shown(head), id="trust-head")
            with VerticalScroll(id="trust-code"):
                for card_id, code in r.listing:
                    yield Static(shown(Text(card_id, style="bold cyan")))
                    yield Static(highlight_python(code), classes="trust-card")
            with Horizontal(id="trust-buttons"):
                yield Button("Trust and run it (t)", id="trust-yes", variant="warning")
                yield Button("Not now (Esc)", id="trust-no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "trust-yes")

    def action_trust(self) -> None:
        self.dismiss(True)

    def action_later(self) -> None:
        self.dismiss(False)


def pending_requests(settings: object) -> list[TrustRequest]:
    """Added decks waiting for this learner's trust (reads the added-decks folder and the pins)."""
    from pathlib import Path

    from quiz.core.decks import load_library, parse_deck
    from quiz.store.trust import Trust, code_listing, library_dirs, pending_trust, pins, previously_trusted

    added = load_library(library_dirs())
    pending = pending_trust(added, settings)
    if not pending:
        return []
    from quiz.store.db import open_store

    store = open_store(settings.db_url)  # type: ignore[attr-defined]
    try:
        pinned = pins(store, settings.profile)  # type: ignore[attr-defined]
    finally:
        store.dispose()
    out = []
    for listed, state in pending:
        # List exactly the bytes that will be pinned: read once, parse those.
        data = Path(listed.path).read_bytes()
        deck, _problems = parse_deck(data.decode("utf-8", errors="replace"), listed.path)
        if deck is None:
            continue  # broken files are reported as deck problems, not offered for trust
        previous = previously_trusted(deck.path, pinned) if state == Trust.CHANGED else None
        out.append(
            TrustRequest(
                deck_id=deck.id,
                title=deck.title,
                path=deck.path,
                changed=state == Trust.CHANGED,
                data=data,
                listing=[(card.id, code) for card, code in code_listing(deck, previous)],
            )
        )
    return out
