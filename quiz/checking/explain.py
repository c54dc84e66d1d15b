"""Does a card's text say what its variant does? Exceptions named in explanations, and prompt wording.

Pure text checks for `quiz deck check`, run on each variant's rendered
prompt and explanation next to that variant's truth:

- an explanation that names an exception class the variant did not raise, or
  says the code raises when nothing was raised, teaches something false for
  that variant; one that leaves out the class that was raised leaves out the
  answer. Negated and hypothetical mentions ("does not raise", "would raise
  `RuntimeError` after a `permute`", "unlike `ValueError`") are contrasts,
  not claims, and pass.
- a prompt or explanation that hedges a plural with "(s)" ("run 2 time(s)")
  should be written for the variant: `${'time' if n == 1 else 'times'}`;
- a rendered prompt should ask one question, and not count zero of something
  ("A gluon net of 0 `Dense(4)`").
"""

from __future__ import annotations

import re

__all__ = [
    "exception_names",
    "explain_raise_problem",
    "prompt_problem",
    "translated_raise_problem",
    "wording_problem",
]

# `RuntimeError`, `tf.errors.InvalidArgumentError`, `mx.base.MXNetError`, `UserWarning`, `StopIteration`.
_EXCEPTION = re.compile(
    r"(?<![\w.])(?:[A-Za-z_]\w*\.)*([A-Z][A-Za-z0-9]*(?:Error|Exception|Warning|Interrupt|Iteration|Exit))\b"
)
_RAISE_WORD = re.compile(r"\b(?:raise[sd]?|raising|throws?|thrown)\b", re.IGNORECASE)
# Words that turn a following mention into a contrast or a hypothesis, not a claim about this variant.
_HEDGES = frozenset(
    {
        "not",
        "never",
        "no",
        "nothing",
        "nor",
        "without",
        "would",
        "could",
        "might",
        "instead",
        "unlike",
        "than",
        "cannot",
        "otherwise",
        "neither",
        "once",
    }
)
_HEDGE_WINDOW = 6  # words looked back, within the clause
_CLAUSE_END = re.compile(r"[.;!?]\s|[.;!?]$|\n\n|—|\(|\)|:\s")
_WORD = re.compile(r"[A-Za-z']+")
_PLURAL_HEDGE = re.compile(r"\w\((?:s|es)\)")
_CODE = re.compile(r"\$\{[^}]*\}|`[^`]*`")
_ZERO_COUNT = re.compile(r"(?<![\w.])0 `")
# `__init__` in prose: card text is Markdown, which shows it as a bold "init".
_DUNDER = re.compile(r"(?<![\w\\])__[A-Za-z]\w*?__(?!\w)")
_SPAN = re.compile(r"`[^`]*`")


def _clause_before(text: str, pos: int) -> str:
    """The text of the clause that `pos` is in, up to `pos`."""
    start = 0
    for m in _CLAUSE_END.finditer(text, 0, pos):
        start = m.end()
    return text[start:pos]


def _hedged(text: str, pos: int) -> bool:
    words = [w.lower() for w in _WORD.findall(_clause_before(text, pos))][-_HEDGE_WINDOW:]
    return any(w in _HEDGES or w.endswith("n't") for w in words)


def exception_names(text: str, *, claims_only: bool = False) -> list[str]:
    """Exception class names in `text` (last dotted part), in order, once each.

    With `claims_only`, mentions in a negated or hypothetical clause are left out.
    """
    out: list[str] = []
    for m in _EXCEPTION.finditer(text):
        name = m.group(1)
        if claims_only and _hedged(text, m.start()):
            continue
        if name not in out:
            out.append(name)
    return out


def _says_raises(text: str) -> str | None:
    for m in _RAISE_WORD.finditer(text):
        if not _hedged(text, m.start()):
            return m.group(0)
    return None


def explain_raise_problem(explain: str, raised: str | None) -> str | None:
    """Why `explain` is wrong for a variant that raised `raised` (a class name; None: nothing), or None."""
    simple = raised.rsplit(".", 1)[-1] if raised else None
    claimed = exception_names(explain, claims_only=True)
    others = [n for n in claimed if n != simple]
    if simple is None:
        if others:
            return f"nothing was raised, but the explanation says {', '.join(others)}"
        word = _says_raises(explain)
        if word:
            return f"nothing was raised, but the explanation says it {word!r}"
        return None
    if not re.search(rf"(?<![\w]){re.escape(simple)}\b", explain):
        return f"the variant raised {simple}, which the explanation does not name"
    if others:
        return f"the variant raised {simple}, but the explanation also claims {', '.join(others)}"
    return None


def translated_raise_problem(english: str, translated: str) -> str | None:
    """Why a translated explanation names other exception classes than the English one, or None.

    The English is judged against the variant (`explain_raise_problem`); its
    hedges are English words, so the translation is held to the English: the
    same class names, no more, no fewer (Chinese keeps them as Python prints them).
    """
    en, tr = set(exception_names(english)), set(exception_names(translated))
    if en == tr:
        return None
    parts = []
    if en - tr:
        parts.append(f"leaves out {', '.join(sorted(en - tr))}")
    if tr - en:
        parts.append(f"names {', '.join(sorted(tr - en))}, which the English does not")
    return f"the Chinese explanation {' and '.join(parts)} for this variant"


def wording_problem(field: str, text: str) -> str | None:
    """A hedged plural such as `time(s)` in a prompt or explanation template, or None.

    Code is not prose: `${prod(s)}` and `` `f(s)` `` are left alone.
    """
    text = _CODE.sub(" ", text)
    m = _PLURAL_HEDGE.search(text)
    if m is None:
        return None
    start = max(text.rfind(" ", 0, m.start()) + 1, 0)
    return (
        f"the {field} hedges a plural ({text[start : m.end()]!r}): write it for the variant, "
        "e.g. ${'time' if n == 1 else 'times'}"
    )


def markdown_problem(field: str, text: str) -> str | None:
    """A dunder name outside a code span in one variant's rendered text (Markdown would eat it), or None."""
    m = _DUNDER.search(_SPAN.sub(" ", text))
    if m is None:
        return None
    return (
        f"the {field} writes {m.group(0)!r} outside backticks: Markdown shows it as a bold "
        f"{m.group(0).strip('_')!r}; put the name (or the quoted message) in backticks"
    )


def prompt_problem(prompt: str) -> str | None:
    """What is wrong with one variant's rendered prompt as a sentence, or None."""
    prose = _CODE.sub(" ", prompt)
    if prose.count("?") > 1:
        return "the prompt asks more than one question; the card grades one answer"
    m = _ZERO_COUNT.search(prompt)
    if m:
        start = max(prompt.rfind(" ", 0, max(m.start() - 1, 0)) + 1, 0)
        return f"the prompt counts zero of something ({prompt[start : m.end() + 12]!r}...): draw at least one"
    return None
