"""After the verdict, the same card family on the other backends, side by side, with the same values."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from quiz.core.cards import Card, Kind
from quiz.core.siblings import Mark, shared_values
from quiz.core.variables import build_variant, draw_variant
from quiz.session.compose import build_study
from quiz.session.grading import run_truth
from quiz.session.study import MAX_SEED
from quiz.store.models import CardState
from quiz.tui.app import QuizApp
from quiz.tui.widgets.siblings_view import SiblingPanel, SiblingsView
from tests.tui.conftest import settings_for, wait_for

pytestmark = [pytest.mark.torch, pytest.mark.mxnet]


async def test_the_family_runs_on_the_other_backend_with_the_same_values(
    kinds_library: Path, tmp_path: Path, runner: object
) -> None:
    settings = settings_for(tmp_path, backends=("torch", "mxnet"))
    study = build_study(settings, None, runner=runner)  # type: ignore[arg-type]
    with study.store.session() as s:
        s.execute(
            update(CardState).where(CardState.card_uid != "kinds/broadcast.torch").values(suspended=True)
        )
        s.commit()
    study.store.dispose()

    app = QuizApp(settings, runner=runner)  # type: ignore[arg-type]
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.study_screen
        await wait_for(pilot, lambda: screen.phase == "question")
        assert screen.card.uid == "kinds/broadcast.torch"  # type: ignore[union-attr]
        a, b = screen.variant.values["a"], screen.variant.values["b"]  # type: ignore[union-attr]
        await pilot.press(*f"{a}x{b}", "enter")
        await wait_for(pilot, lambda: screen.phase == "verdict")
        await wait_for(pilot, lambda: bool(screen.query("#sibling-mxnet")))
        panel = screen.query_one("#sibling-mxnet", SiblingPanel)
        # mxnet may still be starting: its panel says so, then fills in.
        await wait_for(pilot, lambda: "→" in str(panel.query_one(".sibling-out").render()), timeout=90)
        head = str(panel.query_one(".sibling-head").render())
        code = str(panel.query_one(".sibling-code").render())
        out = str(panel.query_one(".sibling-out").render())
        assert "your values" in head and "✓ same as your card" in head
        assert f"nd.zeros(({a}, 1))" in code and f"shape=({a}, {b})" in code
        assert out.strip() == f"→ ({a}, {b})"
        mine = str(screen.query_one("#sibling-torch", SiblingPanel).query_one(".sibling-out").render())
        assert mine.strip() == f"→ ({a}, {b})"
    assert app.errors == []


def test_values_are_shared_only_where_the_other_card_accepts_them(
    kinds_library: Path, tmp_path: Path, runner: object
) -> None:
    study = build_study(settings_for(tmp_path), None, runner=runner)  # type: ignore[arg-type]
    study.store.dispose()
    mx = study.cards["kinds/broadcast.mxnet"]
    assert shared_values(mx, {"a": 3, "b": 4}) == {"a": 3, "b": 4}
    assert shared_values(mx, {"a": 3, "b": 9}) is None  # b is 2..6 on this card
    assert shared_values(mx, {"a": 3}) is None  # b missing: it draws its own
    variant, same = study.sibling_variant(mx, study.prepare(study.cards["kinds/broadcast.torch"], seed=4))
    assert same and variant.card_uid == "kinds/broadcast.mxnet"


# --- the comparison on the built-in decks: same or differs, from real runs --------------------

SHAPE_ANSWER = "1x1"  # any well-formed shape: the comparison does not depend on the answer


@dataclass(frozen=True)
class Pick:
    """A torch shape card from the built-in decks whose tensorflow and mxnet siblings both take its
    values, and an rng seed whose first draw gives one sibling the same result and one another."""

    uid: str
    rng_seed: int


def _first_draw(rng_seed: int) -> int:
    return random.Random(rng_seed).randrange(MAX_SEED)


@pytest.fixture(scope="session")
def pick(builtin_library: Any, runner: Any) -> Pick:
    """Found by running the cards (never from a card id written here: decks change)."""
    families: dict[tuple[str, str], list[Card]] = {}
    for c in builtin_library.cards():
        families.setdefault((c.deck_id, c.family), []).append(c)
    for rng_seed in range(3):
        for members in families.values():
            by_backend = {c.backend.value: c for c in members}
            torch = by_backend.get("torch")
            if torch is None or torch.kind != Kind.SHAPE or not {"tensorflow", "mxnet"} <= by_backend.keys():
                continue
            siblings = [by_backend["tensorflow"], by_backend["mxnet"]]
            if any(s.kind != Kind.SHAPE or s.may_raise for s in siblings) or torch.may_raise:
                continue
            variant = draw_variant(torch, _first_draw(rng_seed))
            shared = [shared_values(s, variant.values, dict(torch.variables)) for s in siblings]
            if any(v is None for v in shared):
                continue
            mine = run_truth(runner, torch, variant, device="cpu")
            theirs = [
                run_truth(runner, s, build_variant(s, variant.seed, v), device="cpu")  # type: ignore[arg-type]
                for s, v in zip(siblings, shared, strict=True)
            ]
            if not mine.ok or not all(r.ok for r in theirs):
                continue
            if len({str(mine.truth) == str(r.truth) for r in theirs}) == 2:  # one same, one not
                return Pick(torch.uid, rng_seed)
    pytest.fail("no built-in shape family gives one sibling the same result and one another")


async def _verdict_with_siblings(
    pick: Pick, tmp_path: Path, runner: Any, size: tuple[int, int], check: Any
) -> None:
    """One app run: answer the picked card, wait for every sibling's mark, then `check(pilot, screen)`."""
    settings = settings_for(tmp_path)
    study = build_study(settings, None, runner=runner)
    with study.store.session() as s:
        s.execute(update(CardState).where(CardState.card_uid != pick.uid).values(suspended=True))
        s.commit()
    study.store.dispose()

    def seeded(settings: Any, deck: Any, **kw: Any) -> Any:
        made = build_study(settings, deck, **kw)
        made.rng = random.Random(pick.rng_seed)
        return made

    app = QuizApp(settings, runner=runner, study_factory=seeded, use_prepared_start=False)
    async with app.run_test(size=size) as pilot:
        screen = app.study_screen
        await wait_for(pilot, lambda: screen.phase == "question")
        assert screen.card.uid == pick.uid  # type: ignore[union-attr]
        assert screen.variant.seed == _first_draw(pick.rng_seed)  # type: ignore[union-attr]
        await pilot.press(*SHAPE_ANSWER, "enter")
        await wait_for(pilot, lambda: screen.phase == "verdict")

        def marked() -> bool:
            panels = [p for p in screen.query(SiblingPanel) if not p.current]
            return len(panels) == 2 and all(p.comparison is not None for p in panels)

        await wait_for(pilot, marked, timeout=120)
        await pilot.pause(0.1)  # the hint follows the layout after a refresh
        await check(pilot, screen)
    assert app.errors == []


def _text(widget: Any) -> str:
    return str(widget.render())


def _check_marks(screen: Any) -> dict[str, Mark]:
    """Each sibling's mark must agree with the outcomes on screen; returns backend → mark."""
    panels = {p.backend: p for p in screen.query(SiblingPanel)}
    mine = _text(panels["torch"].query_one(".sibling-out"))
    assert mine.startswith("→ (")
    marks = {}
    for backend in ("tensorflow", "mxnet"):
        panel = panels[backend]
        out = _text(panel.query_one(".sibling-out"))
        head = _text(panel.query_one(".sibling-head"))
        assert out.startswith("→ (")
        assert panel.comparison is not None
        marks[backend] = panel.comparison.mark
        if out == mine:
            assert panel.comparison.mark == Mark.SAME and "✓ same as your card" in head
        else:
            assert panel.comparison.mark == Mark.DIFFERS and "✗ differs from your card" in head
            assert f"yours: {mine.removeprefix('→ ')}" in head
        assert "your values" in head and "its own values" not in head
        # Its own question (not the learner's), on one line.
        question = _text(panel.query_one(".sibling-question"))
        assert question == re.sub(r"\s+", " ", panel.variant.prompt).replace("`", "").strip()
        assert panel.variant.card_uid.endswith(f".{backend}")
    title = _text(screen.query_one("#siblings-title"))
    assert "the same on the other backends" not in title
    assert sorted(marks.values()) == sorted([Mark.SAME, Mark.DIFFERS])
    return marks


def _regions(screen: Any) -> list[Any]:
    return [p.region for p in screen.query(SiblingPanel)]


@pytest.mark.tensorflow
async def test_wide_terminal_puts_the_backends_side_by_side(pick: Pick, tmp_path: Path, runner: Any) -> None:
    async def check(pilot: Any, screen: Any) -> None:
        _check_marks(screen)
        regions = _regions(screen)
        assert len({r.y for r in regions}) == 1, regions  # one row
        assert [r.x for r in regions] == sorted(r.x for r in regions) and regions[0].x < regions[1].x
        below = (
            screen.query_one(SiblingsView).region.bottom
            > screen.query_one("#card-scroll").content_region.bottom
        )
        assert screen.query_one("#siblings-hint").display == below

    await _verdict_with_siblings(pick, tmp_path, runner, (160, 45), check)


@pytest.mark.tensorflow
@pytest.mark.parametrize("size", [(100, 30), (80, 24)])
async def test_narrow_terminal_stacks_them_and_hints_while_below_the_fold(
    pick: Pick, tmp_path: Path, runner: Any, size: tuple[int, int]
) -> None:
    async def check(pilot: Any, screen: Any) -> None:
        marks = _check_marks(screen)
        regions = _regions(screen)
        assert len({r.x for r in regions}) == 1 and [r.y for r in regions] == sorted(r.y for r in regions)
        hint = screen.query_one("#siblings-hint")
        scroll = screen.query_one("#card-scroll")
        assert hint.display and scroll.content_region.contains_region(hint.region)  # on screen
        text = _text(hint)
        for backend, mark in marks.items():
            assert f"{backend} {'✓ same' if mark == Mark.SAME else '✗ differs'}" in text
        await pilot.press("end")  # scrolled down to the comparison: no hint needed (scrolling animates)
        await wait_for(pilot, lambda: not hint.display, timeout=5)
        await pilot.press("home")
        await wait_for(pilot, lambda: hint.display, timeout=5)

    await _verdict_with_siblings(pick, tmp_path, runner, size, check)
