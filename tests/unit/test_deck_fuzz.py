"""Property tests: random and mutated deck files never crash the loader, and every error is located."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quiz.core.decks import Problem, load_library, parse_deck
from quiz.core.variables import NoVariantError, draw_variant

ROOT = Path(__file__).resolve().parents[2]
DECK_TEXTS = {p.name: p.read_text(encoding="utf-8") for p in sorted((ROOT / "decks").glob("*.toml"))}
SMALL = min(DECK_TEXTS, key=lambda name: len(DECK_TEXTS[name]))

# Values that are valid TOML but wrong for most fields.
WEIRD_VALUES = [
    "3",
    "-1",
    "1e400",
    "true",
    "[]",
    "[1, 2]",
    '["a", 3]',
    "{}",
    "{ int = [5, 1] }",
    "{ shape = { rank = [9, 2] } }",
    '{ broadcast = { signature = "(m)->(q)" } }',
    '{ reshape_of = "nope" }',
    '{ permutation = "x" }',
    "{ expr = \"__import__('os')\" }",
    '"${undefined}"',
    '"${1/0}"',
    '"${"',
    '"torhc"',
    '"raises"',
    '"choice"',
    "1979-05-27T07:32:00Z",
    '""',
    '"x = ("',
    "'''\nmulti\nline\n'''",
]
settings.register_profile("decks", deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_located(problems: list[Problem], text: str, path: str) -> None:
    n_lines = max(1, len(text.splitlines()))
    for p in problems:
        assert p.path == path
        assert isinstance(p.line, int) and 1 <= p.line <= n_lines + 1, (p, n_lines)
        assert p.message.strip()


def check_text(text: str, path: str = "fuzz.toml") -> None:
    deck, problems = parse_deck(text, path)
    assert_located(problems, text, path)
    if deck is None:
        assert problems, "an unusable file must say why"
        return
    for card in deck.cards[:8]:
        try:
            variant = draw_variant(card, 0)
        except NoVariantError as exc:
            assert str(exc)
        else:
            json.dumps(variant.values_json(), default=repr)


@st.composite
def mutated_deck(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(sorted(DECK_TEXTS)))
    lines = DECK_TEXTS[name].splitlines()
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(
            st.sampled_from(["delete", "duplicate", "swap", "insert", "replace-value", "truncate", "chars"])
        )
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "insert":
            lines.insert(i, draw(st.text(max_size=40)))
        elif op == "replace-value" and "=" in lines[i]:
            key = lines[i].split("=", 1)[0]
            value = draw(st.one_of(st.sampled_from(WEIRD_VALUES), st.text(max_size=30).map(json.dumps)))
            lines[i] = f"{key}= {value}"
        elif op == "truncate":
            del lines[i:]
        elif op == "chars":
            line = lines[i]
            k = draw(st.integers(0, len(line)))
            lines[i] = line[:k] + draw(st.text(max_size=5)) + line[k + draw(st.integers(0, 3)) :]
    return "\n".join(lines) + "\n"


@settings(settings.get_profile("decks"), max_examples=150)
@given(st.text(max_size=400))
def test_random_text_never_crashes_the_loader(text: str) -> None:
    check_text(text)


@settings(settings.get_profile("decks"), max_examples=150)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(
                ["[deck]", "[[card]]", "[card.vars]", 'id = "a"', 'title = "T"', "vars.x = {", "'''"]
            ),
            st.text(max_size=30),
        ),
        max_size=30,
    ).map("\n".join)
)
def test_toml_like_text_never_crashes_the_loader(text: str) -> None:
    check_text(text)


@settings(settings.get_profile("decks"), max_examples=120)
@given(mutated_deck())
def test_mutated_built_in_decks_load_or_say_where_they_break(text: str) -> None:
    check_text(text)


@settings(settings.get_profile("decks"), max_examples=25)
@given(mutated_deck())
def test_a_broken_file_never_stops_the_other_decks(tmp_path_factory, text: str) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("lib")
    (folder / "a.toml").write_text(DECK_TEXTS[SMALL], encoding="utf-8")
    (folder / "b.toml").write_text(text, encoding="utf-8")
    (folder / "c.toml").write_text(DECK_TEXTS[SMALL].replace('id = "', 'id = "other-', 1), encoding="utf-8")
    lib = load_library([folder])
    ids = [d.id for d in lib.decks]
    assert ids[0] == parse_deck(DECK_TEXTS[SMALL], "a")[0].id  # type: ignore[union-attr]
    assert ids[-1].startswith("other-")
    for p in lib.problems:
        assert Path(p.path).name in ("b.toml", "c.toml") and isinstance(p.line, int)
