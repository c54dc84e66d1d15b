"""Read what the learner typed into a value that can be compared with the truth.

A malformed answer (empty, unbalanced brackets, not a shape...) raises
`MalformedAnswer` with a hint: the caller asks again, it is never graded wrong.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from quiz.core.cards import Card, Kind

__all__ = ["MalformedAnswer", "parse_answer", "canonical_dtype", "DTYPES", "hint_for"]


class MalformedAnswer(ValueError):
    """The answer could not be read; `hint` says what is expected."""

    def __init__(self, hint: str) -> None:
        super().__init__(hint)
        self.hint = hint


DTYPES = {
    "bool",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "int8",
    "int16",
    "int32",
    "int64",
    "float16",
    "bfloat16",
    "float32",
    "float64",
    "complex64",
    "complex128",
    "string",
}
DTYPE_ALIASES = {
    "float": "float32",
    "double": "float64",
    "half": "float16",
    "long": "int64",
    "int": "int32",
    "short": "int16",
    "cfloat": "complex64",
    "cdouble": "complex128",
    "bool_": "bool",
    "boolean": "bool",
    "str": "string",
}
_DTYPE_PREFIX = re.compile(r"^(torch|tf|tensorflow|np|numpy|mx|mxnet|jnp|keras)\.(dtypes\.)?")

HINTS = {
    Kind.SHAPE: "type a shape such as (2, 3), 2x3 or [] for a scalar",
    Kind.DTYPE: "type a dtype such as float32, torch.int64 or tf.bool",
    Kind.BOOL: "type yes or no",
    Kind.GRAD_IS_NONE: "type none or not none",
    Kind.VALUE: "type a Python literal such as 3, 2.5, [[1, 2], [3, 4]] or None",
    Kind.RAISES: "type an exception class name such as RuntimeError, or no error",
    Kind.CHOICE: "type the letter of an option",
    Kind.CODE: "type a Python expression",
}


def hint_for(card: Card) -> str:
    if card.kind == Kind.CHOICE and card.choices:
        return f"type a letter a–{chr(ord('a') + len(card.choices) - 1)}"
    if card.kind == Kind.CODE and card.result:
        return f"type one line of Python (it should set up `{card.result}`)"
    return HINTS[card.kind]


def parse_answer(card: Card, text: str) -> Any:
    """The learner's answer as a comparable value; raises MalformedAnswer."""
    raw = text.strip()
    if not raw:
        raise MalformedAnswer("the answer is empty: " + hint_for(card))
    if card.kind not in (Kind.CODE, Kind.VALUE):
        _check_brackets(raw, hint_for(card))
    match card.kind:
        case Kind.SHAPE:
            return parse_shape(raw)
        case Kind.DTYPE:
            return parse_dtype(raw)
        case Kind.BOOL:
            return parse_yes_no(raw, card)
        case Kind.GRAD_IS_NONE:
            return parse_is_none(raw)
        case Kind.VALUE:
            return parse_value(raw)
        case Kind.RAISES:
            return parse_exception(raw)
        case Kind.CHOICE:
            return parse_choice(raw, card)
        case Kind.CODE:
            return parse_code(raw, card)
    raise MalformedAnswer(hint_for(card))  # pragma: no cover - all kinds handled


def _check_brackets(raw: str, hint: str) -> None:
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    for ch in raw:
        if ch in "([{":
            stack.append(ch)
        elif ch in pairs and (not stack or stack.pop() != pairs[ch]):
            raise MalformedAnswer(f"unbalanced brackets: {hint}")
    if stack:
        raise MalformedAnswer(f"unbalanced brackets: {hint}")


_SHAPE_WRAPPERS = re.compile(
    r"^(?:torch\.)?(?:Size|TensorShape|(?:tf\.)?TensorShape|shape)\s*\((.*)\)$", re.S
)


def parse_shape(raw: str) -> tuple[int | None, ...]:
    text = raw.strip()
    m = _SHAPE_WRAPPERS.match(text)
    if m:
        text = m.group(1).strip()
    text = text.strip()
    while len(text) >= 2 and text[0] + text[-1] in ("()", "[]"):
        text = text[1:-1].strip()
    if text in ("", "scalar"):
        return ()
    parts = [p for p in re.split(r"\s*(?:,|[x×*]|\s)\s*", text) if p != ""]
    dims: list[int | None] = []
    for p in parts:
        if p.lower() in ("none", "?", "null"):
            dims.append(None)
        elif re.fullmatch(r"\d+", p):
            dims.append(int(p))
        else:
            raise MalformedAnswer(f"{p!r} is not a size: {HINTS[Kind.SHAPE]}")
    return tuple(dims)


def canonical_dtype(name: str) -> str | None:
    """`torch.float32`, `tf.float32`, `<dtype: 'float32'>`, `np.float32` → `float32` (None if unknown)."""
    text = name.strip().strip("'\"`")
    m = re.fullmatch(r"<dtype:\s*'([\w]+)'>", text) or re.fullmatch(r"<class 'numpy\.(\w+)'>", text)
    if m:
        text = m.group(1)
    m = re.fullmatch(r"dtype\(\s*'?(\w+)'?\s*\)", text)
    if m:
        text = m.group(1)
    text = _DTYPE_PREFIX.sub("", text).lower()
    text = DTYPE_ALIASES.get(text, text)
    return text if text in DTYPES else None


def parse_dtype(raw: str) -> str:
    name = canonical_dtype(raw)
    if name is None:
        raise MalformedAnswer(f"{raw!r} is not a dtype I know: {HINTS[Kind.DTYPE]}")
    return name


_YES = {"yes", "y", "true", "t", "1"}
_NO = {"no", "n", "false", "f", "0"}


def parse_yes_no(raw: str, card: Card) -> bool:
    word = raw.strip().lower().rstrip(".!")
    if word in _YES:
        return True
    if word in _NO:
        return False
    raise MalformedAnswer(hint_for(card))


def parse_is_none(raw: str) -> bool:
    """True when the learner predicts the gradient is None."""
    word = " ".join(raw.strip().lower().rstrip(".!").split())
    if word in {"none", "is none", "yes", "y", "true", "it is none", "null"}:
        return True
    if word in {"not none", "no", "n", "false", "a tensor", "tensor", "is not none", "not null", "some"}:
        return False
    raise MalformedAnswer(HINTS[Kind.GRAD_IS_NONE])


_CALL_WRAPPER = re.compile(r"^(?:[A-Za-z_][\w.]*)\((.*)\)$", re.S)


def parse_value(raw: str) -> Any:
    text = raw.strip()
    try:
        return _literal(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass
    # `tensor([1., 2.])`, `array([1, 2])`: accept the printed form of a tensor.
    m = _CALL_WRAPPER.match(text)
    if m:
        inner = m.group(1)
        inner = re.split(r",\s*(?:dtype|device|requires_grad|shape|grad_fn)\s*=", inner)[0]
        try:
            return _literal(inner.strip())
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            pass
    _check_brackets(text, HINTS[Kind.VALUE])
    raise MalformedAnswer(f"could not read {text!r}: {HINTS[Kind.VALUE]}")


def _literal(text: str) -> Any:
    if len(text) > 10_000:
        raise ValueError("too long")
    tree = ast.parse(text, mode="eval")
    return ast.literal_eval(_float_words(tree))


def _float_words(tree: ast.Expression) -> ast.Expression:
    """Let `nan`, `inf`, `true`, `false`, `none` be typed as words."""
    words = {"nan": float("nan"), "inf": float("inf"), "true": True, "false": False, "none": None}

    class Fix(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.AST:
            if node.id.lower() in words:
                return ast.copy_location(ast.Constant(words[node.id.lower()]), node)
            return node

    return Fix().visit(tree)  # type: ignore[no-any-return]


def parse_exception(raw: str) -> str | None:
    """An exception class name (last dotted part), or None for "no error"."""
    text = " ".join(raw.strip().rstrip(".!").split())
    if text.lower() in {
        "no error",
        "none",
        "no exception",
        "nothing",
        "no",
        "ok",
        "no raise",
        "doesn't raise",
    }:
        return None
    if re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*(\(\))?", text):
        return text.removesuffix("()").rsplit(".", 1)[-1]
    raise MalformedAnswer(HINTS[Kind.RAISES])


def parse_choice(raw: str, card: Card) -> str:
    text = raw.strip()
    m = re.fullmatch(r"\(?([A-Za-z])[).]?", text)
    if m:
        i = ord(m.group(1).lower()) - ord("a")
        if 0 <= i < len(card.choices):
            return card.choices[i]
    if re.fullmatch(r"\d+", text):
        i = int(text) - 1
        if 0 <= i < len(card.choices):
            return card.choices[i]
    for option in card.choices:
        if text.lower() == option.strip().lower():
            return option
    raise MalformedAnswer(hint_for(card))


def parse_code(raw: str, card: Card) -> str:
    mode = "exec" if card.result else "eval"
    try:
        ast.parse(raw, mode=mode)
    except SyntaxError as exc:
        if mode == "eval":
            try:
                ast.parse(raw, mode="exec")
            except SyntaxError:
                pass
            else:
                raise MalformedAnswer("type an expression (its value is compared), not a statement") from None
        raise MalformedAnswer(f"not valid Python: {exc.msg}") from None
    return raw
