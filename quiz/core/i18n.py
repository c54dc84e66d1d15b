"""The app's own words in each language: one catalog, read with `t(key, lang, **values)`.

Card text is not here (decks carry it: `prompt_zh`, `explain_zh`); this is
what quiz itself says around a card: verdicts, rating labels, hints, the
messages of a malformed answer, the session summary. The core and the TUI
read the same catalog, so a word is translated once.

A message is a key; its English text is the source and must stay as it was
(tests and scripts compare it). A key missing from a translation falls back
to English, never to nothing. `{name}` fields are filled with `str.format`;
a value that is itself a `Message` is rendered in the same language, so a
message built deep in the core (`MalformedAnswer`) can be shown later in
the reader's language.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "LANGUAGE_NAMES",
    "Message",
    "check_language",
    "fields_of",
    "known",
    "msg",
    "t",
    "unbreak_wide",
    "wide",
]

LANGUAGES: tuple[str, ...] = ("en", "zh")
DEFAULT_LANGUAGE = "en"
LANGUAGE_NAMES = {"en": "English", "zh": "中文"}


@dataclass(frozen=True, slots=True, eq=True)
class Message:
    """Words to show later, in whichever language the reader has: a catalog key and its values."""

    key: str
    values: Mapping[str, Any] = field(default_factory=dict)

    def text(self, lang: str = DEFAULT_LANGUAGE) -> str:
        return t(self.key, lang, **self.values)

    def __str__(self) -> str:
        return self.text(DEFAULT_LANGUAGE)

    def __bool__(self) -> bool:
        return bool(self.text(DEFAULT_LANGUAGE))


def msg(key: str, **values: Any) -> Message:
    """A `Message` for `key` (checked now: a typo in a key fails where it is written)."""
    if key not in EN:
        raise KeyError(f"no message {key!r} in the catalog")
    return Message(key, values)


def t(key: str, lang: str = DEFAULT_LANGUAGE, /, **values: Any) -> str:
    """The text of `key` in `lang` (English where `lang` lacks it), with `values` filled in."""
    template = CATALOG.get(lang, EN).get(key)
    if template is None:
        template = EN[key]  # KeyError for a key nobody wrote: a bug, not a reader's problem
    shown = {k: v.text(lang) if isinstance(v, Message) else v for k, v in values.items()}
    return template.format_map(shown)


def known(key: str) -> bool:
    return key in EN


def check_language(value: Any) -> str:
    """`value` as a language code; ValueError naming the choices when it is none."""
    if isinstance(value, str) and value.strip().lower() in LANGUAGES:
        return value.strip().lower()
    raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}, not {value!r}")


def fields_of(template: str) -> set[str]:
    """The `{names}` a template fills in (for the test that every translation keeps them)."""
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(template) if name}


def wide(ch: str) -> bool:
    """Whether `ch` is a wide (Chinese, Japanese, Korean, full-width) character: two columns on a terminal."""
    return bool(ch) and unicodedata.east_asian_width(ch[0]) in ("W", "F")


_BREAK = re.compile(r"(\S)[ \t]*\n[ \t]*(?=(\S))")


def unbreak_wide(text: str) -> str:
    """`text` without the line breaks between two wide characters.

    Markdown shows a line break inside a paragraph as a space; between two
    Chinese characters there is no space, so a translator's wrapped line
    would read as two words.
    """
    return _BREAK.sub(lambda m: m.group(1) if wide(m.group(1)) and wide(m.group(2)) else m.group(0), text)


# --- English: the source text. Keep it byte-identical: tests and scripts compare it. -------------

EN: dict[str, str] = {
    # verdicts and ratings
    "verdict.correct": "correct",
    "verdict.incorrect": "incorrect",
    "verdict.not_graded": "not graded",
    "rating.1": "Again",
    "rating.2": "Hard",
    "rating.3": "Good",
    "rating.4": "Easy",
    # `quiz grade` and `quiz show`
    "grade.verdict": "{word}: you said {given}; {backend} on {device} gave {expected}",
    "grade.ran": "({backend} {version}, ran in {ms:.1f} ms)",
    "grade.not_graded": "not graded: {error}",
    "grade.malformed": "malformed answer: {hint}",
    "show.fallback": "(this card has no full Chinese text yet: what it lacks is shown in English)",
    # the learner's answer could not be read (quiz.core.answers)
    "text": "{text}",
    "answer.hint.shape": "type a shape such as (2, 3), 2x3 or [] for a scalar",
    "answer.hint.dtype": "type a dtype such as float32, torch.int64 or tf.bool",
    "answer.hint.bool": "type yes or no",
    "answer.hint.grad_is_none": "type none or not none",
    "answer.hint.value": "type a Python literal such as 3, 2.5, [[1, 2], [3, 4]] or None",
    "answer.hint.raises": "type an exception class name such as RuntimeError, or no error",
    "answer.hint.choice": "type the letter of an option",
    "answer.hint.code": "type a Python expression",
    "answer.hint.any": "type your answer",
    "answer.hint.letters": "type a letter a–{last}",
    "answer.hint.code_result": "type one line of Python (it should set up `{result}`)",
    "answer.hint.may_raise": "{hint}; or error (or raises RuntimeError) if you think it fails",
    "answer.hint.values_n": "type {n} values in brackets, such as {example}",
    "answer.hint.dtypes_n": "type {n} dtypes such as {example}",
    "answer.hint.shapes_n": "type {n} shapes such as {example}",
    "answer.empty": "the answer is empty: {hint}",
    "answer.problem": "{problem}: {hint}",
    "answer.not_failure": "this card does not ask whether the code fails: {hint}",
    "answer.too_long": "the answer is too long (more than {kib} KiB): shorten it",
    "answer.not_utf8": "the answer is not UTF-8 text ({what} at position {position}): type it again",
    "answer.byte": "byte 0x{byte:02x}",
    "answer.surrogate": "a lone surrogate U+{code:04X}",
    "answer.not_text": "the answer is not text: {hint}",
    "answer.control": "the answer holds a control character ({char} at position {position}): "
    "type it again without it",
    "answer.too_deep": "brackets nested more than {depth} deep",
    "answer.unbalanced": "unbalanced brackets",
    "answer.too_many_items": "more than {n} items",
    "answer.empty_item": "an empty item in a list of shapes",
    "answer.nested_shape": "a shape holds sizes, not shapes (at most one level: ((2, 3), (3,)))",
    "answer.too_many_sizes": "more than {n} sizes",
    "answer.not_size": "{text} is not a size",
    "answer.too_many_dtypes": "more than {n} dtypes",
    "answer.not_dtype": "{text} is not a dtype I know",
    "answer.which_exception": "which exception? Name its class",
    "answer.statement": "type an expression (its value is compared), not a statement",
    "answer.not_python": "not valid Python: {error}",
    "answer.too_complex": "not valid Python: too complex to read (too deeply nested or too long)",
    "answer.code_too_deep": "not valid Python here: nested more than {depth} deep",
    "answer.after_value": "unexpected {text} after the value",
    "answer.ends_early": "the value ends too early",
    "answer.expected": "expected {op} but found {text}",
    "answer.unexpected": "unexpected {text}",
    "answer.unreadable": "could not read {text}",
    "answer.expected_comma": "expected ',' or {close} but found {text}",
    "answer.unhashable": "a list cannot be a dict key or a set member",
    "answer.printed_tensor": "a printed tensor takes one value, then keywords such as dtype=...",
    "answer.sign": "a sign must be followed by a number, not {text}",
    "answer.complex": "only a complex number such as 1+2j may hold + or -",
    "answer.too_many_tokens": "a value of more than {n} numbers, brackets and commas",
    "answer.unclosed_string": "a string is not closed",
    "answer.unknown_escape": "a string holds an unknown escape such as \\d (write \\\\d)",
    "answer.bad_string": "could not read the string {text}",
    "answer.long_number": "a number longer than {n} characters",
    "answer.not_number": "{text} is not a number",
    "answer.float_overflow": "{text} is too large for a float (type inf for infinity)",
    "answer.composite_dtypes": "this card asks for {n} dtypes: {hint}",
    "answer.composite_shapes": "this card asks for {n} shapes: {hint}",
    # the study screen
    "study.loading": "loading decks and schedule…",
    "study.bar.due": "due {n}",
    "study.bar.learning": "learning {n}",
    "study.bar.new": "new {n}",
    "study.bar.today": "today {n}",
    "study.bar.device": "device {device}",
    "study.keys.question": "Enter answers · Esc Home · F1 help",
    "study.running": "running on {backend}/{device}…{note}",
    "study.cold": " ({backend} is still loading: the first card takes a few seconds)",
    "study.cold_many": " ({backends} are still loading: the first card takes a few seconds)",
    "study.keys.verdict": "1 {r1} · 2 {r2} · 3 {r3} · 4 {r4} · Enter accepts the suggestion",
    "study.pick_rating": "This card could not be graded: pick a rating 1-4.",
    "study.saving": "saving…",
    "study.undo_loading": "Still loading: nothing to undo yet.",
    "study.undo_nothing": "Nothing to undo in this session.",
    "study.undoing": "taking it back…",
    "study.undid_review": "Took back your answer to {card}: it is asked again.",
    "study.undid_other": "{card} is back in the queue ({kind} undone).",
    "study.buried": "{card} buried until tomorrow. Ctrl+Z brings it back.",
    "study.suspended": "{card} suspended. Ctrl+Z brings it back.",
    "study.leech_note": "{card} is a leech: forgotten {lapses} times. Read its explanation again, "
    "or suspend it (Ctrl+S) for now.",
    "study.leech_title": "Leech",
    "study.left": "{reviewed} answered, {correct} right this session.",
    "study.problem": "Problem while {what}: {error}",
    "study.while.choosing the next card": "choosing the next card",
    "study.while.grading": "grading",
    "study.while.reading your answer": "reading your answer",
    "study.while.saving your review": "saving your review",
    "study.while.undoing": "undoing",
    "study.while.burying the card": "burying the card",
    "study.while.suspending the card": "suspending the card",
    "study.while.loading": "loading",
    # the card and the answer form
    "kind.shape": "predict the shape",
    "kind.dtype": "predict the dtype",
    "kind.bool": "yes or no",
    "kind.grad_is_none": "is the gradient None?",
    "kind.value": "predict the value",
    "kind.raises": "does the last line raise? which exception?",
    "kind.choice": "pick an option",
    "kind.code": "write the code",
    "kind.translate": "translate the code",
    "card.from": " from {backend}",
    "card.source_title": "{backend}: the working code",
    "card.code_after": "{backend}: your line runs after this",
    "card.leech": "   LEECH ({lapses} lapses)",
    "field.shape": "shape",
    "field.dtype": "dtype",
    "field.value": "value",
    "field.raises": "raises",
    "field.answer": "answer",
    "field.placeholder": "your prediction, then Enter",
    "field.then_enter": "{hint}, then Enter",
    "yesno.yes": "yes",
    "yesno.no": "no",
    "yesno.none": "None",
    "yesno.tensor": "a tensor (not None)",
    # the verdict
    "verdict.badge.correct": " ✓ CORRECT ",
    "verdict.badge.incorrect": " ✗ INCORRECT ",
    "verdict.badge.not_graded": " NOT GRADED ",
    "verdict.leech": "   LEECH: forgotten {lapses} times",
    "verdict.said": "you said  ",
    "verdict.truth": "truth     ",
    "verdict.ran": "   ({backend} {version} on {device}, {ms:.1f} ms)",
    "verdict.code_raised": "\nyour code raised {error}",
    "verdict.code_gave": "\nyour code gave {value}",
    "verdict.rate": "rate: ",
    "verdict.enter": "  Enter = {rating}",
    # the comparison panel (the family on the other backends)
    "siblings.title": "your {backend} card on the other backends: ",
    "siblings.family": "  (family ",
    "siblings.yours": "  your card",
    "siblings.mark.same": "✓ same as your card",
    "siblings.mark.differs": "✗ differs from your card",
    "siblings.mark.not_compared": "· not compared",
    "siblings.short.same": "✓ same",
    "siblings.short.differs": "✗ differs",
    "siblings.short.not_compared": "not compared",
    "siblings.fixed": "a fixed example",
    "siblings.your_values": "your values: {values}",
    "siblings.same_values": "your values",
    "siblings.takes_no": " (it takes no {names})",
    "siblings.yours_some": "your {names}",
    "siblings.own_values": "its own values: {values}",
    "siblings.own_some": "its own {values}",
    "siblings.hint": "↓ compared below: ",
    "siblings.hint_keys": "   (↓ / End to see)",
    "siblings.could_not_run": "could not run: ",
    "siblings.unknown_error": "unknown error",
    "siblings.running": "running…",
    "siblings.waiting": "waiting…",
    "siblings.starting": "starting {backend}…",
    # the session summary
    "summary.nothing": "Nothing to study right now.",
    "summary.done": "Session done. ",
    "summary.answered": "{n} answered",
    "summary.right": ", {correct} right ({percent})",
    "summary.new": ", {n} new",
    "summary.again": ", {n} to see again soon",
    "summary.minutes": ", {minutes:.1f} min of thinking.",
    "summary.leeches": "\nleeches (forgotten again and again): ",
    "summary.next": "\nNext card due {when}.",
    "summary.keys": "\nEnter or Esc: Home (decks, exam, statistics, settings) · Ctrl+Q quits",
    "when.now": "now",
    "when.minutes": "in {n:.0f} min",
    "when.hours": "in {n:.0f} h",
    "when.today": "today {time}",
    "when.tomorrow": "tomorrow {time}",
    "when.date": "on {date}",
    # the key bar: "key.<the binding's English description>"
    "key.Home": "Home",
    "key.Undo": "Undo",
    "key.Bury": "Bury",
    "key.Suspend": "Suspend",
    "key.Quit": "Quit",
    "key.Help": "Help",
    "key.Study": "Study",
    "key.Pick deck": "Pick deck",
    "key.Exam": "Exam",
    "key.Statistics": "Statistics",
    "key.Settings": "Settings",
    "key.Skip": "Skip",
    "key.End exam": "End exam",
    "key.Back": "Back",
    "key.Cancel": "Cancel",
    "key.Save": "Save",
    # the settings screen
    "settings.language": "language",
    # the exam report (`quiz exam --report`)
    "report.score": "**Score: {correct} / {total} ({percent})** · {ended} · {minutes:.1f} min",
    "report.started": "- started: {at}",
    "report.sections": "- sections: {names}",
    "report.backends": "- backends: {names}",
    "report.decks": "- decks: {names}",
    "report.all": "all",
    "report.none": "none",
    "report.limit_min": "{n} min",
    "report.questions": "- questions: {n} · time limit: {limit} · seed: {seed}",
    "report.by_section": "## By section",
    "report.by_backend": "## By backend",
    "report.table": "| {what} | correct | of | score |",
    "report.section": "section",
    "report.backend": "backend",
    "report.times": "## Time per question",
    "report.times_head": "| # | card | backend | answer | result | time |",
    "report.not_answered": "not answered",
    "report.correct": "correct",
    "report.not_graded": "not graded",
    "report.wrong": "wrong",
    "report.missed": "## Missed ({n})",
    "report.none_missed": "None: every answer was right.",
    "report.your_answer": "- your answer: {answer}",
    "report.no_answer": "(not answered)",
    "report.truth": "- truth: `{truth}`",
    "report.not_run": "- truth: (not run)",
    "report.broken": "## Not graded (left out of the score)",
    "report.ended.time up": "time up",
    "report.ended.stopped": "stopped",
    "report.ended.completed": "completed",
}

# --- 中文: the article's own terms (docs/translating.md has the glossary). -----------------------

ZH: dict[str, str] = {
    "verdict.correct": "正确",
    "verdict.incorrect": "错误",
    "verdict.not_graded": "未评分",
    "rating.1": "重来",
    "rating.2": "困难",
    "rating.3": "良好",
    "rating.4": "简单",
    "grade.verdict": "{word}：你的答案是 {given}；{backend} 在 {device} 上得到 {expected}",
    "grade.ran": "（{backend} {version}，运行 {ms:.1f} 毫秒）",
    "grade.not_graded": "未评分：{error}",
    "grade.malformed": "答案无法读取：{hint}",
    "show.fallback": "（这张卡片还没有完整的中文：缺的部分显示英文）",
    "answer.hint.shape": "请输入形状，例如 (2, 3)、2x3，标量写 []",
    "answer.hint.dtype": "请输入 dtype，例如 float32、torch.int64 或 tf.bool",
    "answer.hint.bool": "请输入 yes 或 no",
    "answer.hint.grad_is_none": "请输入 none 或 not none",
    "answer.hint.value": "请输入 Python 字面量，例如 3、2.5、[[1, 2], [3, 4]] 或 None",
    "answer.hint.raises": "请输入异常类名，例如 RuntimeError；不报错则输入 no error",
    "answer.hint.choice": "请输入选项的字母",
    "answer.hint.code": "请输入一个 Python 表达式",
    "answer.hint.any": "请输入你的答案",
    "answer.hint.letters": "请输入字母 a–{last}",
    "answer.hint.code_result": "请输入一行 Python 代码（它应当准备好 `{result}`）",
    "answer.hint.may_raise": "{hint}；如果你认为代码会报错，输入 error（或 raises RuntimeError）",
    "answer.hint.values_n": "请在括号里输入 {n} 个值，例如 {example}",
    "answer.hint.dtypes_n": "请输入 {n} 个 dtype，例如 {example}",
    "answer.hint.shapes_n": "请输入 {n} 个形状，例如 {example}",
    "answer.empty": "答案是空的：{hint}",
    "answer.problem": "{problem}：{hint}",
    "answer.not_failure": "这张卡片不是问代码会不会报错：{hint}",
    "answer.too_long": "答案太长（超过 {kib} KiB）：请缩短",
    "answer.not_utf8": "答案不是 UTF-8 文本（位置 {position} 处的{what}）：请重新输入",
    "answer.byte": "字节 0x{byte:02x}",
    "answer.surrogate": "孤立的代理字符 U+{code:04X}",
    "answer.not_text": "答案不是文本：{hint}",
    "answer.control": "答案含有控制字符（位置 {position} 处的 {char}）：请去掉它重新输入",
    "answer.too_deep": "括号嵌套超过 {depth} 层",
    "answer.unbalanced": "括号不配对",
    "answer.too_many_items": "超过 {n} 项",
    "answer.empty_item": "形状列表里有一项是空的",
    "answer.nested_shape": "形状里只能是各维的大小，不能再套形状（最多一层：((2, 3), (3,))）",
    "answer.too_many_sizes": "超过 {n} 个维度",
    "answer.not_size": "{text} 不是维度大小",
    "answer.too_many_dtypes": "超过 {n} 个 dtype",
    "answer.not_dtype": "{text} 不是已知的 dtype",
    "answer.which_exception": "哪个异常？请写出它的类名",
    "answer.statement": "请输入表达式（比较的是它的值），不要输入语句",
    "answer.not_python": "不是合法的 Python：{error}",
    "answer.too_complex": "不是合法的 Python：太复杂，无法读取（嵌套太深或太长）",
    "answer.code_too_deep": "这里不接受这样的 Python：嵌套超过 {depth} 层",
    "answer.after_value": "值后面多了 {text}",
    "answer.ends_early": "值没写完就结束了",
    "answer.expected": "这里应为 {op}，却是 {text}",
    "answer.unexpected": "多余的 {text}",
    "answer.unreadable": "无法读取 {text}",
    "answer.expected_comma": "这里应为 ',' 或 {close}，却是 {text}",
    "answer.unhashable": "列表不能作为字典的键或集合的元素",
    "answer.printed_tensor": "打印出的张量只带一个值，后面是 dtype=... 这样的关键字参数",
    "answer.sign": "正负号后面应当是数字，而不是 {text}",
    "answer.complex": "只有 1+2j 这样的复数里才能出现 + 或 -",
    "answer.too_many_tokens": "值里的数字、括号和逗号超过 {n} 个",
    "answer.unclosed_string": "字符串没有闭合",
    "answer.unknown_escape": "字符串里有未知的转义，例如 \\d（请写成 \\\\d）",
    "answer.bad_string": "无法读取字符串 {text}",
    "answer.long_number": "数字长度超过 {n} 个字符",
    "answer.not_number": "{text} 不是数字",
    "answer.float_overflow": "{text} 超出了浮点数的范围（无穷大请写 inf）",
    "answer.composite_dtypes": "这张卡片要的是 {n} 个 dtype：{hint}",
    "answer.composite_shapes": "这张卡片要的是 {n} 个形状：{hint}",
    "study.loading": "正在加载卡组和复习计划…",
    "study.bar.due": "到期 {n}",
    "study.bar.learning": "学习中 {n}",
    "study.bar.new": "新卡 {n}",
    "study.bar.today": "今天 {n}",
    "study.bar.device": "设备 {device}",
    "study.keys.question": "Enter 提交 · Esc 主页 · F1 帮助",
    "study.running": "正在 {backend}/{device} 上运行…{note}",
    "study.cold": "（{backend} 仍在加载：第一张卡片要等几秒）",
    "study.cold_many": "（{backends} 仍在加载：第一张卡片要等几秒）",
    "study.keys.verdict": "1 {r1} · 2 {r2} · 3 {r3} · 4 {r4} · Enter 采用建议的评分",
    "study.pick_rating": "这张卡片无法评分：请选择评分 1-4。",
    "study.saving": "正在保存…",
    "study.undo_loading": "仍在加载：现在还没有可撤销的操作。",
    "study.undo_nothing": "本次学习中没有可撤销的操作。",
    "study.undoing": "正在撤销…",
    "study.undid_review": "已撤回你对 {card} 的回答：它会再问一次。",
    "study.undid_other": "{card} 已回到队列（撤销了 {kind}）。",
    "study.buried": "{card} 已搁置到明天。Ctrl+Z 可以撤销。",
    "study.suspended": "{card} 已暂停。Ctrl+Z 可以撤销。",
    "study.leech_note": "{card} 是一张“顽固卡”：已经忘了 {lapses} 次。请重读它的解释，或者先暂停它（Ctrl+S）。",
    "study.leech_title": "顽固卡",
    "study.left": "本次回答了 {reviewed} 张，答对 {correct} 张。",
    "study.problem": "{what}时出了问题：{error}",
    "study.while.choosing the next card": "选择下一张卡片",
    "study.while.grading": "评分",
    "study.while.reading your answer": "读取你的答案",
    "study.while.saving your review": "保存复习记录",
    "study.while.undoing": "撤销",
    "study.while.burying the card": "搁置卡片",
    "study.while.suspending the card": "暂停卡片",
    "study.while.loading": "加载",
    "kind.shape": "预测形状",
    "kind.dtype": "预测 dtype",
    "kind.bool": "是或否",
    "kind.grad_is_none": "梯度是 None 吗？",
    "kind.value": "预测值",
    "kind.raises": "最后一行会报错吗？哪个异常？",
    "kind.choice": "选择一项",
    "kind.code": "写出代码",
    "kind.translate": "翻译代码",
    "card.from": "（源自 {backend}）",
    "card.source_title": "{backend}：能运行的原代码",
    "card.code_after": "{backend}：你的代码在这之后运行",
    "card.leech": "   顽固卡（忘了 {lapses} 次）",
    "field.shape": "形状",
    "field.dtype": "dtype",
    "field.value": "值",
    "field.raises": "异常",
    "field.answer": "答案",
    "field.placeholder": "你的预测，然后按 Enter",
    "field.then_enter": "{hint}，然后按 Enter",
    "yesno.yes": "是",
    "yesno.no": "否",
    "yesno.none": "None",
    "yesno.tensor": "张量（不是 None）",
    "verdict.badge.correct": " ✓ 正确 ",
    "verdict.badge.incorrect": " ✗ 错误 ",
    "verdict.badge.not_graded": " 未评分 ",
    "verdict.leech": "   顽固卡：已经忘了 {lapses} 次",
    "verdict.said": "你的答案  ",
    "verdict.truth": "实际结果  ",
    "verdict.ran": "   （{backend} {version}，{device}，{ms:.1f} 毫秒）",
    "verdict.code_raised": "\n你的代码报错 {error}",
    "verdict.code_gave": "\n你的代码得到 {value}",
    "verdict.rate": "评分：",
    "verdict.enter": "  Enter = {rating}",
    "siblings.title": "你的 {backend} 卡片在其他后端上：",
    "siblings.family": "  （卡片族 ",
    "siblings.yours": "  你的卡片",
    "siblings.mark.same": "✓ 与你的卡片相同",
    "siblings.mark.differs": "✗ 与你的卡片不同",
    "siblings.mark.not_compared": "· 未比较",
    "siblings.short.same": "✓ 相同",
    "siblings.short.differs": "✗ 不同",
    "siblings.short.not_compared": "未比较",
    "siblings.fixed": "固定的例子",
    "siblings.your_values": "你的取值：{values}",
    "siblings.same_values": "你的取值",
    "siblings.takes_no": "（它没有 {names}）",
    "siblings.yours_some": "你的 {names}",
    "siblings.own_values": "它自己的取值：{values}",
    "siblings.own_some": "它自己的 {values}",
    "siblings.hint": "↓ 比较见下方：",
    "siblings.hint_keys": "   （按 ↓ / End 查看）",
    "siblings.could_not_run": "无法运行：",
    "siblings.unknown_error": "未知错误",
    "siblings.running": "运行中…",
    "siblings.waiting": "等待中…",
    "siblings.starting": "正在启动 {backend}…",
    "summary.nothing": "现在没有要学习的卡片。",
    "summary.done": "本次学习结束。",
    "summary.answered": "回答了 {n} 张",
    "summary.right": "，答对 {correct} 张（{percent}）",
    "summary.new": "，新卡 {n} 张",
    "summary.again": "，{n} 张很快会再见",
    "summary.minutes": "，思考了 {minutes:.1f} 分钟。",
    "summary.leeches": "\n顽固卡（一忘再忘）：",
    "summary.next": "\n下一张卡片到期：{when}。",
    "summary.keys": "\nEnter 或 Esc：主页（卡组、考试、统计、设置）· Ctrl+Q 退出",
    "when.now": "现在",
    "when.minutes": "{n:.0f} 分钟后",
    "when.hours": "{n:.0f} 小时后",
    "when.today": "今天 {time}",
    "when.tomorrow": "明天 {time}",
    "when.date": "{date}",
    "key.Home": "主页",
    "key.Undo": "撤销",
    "key.Bury": "搁置",
    "key.Suspend": "暂停",
    "key.Quit": "退出",
    "key.Help": "帮助",
    "key.Study": "学习",
    "key.Pick deck": "选择卡组",
    "key.Exam": "考试",
    "key.Statistics": "统计",
    "key.Settings": "设置",
    "key.Skip": "跳过",
    "key.End exam": "结束考试",
    "key.Back": "返回",
    "key.Cancel": "取消",
    "key.Save": "保存",
    "settings.language": "语言 (language)",
    "report.score": "**得分：{correct} / {total}（{percent}）** · {ended} · {minutes:.1f} 分钟",
    "report.started": "- 开始时间：{at}",
    "report.sections": "- 章节：{names}",
    "report.backends": "- 后端：{names}",
    "report.decks": "- 卡组：{names}",
    "report.all": "全部",
    "report.none": "无",
    "report.limit_min": "{n} 分钟",
    "report.questions": "- 题数：{n} · 时限：{limit} · 种子：{seed}",
    "report.by_section": "## 按章节",
    "report.by_backend": "## 按后端",
    "report.table": "| {what} | 答对 | 题数 | 得分 |",
    "report.section": "章节",
    "report.backend": "后端",
    "report.times": "## 每题用时",
    "report.times_head": "| # | 卡片 | 后端 | 答案 | 结果 | 用时 |",
    "report.not_answered": "未作答",
    "report.correct": "正确",
    "report.not_graded": "未评分",
    "report.wrong": "错误",
    "report.missed": "## 答错的题（{n}）",
    "report.none_missed": "没有：每道题都答对了。",
    "report.your_answer": "- 你的答案：{answer}",
    "report.no_answer": "（未作答）",
    "report.truth": "- 实际结果：`{truth}`",
    "report.not_run": "- 实际结果：（未运行）",
    "report.broken": "## 未评分（不计入得分）",
    "report.ended.time up": "时间到",
    "report.ended.stopped": "提前结束",
    "report.ended.completed": "全部作答",
}

CATALOG: dict[str, dict[str, str]] = {"en": EN, "zh": ZH}
