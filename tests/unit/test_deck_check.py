"""`quiz deck check` and `quiz deck new`, running real card code in real workers."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from quiz.checking.check import CheckOptions, CheckReport, run_check, same_truth, truth_key
from quiz.checking.records import Records, fingerprint, records_path, stale_count
from quiz.cli import main
from quiz.core.decks import parse_deck
from tests.cli.conftest import lent  # noqa: F401  (fixture)

pytestmark = pytest.mark.torch

HEADER = '[deck]\nid = "t"\ntitle = "T"\n'


def card(
    card_id: str,
    kind: str,
    code: str,
    vars_toml: str,
    *,
    answer: str | None = "x",
    extra: str = "",
    explain: str = "e",
) -> str:
    lines = [
        "[[card]]",
        f'id = "{card_id}"',
        'section = "s"',
        f'backend = "{card_id.rsplit(".", 1)[-1] if "." in card_id else "torch"}"',
        f'kind = "{kind}"',
        'prompt = "p"',
        f"code = '''\n{textwrap.dedent(code).strip()}\n'''",
        *([f'answer = "{answer}"'] if answer is not None else []),
        f"explain = {explain!r}" if "'" not in explain else f'explain = "{explain}"',
        *([extra] if extra else []),
        textwrap.dedent(vars_toml).strip(),
    ]
    return "\n".join(lines) + "\n\n"


@pytest.fixture(scope="module")
def pool(runner: Any) -> Any:
    """The session's warm runner as a pool of one worker per backend, what `RunnerPool(1)` is: no
    framework start of this module's own (the canary checks the runner after each test)."""
    from quiz.commands.common import PoolOfOne

    return PoolOfOne(runner)


@pytest.fixture
def check(pool: Any, tmp_path: Path) -> Callable[..., CheckReport]:
    def run(text: str, name: str = "deck.toml", **options: Any) -> CheckReport:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        opts = {"variants": 6, "search": 5, "backends": ("torch",), "device": "cpu"} | options
        return run_check([str(path)], CheckOptions(**opts), pool=pool)

    return run


def by_card(report: CheckReport) -> dict[str, Any]:
    return {r.card.id: r for r in report.results}


BAD = HEADER + "".join(
    [
        card(
            "index.torch",
            "shape",
            "x = torch.zeros(${s})\ny = x[${i}]",
            "vars.s = { shape = { rank = [1, 3], side = [1, 5] } }\nvars.i = { int = [0, 4] }",
            answer="y.shape",
        ),
        card(
            "never.torch",
            "raises",
            "x = torch.zeros(${n})\ny = x + 1",
            "vars.n = { int = [1, 4] }",
            answer=None,
        ),
        card(
            "choice.torch",
            "choice",
            "x = torch.zeros(${n})",
            "vars.n = { int = [1, 4] }",
            answer="'c' if x.numel() > 2 else 'a'",
            extra='choices = ["a", "b"]',
        ),
        card(
            "notshape.torch",
            "shape",
            "x = torch.zeros(${n})",
            "vars.n = { int = [1, 4] }",
            answer="x.numel()",
        ),
        card(
            "const.torch", "bool", "x = torch.zeros(${n})", "vars.n = { int = [1, 4] }", answer="x.dim() == 1"
        ),
        card(
            "const-ok.torch",
            "bool",
            "x = torch.zeros(${n})",
            "vars.n = { int = [1, 4] }",
            answer="x.dim() == 1",
            extra="constant = true",
        ),
        card(
            "hang.torch",
            "value",
            "import time\nwhile ${n} > 3:\n    time.sleep(0.01)\nx = ${n}",
            "vars.n = { int = [1, 6] }",
            extra="timeout = 1",
        ),
        card(
            "good.torch",
            "shape",
            "x = torch.zeros(${s})",
            "vars.s = { shape = { rank = [1, 3], side = [1, 4] } }",
            answer="x.shape",
        ),
        card(
            "flip.torch",
            "raises",
            "x = torch.zeros(${s})\ny = x.permute(${p})\nz = y.view(-1)",
            'vars.s = { shape = { rank = [2, 3], side = [2, 3] } }\nvars.p = { permutation = "s" }',
            answer=None,
            explain="${'It runs.' if p == tuple(range(len(s))) else 'It raises `RuntimeError`.'}",
        ),
    ]
)


def test_broken_cards_are_flagged_and_their_failures_shrunk(check: Callable[..., CheckReport]) -> None:
    report = check(BAD, variants=8)
    cards = by_card(report)
    flags = {cid: {f.code for f in r.flags} for cid, r in cards.items()}
    assert flags == {
        "index.torch": {"raises"},
        "never.torch": {"never-raises"},
        "choice.torch": {"answer"},
        "notshape.torch": {"answer"},
        "const.torch": {"constant"},
        "const-ok.torch": set(),
        "hang.torch": {"timeout"},
        "good.torch": set(),
        "flip.torch": set(),
    }
    assert not report.ok
    assert {cid for cid, r in cards.items() if r.status == "pass"} == {
        "const-ok.torch",
        "good.torch",
        "flip.torch",
    }
    # hypothesis shrinks each per-variant failure to the smallest variant that still fails
    assert cards["index.torch"].minimal.values == {"s": [1], "i": 1}
    assert "IndexError" in cards["index.torch"].minimal.message
    assert cards["choice.torch"].minimal.values == {"n": 3}
    assert "not one of the choices" in cards["choice.torch"].flags[0].message
    assert cards["notshape.torch"].minimal.values == {"n": 1}
    assert "cannot be compared as a shape" in cards["notshape.torch"].flags[0].message
    assert cards["hang.torch"].minimal.values == {"n": 4}
    assert "x = 4" in cards["hang.torch"].minimal.code
    raised = {truth_key(cards["flip.torch"].card, t) for t in cards["flip.torch"].truths.values()}
    assert raised == {"RuntimeError", "no error"}


def test_the_search_finds_a_failure_the_seeds_missed(check: Callable[..., CheckReport]) -> None:
    text = HEADER + card(
        "rare.torch",
        "value",
        "x = 100000 // ${n}",
        "vars.n = { int = [0, 100000] }",
    )
    report = check(text, variants=3, search=5)
    (result,) = report.results
    assert [f.seed for f in result.flags] == [None]  # not found by a seed...
    assert result.flags[0].code == "raises"
    assert result.minimal is not None and result.minimal.values == {"n": 0}  # ...but by the search
    assert "ZeroDivisionError" in result.minimal.message


def test_a_truth_the_seeds_never_saw_change_is_cleared_by_the_search(
    check: Callable[..., CheckReport],
) -> None:
    text = HEADER + card("rare.torch", "bool", "x = ${n}", "vars.n = { int = [0, 100000] }", answer="x == 0")
    seeds_only = check(text, variants=6, search=0)
    assert [f.code for f in seeds_only.results[0].flags] == ["constant"]
    searched = check(text, variants=6, search=3)  # hypothesis tries n = 0 first: the truth does change
    assert searched.ok, searched.results[0].flags


def test_search_zero_runs_only_the_seeds(check: Callable[..., CheckReport]) -> None:
    text = HEADER + card("rare.torch", "value", "x = 100000 // ${n}", "vars.n = { int = [0, 100000] }")
    report = check(text, variants=3, search=0)
    assert report.ok and report.results[0].runs == 3


def test_rendered_choices_and_answers_are_what_runs(check: Callable[..., CheckReport]) -> None:
    text = HEADER + card(
        "promote.torch",
        "choice",
        "a = torch.ones(2, dtype=torch.${x})\nb = torch.ones(2, dtype=torch.${y})\nc = a + b",
        'vars.x = { choice = ["int32", "int64", "float32"] }\nvars.y = { choice = ["float16", "float32", "float64"] }',
        answer="str(c.dtype).removeprefix('torch.')",
        extra='choices = ["${x}", "${y}"]\nassume = ["x != y"]',
    )
    report = check(text)
    assert report.ok, [f.message for r in report.results for f in r.flags]
    assert len({json.dumps(t) for t in report.results[0].truths.values()}) > 1


def _rewrite_record(card_uid: str, change: Callable[[dict[str, Any]], None]) -> None:
    path = records_path()
    data = json.loads(path.read_text())
    change(data["cards"][card_uid])
    path.write_text(json.dumps(data))


def test_truth_changes_across_versions_are_reported_stale(check: Callable[..., CheckReport]) -> None:
    text = HEADER + card(
        "good.torch",
        "shape",
        "x = torch.zeros(${s})",
        "vars.s = { shape = { rank = [1, 3], side = [1, 4] } }",
        answer="x.shape",
    )
    first = check(text)
    assert first.ok and first.stale == [] and stale_count() == 0
    record = Records.load().data["cards"]["t/good.torch"]
    assert set(record["truths"]) == {str(s) for s in range(6)}
    assert record["versions"]["torch"] == first.versions["torch"]

    def as_if_older_torch_said_otherwise(rec: dict[str, Any]) -> None:
        rec["versions"]["torch"] = "2.12.0"
        rec["truths"]["2"] = [99]

    _rewrite_record("t/good.torch", as_if_older_torch_said_otherwise)
    second = check(text)
    assert [s.uid for s in second.stale] == ["t/good.torch"]
    stale = second.stale[0]
    assert stale.seeds == (2,) and stale.before["torch"] == "2.12.0" and stale.was == {"2": [99]}
    assert second.ok  # stale is news, not a failure
    assert stale_count() == 1 and second.stale_total == 1

    third = check(text)  # same versions again: still stale from the last upgrade, nothing new
    assert third.stale == [] and third.stale_total == 1 and stale_count() == 1

    edited = text.replace("x = torch.zeros(${s})", "x = torch.ones(${s})")
    fourth = check(edited)  # an edited card starts afresh
    assert fourth.stale_total == 0 and stale_count() == 0


def test_a_truth_that_moves_on_the_same_versions_is_unstable(check: Callable[..., CheckReport]) -> None:
    text = HEADER + card(
        "good.torch",
        "shape",
        "x = torch.zeros(${s})",
        "vars.s = { shape = { rank = [1, 3], side = [1, 4] } }",
        answer="x.shape",
    )
    check(text)
    _rewrite_record("t/good.torch", lambda rec: rec["truths"].__setitem__("1", [99]))
    report = check(text)
    (result,) = report.results
    assert result.status == "fail" and [f.code for f in result.flags] == ["unstable"]
    assert result.flags[0].seed == 1


def test_damaged_records_are_set_aside_not_lost(check: Callable[..., CheckReport]) -> None:
    path = records_path()
    path.write_text("{not json")
    text = HEADER + card(
        "good.torch",
        "shape",
        "x = torch.zeros(${s})",
        "vars.s = { shape = { rank = [1, 3], side = [1, 4] } }",
        answer="x.shape",
    )
    report = check(text)
    assert report.ok and any("damaged" in n for n in report.notes)
    aside = list(path.parent.glob(path.name + ".damaged-*"))
    assert len(aside) == 1 and aside[0].read_text() == "{not json"
    assert "t/good.torch" in json.loads(path.read_text())["cards"]


def test_fingerprint_ignores_prompt_and_explain_only() -> None:
    deck, _ = parse_deck(
        HEADER + card("a.torch", "bool", "x = ${n}", "vars.n = { int = [1, 2] }", answer="x == 1"), "f"
    )
    assert deck is not None
    from dataclasses import replace

    c = deck.cards[0]
    assert fingerprint(replace(c, prompt="other", explain="other")) == fingerprint(c)
    assert fingerprint(replace(c, code="x = ${n} + 1")) != fingerprint(c)
    assert same_truth(c, True, True) and not same_truth(c, True, False)


# On the session's warm runner (lent): --jobs 1 asks for the pool of one it stands in for.
@pytest.mark.usefixtures("lent")
def test_cli_check_json_and_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.toml"
    good.write_text(
        HEADER
        + card(
            "good.torch",
            "shape",
            "x = torch.zeros(${s})",
            "vars.s = { shape = { rank = [1, 3], side = [1, 4] } }",
            answer="x.shape",
        )
    )
    bad = tmp_path / "bad.toml"
    bad.write_text(
        HEADER.replace('"t"', '"u"')
        + card(
            "never.torch",
            "raises",
            "x = torch.zeros(${n})\ny = x + 1",
            "vars.n = { int = [1, 4] }",
            answer=None,
        )
        + "[[card]]\nid = 3\n"
    )
    args = ["--variants", "5", "--search", "0", "--backend", "torch", "--jobs", "1", "--device", "cpu"]
    assert main(["deck", "check", str(good), "--json", *args]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is True and out["summary"]["passed"] == 1 and out["cards"][0]["truths"]

    assert main(["deck", "check", str(good), str(bad), "--json", *args]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False
    id_line = bad.read_text().splitlines().index("id = 3") + 1
    lines = {(p["line"], p["card"]) for p in out["problems"]}
    assert lines == {
        (id_line - 1, None),
        (id_line, None),
    }  # missing fields at [[card]], the bad id on its line
    assert "missing field 'section'" in {p["message"] for p in out["problems"]}
    failed = [c for c in out["cards"] if c["status"] == "fail"]
    assert [(c["card"], [f["flag"] for f in c["flags"]]) for c in failed] == [
        ("u/never.torch", ["never-raises"])
    ]

    assert main(["deck", "check", str(bad), *args]) == 1
    text = capsys.readouterr().out
    assert f"{bad}:4: card 'never.torch' (torch, raises) FAILED" in text
    assert "never-raises: the last statement raised in none of 5 variants" in text

    assert main(["deck", "check", str(tmp_path / "missing.toml"), *args]) == 2


def test_help_teaches_the_checks(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["deck", "check", "--help"])
    text = capsys.readouterr().out
    for words in ("--variants", "--search", "stale", "shrunk", "exit status", "--json"):
        assert words in text


@pytest.mark.tensorflow
@pytest.mark.mxnet
def test_the_starter_deck_passes_the_check(
    tmp_path: Path, pool: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "my-first-deck.toml"
    assert main(["deck", "new", str(path)]) == 0
    assert main(["deck", "new", str(path)]) == 2  # never overwrites without --force
    capsys.readouterr()
    deck, problems = parse_deck(path.read_text(), str(path))
    assert problems == [] and deck is not None and deck.id == "my-first-deck"
    assert {c.backend.value for c in deck.cards} == {"torch", "tensorflow", "mxnet"}
    assert len({c.kind for c in deck.cards}) >= 7
    report = run_check([str(path)], CheckOptions(variants=4, search=3, device="cpu"), pool=pool)
    assert report.ok, [(r.card.id, [f.message for f in r.flags]) for r in report.results if r.flags]
    assert report.skipped == []


@pytest.mark.tensorflow
@pytest.mark.mxnet
def test_the_examples_in_the_format_docs_pass_the_check(tmp_path: Path, pool: Any) -> None:
    import re

    docs = (Path(__file__).resolve().parents[2] / "docs" / "decks.md").read_text()
    blocks = [b for b in re.findall(r"```toml\n(.*?)```", docs, re.S) if "[deck]" in b]
    assert len(blocks) >= 2
    paths = []
    for i, block in enumerate(blocks):
        path = tmp_path / f"example-{i}.toml"
        path.write_text(block)
        paths.append(str(path))
    report = run_check(paths, CheckOptions(variants=4, search=0, device="cpu"), pool=pool)
    assert report.problems == []
    assert report.ok, [(r.card.id, [f.message for f in r.flags]) for r in report.results if r.flags]
    kinds = {r.card.kind.value for r in report.results}
    assert kinds == {"shape", "dtype", "bool", "grad_is_none", "value", "raises", "choice", "code", "translate"}
