"""`quiz deck check`'s text and variable checks: explain-raises, inert, wording, `constant = [...]`."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from quiz.checking.check import CheckOptions, CheckReport, run_check
from quiz.checking.explain import exception_names, explain_raise_problem, prompt_problem, wording_problem
from quiz.checking.probe import alternatives, constrained_variables, drawn_variables
from quiz.core.decks import parse_deck

HEADER = '[deck]\nid = "t"\ntitle = "T"\n'


def card(card_id: str, kind: str, code: str, vars_toml: str, explain: str, **fields: str) -> str:
    """One torch card; `fields` are extra TOML lines (`answer`, `prompt`, `constant`...), given raw."""
    lines = [
        "[[card]]",
        f'id = "{card_id}"',
        'section = "s"',
        'backend = "torch"',
        f'kind = "{kind}"',
        fields.pop("prompt", 'prompt = "p"'),
        f"code = '''\n{textwrap.dedent(code).strip()}\n'''",
        f'explain = """\n{explain}\n"""',
        *fields.values(),
        textwrap.dedent(vars_toml).strip(),
    ]
    return "\n".join(lines) + "\n\n"


def parsed(text: str) -> Any:
    deck, problems = parse_deck(HEADER + text, "t.toml")
    assert problems == [] and deck is not None, problems
    return deck.cards[0]


# --- explanations: pure text ---------------------------------------------------------------


def test_exception_names_are_found_with_or_without_their_module() -> None:
    text = (
        "raises `tf.errors.InvalidArgumentError`, then `RuntimeError`, `mx.base.MXNetError` and RuntimeError"
    )
    assert exception_names(text) == ["InvalidArgumentError", "RuntimeError", "MXNetError"]
    assert exception_names("no exception here, an Error is not a class") == []


@pytest.mark.parametrize(
    ("explain", "raised", "problem"),
    [
        ("`view` raises `RuntimeError` after `permute`.", "RuntimeError", None),
        ("It raises `tf.errors.InvalidArgumentError`.", "InvalidArgumentError", None),
        ("Here it runs.", None, None),
        # the learner was shown a variant that did not raise, and is told it raises
        ("`view` raises `RuntimeError` after `permute`.", None, "says RuntimeError"),
        ("The call raises here.", None, "says it 'raises'"),
        # ... or is not told which exception it was
        ("`view` needs a contiguous layout.", "RuntimeError", "does not name"),
        ("An `mx.sym` variable has no value.", "NotImplementedForSymbol", "does not name"),
        ("`asnumpy` raises `NotImplementedForSymbol`.", "NotImplementedForSymbol", None),
        # ... or told a second, wrong one
        ("It raises `RuntimeError`, and math raises `ValueError`.", "RuntimeError", "also claims ValueError"),
        # contrasts and hypotheses are not claims about this variant
        ("`reshape` never raises: it copies. `view` would raise `RuntimeError`.", None, None),
        ("It does not raise `ValueError`, unlike `MXNetError` elsewhere.", None, None),
        ("Unlike torch's `RuntimeError`, MXNet raises `ValueError` here.", "ValueError", None),
        ("A later `sess.run(v)` raises `RuntimeError`.", None, "says RuntimeError"),
    ],
)
def test_explain_raise_problem(explain: str, raised: str | None, problem: str | None) -> None:
    found = explain_raise_problem(explain, raised)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def test_wording_flags_hedged_plurals_in_prose_only() -> None:
    assert "time(s)" in (wording_problem("prompt", "run ${k} time(s)") or "")
    assert wording_problem("prompt", "`x` has shape `(${n}, ${prod(s)})`") is None
    assert wording_problem("explanation", "call `f(s)` once") is None


@pytest.mark.parametrize(
    ("prompt", "problem"),
    [
        ("In MXNet, what does `0` mean? What is `y.shape`?", "more than one question"),
        ("A gluon net of 0 `Dense(4)` and 2 `BatchNorm()`. What is it?", "zero"),
        ("A gluon net of 10 `Dense(4)`. What is it?", None),
        ("Is `y` equal to `x` (is `a ? b : c` true)?", None),
        ("What is `x[0]`? Type `0` if none.", None),
    ],
)
def test_prompt_problem(prompt: str, problem: str | None) -> None:
    found = prompt_problem(prompt)
    assert (found is None) if problem is None else (found is not None and problem in found)


# --- probing one variable at a time: pure ------------------------------------------------------


def test_the_sizes_an_array_is_drawn_with_are_not_probed_alone() -> None:
    # Changing `n` alone keeps the drawn `x`, so the truth cannot move: not a decoy, a size of `x`.
    c = parsed(
        card(
            "arr.torch",
            "value",
            "x = torch.tensor(${x}); y = torch.tensor(${y}) * ${k}",
            """
            vars.n = { int = [2, 3] }
            vars.s = { shape = { rank = 2, side = [2, 3] } }
            vars.k = { int = [1, 3] }
            vars.x = { array = ["n", "k + 1", 2] }
            vars.y = { array = "s" }
            """,
            "e",
            answer='answer = "x"',
        )
    )
    assert constrained_variables(c) == {"n", "k", "s"}


def test_alternatives_change_one_variable_and_keep_the_card_drawable() -> None:
    c = parsed(
        card(
            "p.torch",
            "value",
            "x = ${n} + ${m} + ${k}",
            """
            vars.n = { int = [1, 4] }
            vars.m = { int = [1, "n"] }
            vars.op = { choice = ["a", "b", "c"] }
            vars.k = { expr = "n * 10" }
            """,
            "e",
            answer='answer = "x"',
            assume="assume = [\"op != 'c' or n > 2\"]",
        )
    )
    assert drawn_variables(c) == ["n", "m", "op"]
    assert constrained_variables(c) == {"n"}  # m's bound reads n
    base = {"n": 3, "m": 2, "op": "c", "k": 30}
    ops = list(alternatives(c, base, "op"))
    assert [v["op"] for v in ops] == ["a", "b"] and all(v["n"] == 3 and v["m"] == 2 for v in ops)
    ns = list(alternatives(c, base, "n"))
    # n moves within [1, 4], k follows it, m stays within its new bound, and `assume` holds
    assert {v["n"] for v in ns} == {4} and all(v["k"] == v["n"] * 10 for v in ns)
    # m's range is [1, n]: only the other value of [1, 2]
    assert [v["m"] for v in alternatives(c, {"n": 2, "m": 1, "op": "a", "k": 20}, "m")] == [2]
    assert [v["m"] for v in alternatives(c, {"n": 2, "m": 2, "op": "a", "k": 20}, "m")] == [1]


def test_alternatives_enumerate_permutations_and_reuse_seen_shapes() -> None:
    c = parsed(
        card(
            "q.torch",
            "shape",
            "x = torch.zeros(${s}).permute(${p})",
            """
            vars.s = { shape = { rank = 3, side = [2, 4] } }
            vars.p = { permutation = 3 }
            """,
            "e",
            answer='answer = "x.shape"',
        )
    )
    base = {"s": (2, 3, 4), "p": (2, 1, 0)}
    perms = [v["p"] for v in alternatives(c, base, "p")]
    assert perms[0] == (0, 1, 2) and len(perms) == 5 and (2, 1, 0) not in perms
    shapes = [v["s"] for v in alternatives(c, base, "s", seen=[(2, 3, 4), (4, 4, 4), (9, 9, 9), (2, 2)])]
    assert shapes == [(4, 4, 4)]  # another seen shape, valid for the spec (rank 3, sides 2-4)


# --- `constant = [...]` in the deck format -------------------------------------------------------


def test_constant_takes_a_list_of_variable_names() -> None:
    c = parsed(
        card(
            "c.torch",
            "value",
            "x = ${n} * 0 + ${m}",
            "vars.n = { int = [1, 3] }\nvars.m = { int = [1, 3] }",
            "e",
            answer='answer = "x"',
            constant='constant = ["n"]',
        )
    )
    assert (c.constant, c.constant_vars) == (False, ("n",))
    _, problems = parse_deck(
        HEADER
        + card(
            "d.torch",
            "value",
            "x = ${n}",
            "vars.n = { int = [1, 3] }",
            "e",
            answer='answer = "x"',
            constant='constant = ["nope"]',
        ),
        "t.toml",
    )
    assert [p.message for p in problems] == ["`constant` names 'nope', which is not one of the card's `vars`"]
    _, problems = parse_deck(
        HEADER
        + card(
            "e.torch",
            "value",
            "x = ${n}",
            "vars.n = { int = [1, 3] }",
            "e",
            answer='answer = "x"',
            constant="constant = 3",
        ),
        "t.toml",
    )
    assert [p.message for p in problems] == ["`constant` must be true, false or a list of variable names"]


# --- the flags, running real cards ---------------------------------------------------------------


@pytest.fixture(scope="module")
def pool(runner: Any) -> Any:
    """The session's warm runner as a pool of one worker per backend, what `RunnerPool(1)` is: no
    framework start of this module's own (the canary checks the runner after each test)."""
    from quiz.commands.common import PoolOfOne

    return PoolOfOne(runner)


@pytest.fixture
def check(pool: Any, tmp_path: Path) -> Callable[..., CheckReport]:
    def run(text: str, **options: Any) -> CheckReport:
        path = tmp_path / "deck.toml"
        path.write_text(HEADER + text, encoding="utf-8")
        opts = {
            "variants": 6,
            "search": 0,
            "backends": ("torch",),
            "device": "cpu",
            "record": False,
        } | options
        return run_check([str(path)], CheckOptions(**opts), pool=pool)

    return run


def flags(report: CheckReport) -> dict[str, set[str]]:
    return {r.card.id: {f.code for f in r.flags} for r in report.results}


VIEW = """
x = torch.zeros(${s})
y = x.permute(${p})
z = y.view(-1)
"""
VIEW_VARS = 'vars.s = { shape = { rank = [2, 3], side = [2, 3] } }\nvars.p = { permutation = "s" }'


@pytest.mark.torch
def test_an_explanation_false_for_some_variants_is_flagged(check: Callable[..., CheckReport]) -> None:
    report = check(
        card("always.torch", "raises", VIEW, VIEW_VARS, "After `permute`, `view` raises `RuntimeError`.")
        + card("silent.torch", "raises", VIEW, VIEW_VARS, "`view` needs a contiguous layout.")
        + card(
            "true.torch",
            "raises",
            VIEW,
            VIEW_VARS,
            "${'Here it runs.' if p == tuple(range(len(s))) else 'Here `view` raises `RuntimeError`.'}",
        )
    )
    got = flags(report)
    assert got == {
        "always.torch": {"explain-raises"},
        "silent.torch": {"explain-raises"},
        "true.torch": set(),
    }
    by_id = {r.card.id: r for r in report.results}
    always = [f for f in by_id["always.torch"].flags if f.code == "explain-raises"]
    # flagged exactly on the variants that did not raise, with the values that show them
    assert always and all(by_id["always.torch"].truths[f.seed] is None for f in always)
    assert all(f.values and tuple(f.values["p"]) == tuple(range(len(f.values["s"]))) for f in always)


@pytest.mark.torch
def test_a_chinese_explanation_must_name_the_exceptions_the_english_names(
    check: Callable[..., CheckReport],
) -> None:
    """The English is judged against the variant; its Chinese may not drop, add or swap a class name."""
    english = "${'Here it runs.' if p == tuple(range(len(s))) else 'Here `view` raises `RuntimeError`.'}"
    zh_true = "${'这里可以运行。' if p == tuple(range(len(s))) else '这里 `view` 抛出 `RuntimeError`。'}"
    zh_swapped = "${'这里可以运行。' if p == tuple(range(len(s))) else '这里 `view` 抛出 `ValueError`。'}"
    zh_always = "${'这里抛出 `RuntimeError`。' if p == tuple(range(len(s))) else '这里抛出 `RuntimeError`。'}"

    def zh(text: str) -> dict[str, str]:
        return {"prompt_zh": 'prompt_zh = "p"', "explain_zh": f'explain_zh = """\n{text}\n"""'}

    report = check(
        card("true.torch", "raises", VIEW, VIEW_VARS, english, **zh(zh_true))
        + card("swapped.torch", "raises", VIEW, VIEW_VARS, english, **zh(zh_swapped))
        + card("always.torch", "raises", VIEW, VIEW_VARS, english, **zh(zh_always))
    )
    assert flags(report) == {
        "true.torch": set(),
        "swapped.torch": {"translation"},
        "always.torch": {"translation"},
    }
    by_id = {r.card.id: r for r in report.results}
    swapped = [f for f in by_id["swapped.torch"].flags if f.code == "translation"]
    assert swapped and all(by_id["swapped.torch"].truths[f.seed] is not None for f in swapped)
    assert "ValueError" in swapped[0].message and "RuntimeError" in swapped[0].message
    # flagged only on the variants where the Chinese says what the English does not
    always = [f for f in by_id["always.torch"].flags if f.code == "translation"]
    assert always and all(by_id["always.torch"].truths[f.seed] is None for f in always)


@pytest.mark.torch
def test_a_decoy_variable_is_inert_unless_declared(check: Callable[..., CheckReport]) -> None:
    code = "x = torch.ones(${n})\ny = x.${op}\nx[0] = 100"
    vars_toml = 'vars.n = { int = [2, 6] }\nvars.op = { choice = ["view(-1)", "clone()"] }'
    report = check(
        card("decoy.torch", "bool", code, vars_toml, "e", answer='answer = "bool(y[0] == 100)"')
        + card(
            "declared.torch",
            "bool",
            code,
            vars_toml,
            "e",
            answer='answer = "bool(y[0] == 100)"',
            constant='constant = ["n"]',
        )
        # `k` decides only when `on` is true: one base of each truth must show it
        + card(
            "interaction.torch",
            "value",
            "x = ${k} if ${on} else 0",
            "vars.on = { bool = true }\nvars.k = { int = [1, 5] }",
            "e",
            answer='answer = "x"',
        )
    )
    got = flags(report)
    assert got == {"decoy.torch": {"inert"}, "declared.torch": set(), "interaction.torch": set()}
    (inert,) = [f for r in report.results for f in r.flags if f.code == "inert"]
    assert "`n`" in inert.message and 'constant = ["n"]' in inert.message


@pytest.mark.torch
def test_inert_is_not_judged_on_too_few_variants(check: Callable[..., CheckReport]) -> None:
    code = "x = torch.ones(${n})\ny = x.${op}\nx[0] = 100"
    vars_toml = 'vars.n = { int = [2, 6] }\nvars.op = { choice = ["view(-1)", "clone()"] }'
    report = check(
        card("decoy.torch", "bool", code, vars_toml, "e", answer='answer = "bool(y[0] == 100)"'), variants=4
    )
    assert flags(report) == {"decoy.torch": set()}


@pytest.mark.torch
def test_prompts_that_do_not_read_for_every_draw_are_flagged(check: Callable[..., CheckReport]) -> None:
    report = check(
        card(
            "plural.torch",
            "value",
            "x = ${k}",
            "vars.k = { int = [1, 3] }",
            "e",
            answer='answer = "x"',
            prompt='prompt = "It runs ${k} time(s). What is `x`?"',
        )
        + card(
            "zero.torch",
            "value",
            "x = ${k}",
            "vars.k = { choice = [0, 2] }",
            "e",
            answer='answer = "x"',
            prompt='prompt = "A net of ${k} `Linear` layers. What is `x`?"',
        )
    )
    assert flags(report) == {"plural.torch": {"wording"}, "zero.torch": {"wording"}}


def test_the_built_in_prompts_read_for_every_draw(builtin_library: Any) -> None:
    """The wording checks need no run: every built-in card's text, and its first variants' prompts."""
    from quiz.core.variables import draw_variant

    problems = []
    for c in builtin_library.cards():
        for name, text in (("prompt", c.prompt), ("explanation", c.explain)):
            if wording_problem(name, text):
                problems.append((c.uid, wording_problem(name, text)))
        for seed in range(5):
            found = prompt_problem(draw_variant(c, seed).prompt)
            if found:
                problems.append((c.uid, seed, found))
    assert problems == []


def test_a_dunder_name_outside_backticks_is_flagged_for_markdown_would_eat_it() -> None:
    from quiz.checking.explain import markdown_problem

    # The message a real card quoted: Markdown showed "Module.init() call".
    problem = markdown_problem("explanation", 'raises ("cannot assign module before Module.__init__() call")')
    assert problem is not None and "'__init__'" in problem and "backticks" in problem
    assert markdown_problem("explanation", "raises (`cannot assign module before Module.__init__() call`)") is None
    assert markdown_problem("explanation", "call `super().__init__()` first; a_b_c and snake_case stay") is None
