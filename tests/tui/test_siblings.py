"""After the verdict, the same card family on the other backends, side by side, with the same values."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import update

from quiz.core.siblings import shared_values
from quiz.store.models import CardState
from quiz.tui.app import QuizApp, build_study
from quiz.tui.widgets.siblings_view import SiblingPanel
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
        assert "same values" in head
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
