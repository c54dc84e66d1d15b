"""The browser's pure side: which cards a query matches, the states a card is in, the editor command line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from quiz.core.browse import STATES, CardIndex, CardQuery, CardStatus, QueryError
from quiz.core.cards import Backend, Kind, Location
from quiz.core.editor import EditorNotFound, editor_command
from quiz.core.stats import LEECH_LAPSES
from tests.factories import card

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)

CARDS = [
    card(
        Kind.SHAPE,
        deck_id="views",
        id="expand.torch",
        section="view-permute-expand",
        prompt="Shape after expand?",
        code="y = x.expand(2, 3)",
        tags=("interview",),
    ),
    card(
        Kind.SHAPE,
        deck_id="views",
        id="expand.tensorflow",
        section="view-permute-expand",
        backend=Backend.TENSORFLOW,
        prompt="Shape after broadcast_to?",
        code="y = tf.broadcast_to(x, (2, 3))",
        tags=("interview",),
    ),
    card(
        Kind.BOOL,
        deck_id="grad",
        id="detach.torch",
        section="autograd",
        prompt="Is y.requires_grad?",
        code="y = x.detach()",
    ),
    card(
        Kind.RAISES,
        deck_id="grad",
        id="inplace.mxnet",
        section="autograd",
        backend=Backend.MXNET,
        prompt="What does the in-place EXPAND raise?",
        code="x += 1",
    ),
]


def uids(cards: list) -> list[str]:  # type: ignore[type-arg]
    return [c.uid for c in cards]


def test_library_filters_all_hold_and_each_takes_any_of_its_values() -> None:
    index = CardIndex.build(CARDS)
    assert len(index) == 4
    assert uids(index.matching(CardQuery())) == uids(CARDS)
    assert uids(index.matching(CardQuery(text="expand"))) == [  # prompt, code or id, any case
        "views/expand.torch",
        "views/expand.tensorflow",
        "grad/inplace.mxnet",
    ]
    assert uids(index.matching(CardQuery(text="EXPAND after torch"))) == ["views/expand.torch"]
    assert uids(index.matching(CardQuery(text="broadcast_to"))) == ["views/expand.tensorflow"]  # code
    assert uids(index.matching(CardQuery(text="detach.torch"))) == ["grad/detach.torch"]  # id
    assert uids(index.matching(CardQuery(decks=("grad",), backends=("mxnet", "tensorflow")))) == [
        "grad/inplace.mxnet"
    ]
    assert uids(index.matching(CardQuery(tags=("interview",), backends=("tensorflow",)))) == [
        "views/expand.tensorflow"
    ]
    assert uids(index.matching(CardQuery(kinds=("bool", "raises")))) == [
        "grad/detach.torch",
        "grad/inplace.mxnet",
    ]
    assert uids(index.matching(CardQuery(sections=("autograd",), text="nothing like this"))) == []


def test_an_unknown_state_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(QueryError, match="new, learning, review, due, suspended, buried, leech"):
        CardQuery(states=("forgotten",))


@pytest.mark.parametrize(
    ("status", "labels", "primary"),
    [
        (CardStatus(), ("new",), "new"),
        (CardStatus(state=1, due=NOW - timedelta(minutes=1)), ("learning", "due"), "due"),
        (CardStatus(state=3, due=NOW + timedelta(minutes=5)), ("learning",), "learning"),
        (CardStatus(state=2, due=NOW + timedelta(days=3)), ("review",), "review"),
        (CardStatus(state=2, due=NOW, suspended=True), ("review", "suspended"), "suspended"),
        (CardStatus(state=0, suspended=True), ("new", "suspended"), "suspended"),
        (
            CardStatus(state=2, due=NOW - timedelta(days=1), buried_until=NOW + timedelta(hours=3)),
            ("review", "buried"),
            "buried",
        ),
        (
            CardStatus(state=2, due=NOW - timedelta(days=1), buried_until=NOW - timedelta(hours=3)),
            ("review", "due"),
            "due",
        ),
        (
            CardStatus(state=2, due=NOW + timedelta(days=1), lapses=LEECH_LAPSES),
            ("review", "leech"),
            "review",
        ),
    ],
)
def test_card_states(status: CardStatus, labels: tuple[str, ...], primary: str) -> None:
    assert status.labels(NOW) == labels
    assert status.primary(NOW) == primary
    assert set(labels) <= set(STATES)


LOC = Location("/decks/views.toml", 42)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"EDITOR": "vim"}, ["vim", "+42", "/decks/views.toml"]),
        ({"EDITOR": "nano", "VISUAL": "emacsclient -t"}, ["emacsclient", "-t", "+42", "/decks/views.toml"]),
        ({"EDITOR": "code --wait"}, ["code", "--wait", "-g", "/decks/views.toml:42"]),
        ({"EDITOR": "/usr/local/bin/subl"}, ["/usr/local/bin/subl", "/decks/views.toml:42"]),
        ({"EDITOR": "  "}, ["nano", "+42", "/decks/views.toml"]),  # blank: the fallback
        ({"EDITOR": "'my editor"}, ["'my editor", "+42", "/decks/views.toml"]),  # unbalanced quote
    ],
)
def test_editor_command(env: dict[str, str], expected: list[str]) -> None:
    assert (
        editor_command(
            LOC.path, LOC.line, env, which=lambda name: f"/usr/bin/{name}" if name == "nano" else None
        )
        == expected
    )


def test_editor_fallback_and_no_editor_at_all() -> None:
    assert editor_command("/d.toml", None, {}, which=lambda n: "/bin/vi" if n == "vi" else None) == [
        "vi",
        "/d.toml",
    ]
    with pytest.raises(EditorNotFound, match=r"set \$EDITOR"):
        editor_command("/d.toml", 3, {}, which=lambda n: None)


@pytest.mark.parametrize("name", ["-c:!touch pwned", "+!touch pwned", "--help"])
def test_a_deck_file_name_is_never_read_as_an_option_or_a_vi_command(name: str) -> None:
    command = editor_command(name, 7, {"EDITOR": "vi"})
    assert command == ["vi", "+7", f"./{name}"]
    assert not any(arg.startswith(("-", "+!")) for arg in command[2:])


def test_text_search_finds_every_card_once_and_never_across_two_cards() -> None:
    cards = [
        card(
            Kind.SHAPE,
            id=f"c{i}",
            prompt=f"zz zz {'tail-ex' if i == 1 else ''}",
            code="pand" if i == 2 else "",
        )
        for i in range(4)
    ]
    index = CardIndex.build(cards)
    assert uids(index.matching(CardQuery(text="zz"))) == uids(cards)
    assert uids(index.matching(CardQuery(text="tail-ex"))) == ["d/c1"]
    assert index.matching(CardQuery(text="expand")) == []  # "…tail-ex" + "d/c2…pand" are two cards
    assert index.matching(CardQuery(text="ex\0d/c2")) == []
    assert uids(index.matching(CardQuery(text="C3"))) == ["d/c3"]  # the id, any case


def test_the_browser_search_box_reads_filters_and_leaves_code_as_text() -> None:
    from quiz.core.browse import QueryError, parse_search

    q = parse_search("detach Deck:autograd,matmul tag:interview is:suspended backend:torch x[:, 0]")
    assert q.text == "detach x[:, 0]"  # colons in code stay text
    assert q.decks == ("autograd", "matmul") and q.tags == ("interview",)
    assert q.states == ("suspended",) and q.backends == ("torch",)
    assert parse_search("state:due state:leech").states == ("due", "leech")
    assert parse_search("tag:") == parse_search("")  # an empty filter filters nothing
    with pytest.raises(QueryError, match="unknown state 'frozen'"):
        parse_search("is:frozen")
