"""Chinese card text: the deck fields, their errors with file, line and card, the variant's text with
its fallback to English, the placeholder check, what a deck reports as its languages, and the pilot deck."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from quiz.core.cards import Card, Deck
from quiz.core.decks import load_deck, parse_deck
from quiz.core.translation import (
    card_languages,
    deck_languages,
    placeholder_mismatch,
    translated_cards,
    translation_problems,
)
from quiz.core.variables import build_variant, concrete, draw_variant

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u4e00-\u9fff]")

DECK = '''\
[deck]
id = "zh-test"
title = "Expand"
title_zh = "维度扩展"
description_zh = "哪些操作会复制数据。"

[deck.sections]
expand = "Expand"

[deck.sections_zh]
expand = "维度扩展"

[[card]]
id = "expand.torch"
section = "expand"
backend = "torch"
kind = "shape"
prompt = "x has shape (${a}, 1). What is `y.shape`?"
prompt_zh = "`x` 的形状是 (${a}, 1)。`y.shape` 是什么？"
code = """
x = torch.zeros(${a}, 1)
y = x.expand(${a}, ${b})
"""
answer = "y.shape"
explain = "`expand` makes the size-1 axis ${b} long without copying${' (here it stays 1)' if b == 1 else ''}."
explain_zh = """
`expand` 不复制数据，把大小为 1 的维度扩展到 ${b}${'（这里仍是 1）' if b == 1 else ''}。
"""
vars.a = { int = [2, 5] }
vars.b = { int = [1, 6] }

[[card]]
id = "plain.torch"
section = "expand"
backend = "torch"
kind = "shape"
prompt = "What is `y.shape`?"
code = "y = torch.zeros(2, 3)"
answer = "y.shape"
explain = "zeros takes the sizes."
'''


def parse(text: str, path: str = "decks/zh.toml") -> tuple[Deck | None, list[str]]:
    deck, problems = parse_deck(textwrap.dedent(text), path)
    return deck, [str(p) for p in problems]


def line_of(text: str, needle: str) -> int:
    return next(i for i, ln in enumerate(text.splitlines(), 1) if needle in ln)


def test_the_fields_load_and_the_variant_carries_both_languages() -> None:
    deck, problems = parse_deck(DECK, "zh.toml")
    assert problems == [] and deck is not None
    assert deck.title_in("zh") == "维度扩展" and deck.title_in("en") == "Expand"
    assert deck.description_in("zh") == "哪些操作会复制数据。" and deck.description_in("en") == ""
    assert deck.section_title("expand", "zh") == "维度扩展" and deck.section_title("expand") == "Expand"
    card, plain = deck.cards
    variant = build_variant(card, 3, {"a": 4, "b": 1})
    assert variant.prompt == "x has shape (4, 1). What is `y.shape`?"
    assert variant.prompt_in("zh") == "`x` 的形状是 (4, 1)。`y.shape` 是什么？"
    assert variant.prompt_in("en") == variant.prompt
    assert variant.explain_in("zh") == "`expand` 不复制数据，把大小为 1 的维度扩展到 1（这里仍是 1）。"
    assert build_variant(card, 3, {"a": 4, "b": 5}).explain_in("zh").endswith("扩展到 5。")
    # Code and answer are shared: the Chinese text changes nothing that runs or is graded.
    shown = concrete(card, variant)
    assert shown.code == variant.code and shown.answer == "y.shape"
    assert shown.prompt_zh == variant.prompt_zh  # rendered, not the template
    # A card without Chinese falls back to English, field by field.
    other = draw_variant(plain, 0)
    assert other.prompt_zh is None and other.prompt_in("zh") == "What is `y.shape`?"
    assert other.explain_in("zh") == "zeros takes the sizes."


def test_the_same_seed_draws_the_same_values_whatever_the_language() -> None:
    deck, _ = parse_deck(DECK, "zh.toml")
    assert deck is not None
    with_zh = deck.cards[0]
    from dataclasses import replace

    without = replace(with_zh, prompt_zh=None, explain_zh=None)
    for seed in range(5):
        assert draw_variant(with_zh, seed).values == draw_variant(without, seed).values


@pytest.mark.parametrize(
    ("field_line", "needle", "message"),
    [
        ("prompt_zh = 3", "prompt_zh = 3", "field 'prompt_zh' must be a non-empty string"),
        ('prompt_zh = "  "', "prompt_zh", "field 'prompt_zh' must be a non-empty string"),
        ('explain_zh = ""', "explain_zh", "field 'explain_zh' must be a non-empty string"),
        ('prompt_zh = "形状 ${zz} 是什么？"', "prompt_zh", "`prompt_zh` uses undefined variable zz"),
        ('explain_zh = "${a +}"', "explain_zh", "in `explain_zh`"),
        ('promt_zh = "拼错了"', "promt_zh", "unknown field 'promt_zh' (did you mean 'prompt_zh'?)"),
    ],
)
def test_a_bad_translation_is_reported_with_file_line_and_card(
    field_line: str, needle: str, message: str
) -> None:
    text = f"""\
[deck]
id = "d"
title = "D"

[[card]]
id = "other.torch"
section = "s"
backend = "torch"
kind = "bool"
prompt = "p"
code = "y = 1"
answer = "y == 1"
explain = "e"

[[card]]
id = "bad.torch"
section = "s"
backend = "torch"
kind = "shape"
prompt = "What is `y.shape`?"
code = "y = torch.zeros(${{a}})"
answer = "y.shape"
explain = "e"
{field_line}
vars.a = {{ int = [1, 3] }}
"""
    deck, problems = parse(text)
    line = line_of(text, needle)
    assert any(p.startswith(f"decks/zh.toml:{line}: card 'bad.torch':") and message in p for p in problems), (
        problems
    )
    assert deck is not None and [c.id for c in deck.cards] == ["other.torch"]  # the rest of the deck loads


def test_deck_level_translations_are_checked() -> None:
    text = """\
[deck]
id = "d"
title = "D"
title_zh = 7

[deck.sections_zh]
expnad = "维度扩展"

[[card]]
id = "c.torch"
section = "expand"
backend = "torch"
kind = "bool"
prompt = "p"
code = "y = 1"
answer = "y == 1"
explain = "e"
"""
    _, problems = parse(text)
    assert f"decks/zh.toml:{line_of(text, 'title_zh')}: `title_zh` must be a string" in problems
    assert any(
        p.startswith(f"decks/zh.toml:{line_of(text, 'sections_zh')}:") and "'expnad'" in p and "'expand'" in p
        for p in problems
    ), problems
    _, problems = parse(text.replace('expnad = "维度扩展"', "expand = 3").replace("title_zh = 7\n", ""))
    assert any("[deck.sections_zh] maps section slugs to Chinese titles" in p for p in problems), problems


def test_control_characters_in_a_translation_are_handled_like_the_english_text() -> None:
    """A hostile deck hides an escape sequence in the Chinese text: it is treated exactly as in `prompt`."""
    base = DECK
    for escape in ("\\u001b[2J", "\\u202e", "\\u0007"):
        english = base.replace('What is `y.shape`?"', f'What is `y.shape`?{escape}"', 1)
        chinese = base.replace('`y.shape` 是什么？"', f'`y.shape` 是什么？{escape}"', 1)
        en_deck, en_problems = parse_deck(english, "zh.toml")
        zh_deck, zh_problems = parse_deck(chinese, "zh.toml")
        assert en_deck is None and zh_deck is None  # refused at load, with file, line and card
        assert len(en_problems) == len(zh_problems) == 1
        assert "`prompt` holds the control character" in en_problems[0].message
        assert "`prompt_zh` holds the control character" in zh_problems[0].message
        assert zh_problems[0].card_id == en_problems[0].card_id and (zh_problems[0].line or 0) > 0


# --- the placeholder check ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("english", "chinese", "expected"),
    [
        ("shape (${a}, ${b})", "形状 (${a}, ${b})", []),
        ("shape (${a}, ${ b })", "形状是 (${b}, 前面 ${a})", []),  # order and spacing are free
        ("(${a}, ${b})", "(${a}, b)", ["drops variable `b`", "lacks `${b}` (in the English)"]),
        ("(${a})", "(${a}, ${c})", ["adds variable `c`", "has `${c}` (not in the English)"]),
        (
            "${n * 2} steps",
            "${n} 步",
            ["lacks `${n * 2}` (in the English)", "has `${n}` (not in the English)"],
        ),
        # Conditional wording: the quoted words are translated, the variables it reads must match.
        ("${'raises' if n > 3 else 'runs'}", "${'报错' if n > 3 else '运行'}", []),
        (
            "${'raises' if n > 3 else 'runs'}",
            "${'报错' if k > 3 else '运行'}",
            [
                "drops variable `n`",
                "adds variable `k`",
                "placeholders with quoted text: the English has 1 ({n}), this 1 ({k})",
            ],
        ),
        (
            "${'a' if p else 'b'} and ${q}",
            "就这样 ${q}",
            ["drops variable `p`", "placeholders with quoted text: the English has 1 ({p}), this none"],
        ),
    ],
)
def test_placeholder_mismatch(english: str, chinese: str, expected: list[str]) -> None:
    assert placeholder_mismatch(english, chinese) == expected


def card_with(prompt_zh: str | None, explain_zh: str | None) -> Card:
    text = DECK.split('[[card]]\nid = "plain.torch"')[0]
    text = text.replace('prompt_zh = "`x` 的形状是 (${a}, 1)。`y.shape` 是什么？"\n', "")
    text = re.sub(r'explain_zh = """.*?"""\n', "", text, flags=re.S)
    extra = ""
    if prompt_zh is not None:
        extra += f"prompt_zh = '''{prompt_zh}'''\n"
    if explain_zh is not None:
        extra += f"explain_zh = '''{explain_zh}'''\n"
    text = text.replace("vars.a =", extra + "vars.a =")
    deck, problems = parse_deck(text, "zh.toml")
    assert problems == [] and deck is not None, problems
    return deck.cards[0]


def test_translation_problems_name_the_field_and_what_differs() -> None:
    ok = card_with("(${a}, 1)", "扩展到 ${b}${'（仍是 1）' if b == 1 else ''}。")
    assert translation_problems(ok) == []
    dropped = card_with("形状是什么？", "扩展到 ${b}${'（仍是 1）' if b == 1 else ''}。")
    (problem,) = translation_problems(dropped)
    assert problem.startswith("`prompt_zh` has other ${} placeholders than `prompt`: drops variable `a`")
    half = card_with("(${a}, 1)", None)
    (problem,) = translation_problems(half)
    assert problem.startswith("has `prompt_zh` but no `explain_zh`")
    other_half = card_with(None, "扩展到 ${b}${'（仍是 1）' if b == 1 else ''}。")
    assert translation_problems(other_half)[0].startswith("has `explain_zh` but no `prompt_zh`")
    assert card_languages(half) == ("en",) and card_languages(ok) == ("en", "zh")


def test_a_translation_that_breaks_for_some_values_falls_back_to_english_and_is_reported() -> None:
    """`${(a, b)[b]}` indexes past the end for b >= 2: the learner reads English, the check says why."""
    broken = card_with("(${a}, 1)", "扩展到 ${b}，也就是 ${(a, b)[b]}。")
    ok_values = build_variant(broken, 1, {"a": 3, "b": 1})
    bad_values = build_variant(broken, 2, {"a": 3, "b": 4})
    assert ok_values.explain_in("zh") == "扩展到 1，也就是 1。"
    assert bad_values.explain_zh is None and bad_values.explain_in("zh") == bad_values.explain
    assert bad_values.prompt_in("zh") == "(3, 1)"  # the other field is not lost with it
    problems = translation_problems(broken, [ok_values, bad_values])
    assert len(problems) == 2  # its placeholder is not the English one, and it breaks
    assert problems[1].startswith("`explain_zh` cannot be filled in for seed 2 (the learner sees the English")
    assert "IndexError" in problems[1]


# --- languages of a deck -------------------------------------------------------------------------


def test_languages_report_full_and_partial_coverage() -> None:
    deck, _ = parse_deck(DECK, "zh.toml")
    assert deck is not None
    assert deck_languages(deck) == ["en"] and translated_cards(deck) == {"zh": 1}  # 1 of 2: partial
    from dataclasses import replace

    full = replace(deck, cards=deck.cards[:1])
    assert deck_languages(full) == ["en", "zh"] and translated_cards(full) == {"zh": 1}
    empty = replace(deck, cards=())
    assert deck_languages(empty) == ["en"] and translated_cards(empty) == {"zh": 0}


# --- the pilot deck -------------------------------------------------------------------------------


def test_the_pilot_deck_is_fully_in_chinese_and_true_to_the_english() -> None:
    deck, problems = load_deck(ROOT / "decks" / "intermediate-outputs.toml")
    assert problems == [] and deck is not None
    assert deck_languages(deck) == ["en", "zh"]
    assert CJK.search(deck.title_zh) and all(
        deck.section_title(c.section, "zh") != c.section for c in deck.cards
    )
    for card in deck.cards:
        variants = [draw_variant(card, seed) for seed in range(3)]
        assert translation_problems(card, variants) == [], card.id
        for variant in variants:
            for english, chinese in (
                (variant.prompt, variant.prompt_zh),
                (variant.explain, variant.explain_zh),
            ):
                assert chinese and CJK.search(chinese), card.id
                # Code in backticks is kept as written: every identifier the English names, the Chinese names.
                assert set(re.findall(r"`[^`]+`", english)) <= set(re.findall(r"`[^`]+`", chinese)), card.id


def test_a_hostile_translation_cannot_flood_the_screen_or_pass_as_markup() -> None:
    """A translation that multiplies text for some values, or writes Rich markup, is text like the English."""
    from quiz.tui.render import markdown_text

    flood = card_with("(${a}, 1)", "扩展到 ${b}。${'很长' * (b * 10000)}")
    variant = build_variant(flood, 0, {"a": 2, "b": 5})
    assert variant.explain_zh is None and variant.explain_in("zh") == variant.explain  # refused, not shown
    assert any("sequence is too long" in p for p in translation_problems(flood, [variant]))
    markup = card_with("(${a}, 1)", "[bold red]正确[/] ${b}")
    shown = markdown_text(build_variant(markup, 0, {"a": 2, "b": 3}).explain_in("zh"))
    assert shown.plain == "[bold red]正确[/] 3" and not shown.spans


WHY_DECK = '''\
[deck]
id = "why"
title = "Why"

[deck.sections]
grad = "Gradients"

[[card]]
id = "why.torch"
section = "grad"
backend = "torch"
kind = "bool"
prompt = "Does `z = ${case[0]}` require grad?"
prompt_zh = "`z = ${case[0]}` 需要梯度吗？"
code = """
a = torch.ones(2, requires_grad=True)
z = ${case[0]}
"""
answer = "z.requires_grad"
explain = "Autograd follows the inputs. ${case[1]}"
explain_zh = "自动求导跟随输入。${ZH}"
vars.case = { choice = [
    ["a * 2", "`a` requires grad, so the product does.", "`a` 需要梯度，所以乘积也需要。"],
    ["a.detach()", "`detach` cuts the graph.", "`detach` 切断了计算图。"],
] }
'''


def why_card(zh: str, explain: str = "Autograd follows the inputs. ${case[1]}") -> Card:
    text = WHY_DECK.replace("${ZH}", zh).replace("Autograd follows the inputs. ${case[1]}", explain)
    deck, problems = parse_deck(text, "why.toml")
    assert problems == [] and deck is not None, problems
    return deck.cards[0]


def test_a_choice_may_carry_each_variants_sentence_in_chinese_in_the_next_column() -> None:
    card = why_card("${case[2]}")
    variants = [draw_variant(card, seed) for seed in range(6)]
    assert translation_problems(card, variants) == []
    for v in variants:
        case = v.values["case"]
        assert v.explain_in("zh") == f"自动求导跟随输入。{case[2]}"
        assert v.explain_in("en") == f"Autograd follows the inputs. {case[1]}"


@pytest.mark.parametrize(
    ("zh", "explain", "expected"),
    [
        # The English sentence left in the Chinese text (what five built-in cards did).
        ("${case[1]}", None, "`explain_zh` shows English for seed"),
        # The code column in place of the sentence: not the translation of `${case[1]}`.
        ("${case[0]}", None, "lacks `${case[1]}`"),
        # The Chinese column shown to the English reader.
        ("${case[2]}", "Autograd follows the inputs. ${case[2]}", "`explain` shows Chinese text: `${case[2]}`"),
    ],
)
def test_a_wrong_column_is_flagged(zh: str, explain: str | None, expected: str) -> None:
    card = why_card(zh, explain) if explain else why_card(zh)
    problems = translation_problems(card, [draw_variant(card, seed) for seed in range(6)])
    assert any(expected in p for p in problems), problems


def test_english_left_in_a_translation_is_found_outside_code_and_quotes() -> None:
    from quiz.core.translation import english_left_in

    assert english_left_in("梯度为零。Tensors of one dtype and shape share a trace: 1.") is not None
    assert english_left_in("原文写道：「Pytorch Variable API has been deprecated」。") is None
    assert english_left_in("抛出 `RuntimeError`（\"element 0 of tensors does not require grad\"）。") is None
    assert english_left_in("用 `x.detach().numpy()`，不要用 `x.data.numpy()` 或 `Variable`。") is None


def test_no_built_in_translation_has_a_problem_for_its_first_draws(builtin_library: Any) -> None:
    """Placeholders agree with the English, every draw fills in, no English sentence is left in."""
    problems = {}
    for card in builtin_library.cards():
        found = translation_problems(card, [draw_variant(card, seed) for seed in range(4)])
        if found:
            problems[card.uid] = found
    assert problems == {}
