"""The message catalog: every translation keeps its fields, falls back to English, and the answer
hints built in the core can be said in Chinese while the English stays as it was."""

from __future__ import annotations

import pickle
import re

import pytest

from quiz.core.answers import MalformedAnswer, hint_for, parse_answer
from quiz.core.cards import Backend, Card, Kind
from quiz.core.i18n import EN, ZH, Message, check_language, fields_of, msg, t, unbreak_wide, wide

CJK = re.compile(r"[\u4e00-\u9fff]")
# Keys whose Chinese may read like the English (a code word, a symbol, a template of nothing but fields).
SAME_IN_ZH = {"answer.problem", "field.dtype", "verdict.enter", "when.date", "yesno.none"}


def card(kind: Kind, **kw: object) -> Card:
    base: dict[str, object] = dict(
        deck_id="d", id="c", section="s", backend=Backend.TORCH, kind=kind, prompt="p", code="x = 1",
        answer="x", explain="e", family="c",
    )  # fmt: skip
    base.update(kw)
    return Card(**base)  # type: ignore[arg-type]


def test_every_chinese_message_has_an_english_source_and_the_same_fields() -> None:
    assert set(ZH) <= set(EN)
    for key, text in ZH.items():
        assert fields_of(text) == fields_of(EN[key]), key
        assert text.count("\n") == EN[key].count("\n"), key  # layout (a new line in the verdict) kept


def test_every_message_is_translated() -> None:
    assert set(EN) - set(ZH) == {"text"}  # a plain string, the same in every language
    # Chinese without a Chinese character only where the words are code or fields alone.
    assert {k for k, v in ZH.items() if not CJK.search(v)} == SAME_IN_ZH


def test_no_control_characters_in_the_catalog() -> None:
    for table in (EN, ZH):
        for key, text in table.items():
            assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", text), key


def test_t_fills_values_and_falls_back_to_english() -> None:
    assert t("rating.1") == "Again"
    assert t("rating.1", "zh") == "重来"
    assert t("grade.ran", "en", backend="torch", version="2.13.0", ms=1.25) == "(torch 2.13.0, ran in 1.2 ms)"
    assert t("rating.4", "fr") == "Easy"  # a language without a table: English
    ZH_without = dict(ZH)
    del ZH_without["rating.2"]
    from quiz.core import i18n

    saved = i18n.CATALOG["zh"]
    i18n.CATALOG["zh"] = ZH_without
    try:
        assert t("rating.2", "zh") == "Hard"  # a key a translation lacks: English, never nothing
    finally:
        i18n.CATALOG["zh"] = saved
    with pytest.raises(KeyError):
        t("no.such.key")
    with pytest.raises(KeyError):
        msg("no.such.key")


def test_a_message_renders_its_nested_messages_in_the_same_language() -> None:
    m = msg("answer.problem", problem=msg("answer.unbalanced"), hint=msg("answer.hint.shape"))
    assert str(m) == "unbalanced brackets: type a shape such as (2, 3), 2x3 or [] for a scalar"
    assert m.text("zh") == "括号不配对：请输入形状，例如 (2, 3)、2x3，标量写 []"
    assert (
        Message("text", {"text": "{not a field}"}).text("zh") == "{not a field}"
    )  # values are not templates


def test_a_malformed_answer_is_said_in_chinese_and_stays_english_for_scripts() -> None:
    with pytest.raises(MalformedAnswer) as info:
        parse_answer(card(Kind.SHAPE), "(2, 3")
    exc = info.value
    assert exc.hint == str(exc) == "unbalanced brackets: type a shape such as (2, 3), 2x3 or [] for a scalar"
    assert exc.text("zh") == "括号不配对：请输入形状，例如 (2, 3)、2x3，标量写 []"
    # It crosses processes (a grading thread, a worker) with its message intact.
    again = pickle.loads(pickle.dumps(exc))
    assert again.hint == exc.hint and again.text("zh") == exc.text("zh")


@pytest.mark.parametrize(
    ("kind", "extra", "text", "zh"),
    [
        (Kind.DTYPE, {}, "float33", "'float33' 不是已知的 dtype：请输入 dtype"),
        (
            Kind.SHAPE,
            {"answer": "(a.shape, b.shape)"},
            "(2, 3)",
            "这张卡片要的是 2 个形状：请输入 2 个形状，例如 ((2, 3), (3,))",
        ),
        (Kind.CHOICE, {"choices": ("x", "y", "z")}, "q", "请输入字母 a–c"),
        (Kind.VALUE, {"may_raise": True}, "", "答案是空的：请输入 Python 字面量"),
        (Kind.SHAPE, {}, "raises", "这张卡片不是问代码会不会报错"),
        (Kind.SHAPE, {}, "a\x1b[2J", "答案含有控制字符（位置 1 处的 \\x1b）"),
        (Kind.SHAPE, {}, b"\xff", "答案不是 UTF-8 文本（位置 0 处的字节 0xff）"),
        (Kind.CODE, {}, "x = 1", "请输入表达式（比较的是它的值），不要输入语句"),
    ],
)
def test_hints_in_chinese(kind: Kind, extra: dict[str, object], text: str | bytes, zh: str) -> None:
    with pytest.raises(MalformedAnswer) as info:
        parse_answer(card(kind, **extra), text)
    assert zh in info.value.text("zh")
    assert not CJK.search(info.value.hint)


def test_hint_for_in_both_languages() -> None:
    c = card(Kind.VALUE, may_raise=True)
    assert hint_for(c) == (
        "type a Python literal such as 3, 2.5, [[1, 2], [3, 4]] or None; "
        "or error (or raises RuntimeError) if you think it fails"
    )
    assert hint_for(c, "zh").endswith("如果你认为代码会报错，输入 error（或 raises RuntimeError）")
    assert hint_for(card(Kind.CODE, result="y"), "zh") == "请输入一行 Python 代码（它应当准备好 `y`）"


def test_check_language() -> None:
    assert check_language("zh") == "zh" and check_language(" EN ") == "en"
    for bad in ("fr", "", None, 1, "zh-CN"):
        with pytest.raises(ValueError, match="en, zh"):
            check_language(bad)


def test_line_breaks_between_chinese_characters_are_no_spaces() -> None:
    assert wide("中") and wide("，") and not wide("a") and not wide("")
    text = "把 `output` 存下来，\n是标准做法。ReLU\n也算。\n\n第二段"
    assert unbreak_wide(text) == "把 `output` 存下来，是标准做法。ReLU\n也算。\n\n第二段"
    assert unbreak_wide("a\nb") == "a\nb"
