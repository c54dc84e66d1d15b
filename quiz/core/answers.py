"""Read what the learner typed into a value that can be compared with the truth.

A malformed answer (empty, unbalanced brackets, not a shape, too long, not
UTF-8, a control character...) raises `MalformedAnswer` with a one-line hint:
the caller asks again, it is never graded wrong. Nothing else escapes
`parse_answer`, whatever the text.

Every reader is linear in the answer's length: the text is screened first (size,
encoding, control characters, bracket depth), values are read by a small parser
with a depth bound instead of `ast` (whose recursion a long `1+1+…` exhausts).
Of the learner's text only a `code` answer, capped at `MAX_CODE_BYTES`, and a
single string literal with escapes reach Python's parser.
"""

from __future__ import annotations

import ast
import functools
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from quiz.core.cards import MAY_RAISE_KINDS, Card, Kind

__all__ = [
    "DTYPES",
    "MAX_ANSWER_BYTES",
    "MAX_CODE_BYTES",
    "MalformedAnswer",
    "Raises",
    "canonical_dtype",
    "composite_size",
    "hint_for",
    "parse_answer",
    "visible",
]

MAX_ANSWER_BYTES = 64 * 1024
# A code answer goes to Python's parser, whose f-string handling is quadratic on 3.11: keep it short.
MAX_CODE_BYTES = 8 * 1024
MAX_DEPTH = 32  # brackets inside brackets; a real answer needs a handful
MAX_NUMBER_CHARS = 100
MAX_DIM_DIGITS = 30
MAX_VALUE_TOKENS = 4096  # numbers, strings, brackets and commas in a value: a 32x32 matrix fits
MAX_ITEMS = 64  # sizes in a shape, shapes or dtypes in a tuple (frameworks allow at most 64 dimensions)
SHOWN_CHARS = 40  # how much of the answer a message quotes


class MalformedAnswer(ValueError):
    """The answer could not be read; `hint` says what is expected (one line, no control characters)."""

    def __init__(self, hint: str) -> None:
        super().__init__(hint)
        self.hint = hint


@dataclass(frozen=True, slots=True)
class Raises:
    """The learner predicts that the code fails: `error` (any exception) or `raises X` (`name` = X)."""

    name: str | None = None

    def __str__(self) -> str:
        return f"raises {self.name}" if self.name else "error"


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
MAY_RAISE_HINT = "or error (or raises RuntimeError) if you think it fails"


def hint_for(card: Card) -> str:
    """What this card expects, in one line."""
    if card.kind == Kind.CHOICE and card.choices:
        hint = f"type a letter a–{chr(ord('a') + len(card.choices) - 1)}"
    elif card.kind in (Kind.CODE, Kind.TRANSLATE) and card.result:
        return f"type one line of Python (it should set up `{_visible(card.result, quote=False)}`)"
    else:
        hint = HINTS.get(card.kind, "type your answer")
        n = composite_size(card)
        if n is not None:
            hint = _composite_hint(card.kind, n)
    if card.may_raise and card.kind in MAY_RAISE_KINDS:
        hint = f"{hint}; {MAY_RAISE_HINT}"
    return hint


def _composite_hint(kind: Kind, n: int) -> str:
    if kind == Kind.VALUE:
        example = ", ".join(["2", "4", "1"][:n]) + (", ..." if n > 3 else "")
        return f"type {n} values in brackets, such as ({example}{',' if n == 1 else ''})"
    if kind == Kind.DTYPE:
        example = ", ".join(["float64", "int64", "bool"][:n]) + (", ..." if n > 3 else "")
        return f"type {n} dtypes such as ({example}{',' if n == 1 else ''})"
    example = ", ".join(["(2, 3)", "(3,)", "()"][:n]) + (", ..." if n > 3 else "")
    return f"type {n} shapes such as ({example}{',' if n == 1 else ''})"


def parse_answer(card: Card, text: str | bytes) -> Any:
    """The learner's answer as a comparable value; raises MalformedAnswer (and nothing else).

    `text` is what was typed: a str (from the command line, possibly holding
    surrogate escapes for bytes that are not UTF-8) or raw bytes.
    """
    writes_code = card.kind in (Kind.CODE, Kind.TRANSLATE)
    raw = _screen(text, MAX_CODE_BYTES if writes_code else MAX_ANSWER_BYTES, card).strip()
    if not raw:
        raise MalformedAnswer("the answer is empty: " + hint_for(card))
    if writes_code:  # a translation is typed like a code answer: statements that set up `result`
        return parse_code(raw, card)
    may_raise = card.may_raise and card.kind in MAY_RAISE_KINDS
    if may_raise and card.kind != Kind.CHOICE:
        failure = _failure(raw)
        if failure is not None:
            return failure
    try:
        if card.kind != Kind.VALUE:  # a value's brackets are read by its parser, with strings in mind
            _check_brackets(raw)
        parsed = _parse_kind(card, raw)
    except MalformedAnswer as exc:
        failure = _failure(raw) if card.kind != Kind.RAISES else None
        if failure is not None and may_raise:
            return failure  # a choice card: no option spelled like this
        if failure is not None:
            raise MalformedAnswer(
                f"this card does not ask whether the code fails: {hint_for(card)}"
            ) from None
        problem = exc.hint
        raise MalformedAnswer(f"{problem}: {hint_for(card)}" if problem else hint_for(card)) from None
    _check_composite(card, parsed)
    return parsed


def _parse_kind(card: Card, raw: str) -> Any:
    match card.kind:
        case Kind.SHAPE:
            return parse_shape(raw)
        case Kind.DTYPE:
            return parse_dtype(raw)
        case Kind.BOOL:
            return parse_yes_no(raw)
        case Kind.GRAD_IS_NONE:
            return parse_is_none(raw)
        case Kind.VALUE:
            return parse_value(raw)
        case Kind.RAISES:
            return parse_exception(raw)
        case Kind.CHOICE:
            return parse_choice(raw, card)
    raise MalformedAnswer("")  # pragma: no cover - every kind is handled


# --- screening: size, encoding, control characters, brackets ---------------------------------

# Characters that must not reach a terminal or a message raw: C0/C1 controls (but tab, newline and
# carriage return, which are whitespace here), DEL, and the invisible formatting characters
# (zero-width, bidirectional overrides, BOM) that make a message say something other than it shows.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e"
    "\u2060-\u206f\ufeff\ufff9-\ufffb\ufffe\uffff\U000e0000-\U000e007f]"
)
_SURROGATE = re.compile("[\ud800-\udfff]")
_SHOWN_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
_UNSAFE = re.compile(
    "[\t\n\r\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e"
    "\u2060-\u206f\ufeff\ufff9-\ufffb\ufffe\uffff\U000e0000-\U000e007f\ud800-\udfff]"
)


def _escape(ch: str) -> str:
    if ch in _SHOWN_ESCAPES:
        return _SHOWN_ESCAPES[ch]
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def visible(text: str) -> str:
    """`text` safe to print on one line: control characters, invisible formatting characters and
    undecodable bytes (surrogate escapes) written as `\\x1b`, `\\u200b`, `\\udcff`, repr-style."""
    return _UNSAFE.sub(lambda m: _escape(m.group()), text)


def _visible(text: str, limit: int = SHOWN_CHARS, *, quote: bool = True) -> str:
    """A short piece of `text` for a message: at most `limit` characters, made visible, quoted."""
    shown = visible(text[:limit]) + ("…" if len(text) > limit else "")
    return f"'{shown}'" if quote else shown


def _screen(text: Any, limit: int, card: Card) -> str:
    """The answer as a str of at most `limit` UTF-8 bytes, with no control characters; or MalformedAnswer."""
    if isinstance(text, (bytes, bytearray, memoryview)):
        if len(text) > limit:
            raise MalformedAnswer(_too_long(limit))
        data = bytes(text)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedAnswer(
                f"the answer is not UTF-8 text (byte 0x{data[exc.start]:02x} at position {exc.start}): "
                "type it again"
            ) from None
    if not isinstance(text, str):
        raise MalformedAnswer(f"the answer is not text: {hint_for(card)}")
    if len(text) > limit:
        raise MalformedAnswer(_too_long(limit))
    m = _SURROGATE.search(text)
    if m:
        code = ord(m.group())
        what = f"byte 0x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"a lone surrogate U+{code:04X}"
        raise MalformedAnswer(f"the answer is not UTF-8 text ({what} at position {m.start()}): type it again")
    if len(text.encode("utf-8")) > limit:
        raise MalformedAnswer(_too_long(limit))
    m = _INVISIBLE.search(text)
    if m:
        raise MalformedAnswer(
            f"the answer holds a control character ({_escape(m.group())} at position {m.start()}): "
            "type it again without it"
        )
    return text


def _too_long(limit: int) -> str:
    return f"the answer is too long (more than {limit // 1024} KiB): shorten it"


_CLOSER = {")": "(", "]": "[", "}": "{"}


def _check_brackets(raw: str) -> None:
    """Balanced and at most MAX_DEPTH deep (one pass); raises MalformedAnswer without the hint."""
    stack: list[str] = []
    for ch in raw:
        if ch in "([{":
            stack.append(ch)
            if len(stack) > MAX_DEPTH:
                raise MalformedAnswer(f"brackets nested more than {MAX_DEPTH} deep")
        elif ch in _CLOSER and (not stack or stack.pop() != _CLOSER[ch]):
            raise MalformedAnswer("unbalanced brackets")
    if stack:
        raise MalformedAnswer("unbalanced brackets")


def _group_end(text: str, start: int) -> int:
    """Index of the bracket closing the one at `start` (brackets are balanced here), or -1."""
    depth = 0
    for i in range(start, len(text)):
        ch = text[i]
        if ch in "([{":
            depth += 1
        elif ch in _CLOSER:
            depth -= 1
            if depth == 0:
                return i
    return -1


def _split_top(text: str) -> list[str]:
    """Split at the commas outside brackets (one pass)."""
    parts: list[str] = []
    depth, begin = 0, 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in _CLOSER:
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[begin:i])
            begin = i + 1
    parts.append(text[begin:])
    return parts


def _unwrap(text: str, wrapper: re.Pattern[str] | None = None) -> str:
    """Strip brackets (and `wrapper(...)` calls) around the whole text: `((2, 3))` → `2, 3`.

    At most MAX_DEPTH rounds (the depth was checked), each one pass: linear."""
    text = text.strip()
    while text:
        m = wrapper.match(text) if wrapper else None
        opener = m.end() - 1 if m else 0
        if text[opener] not in "([" or _group_end(text, opener) != len(text) - 1:
            break
        text = text[opener + 1 : -1].strip()
    return text


# --- failure predictions: `error`, `raises X` ----------------------------------------------

_GENERIC_FAILURE = {
    "error",
    "an error",
    "errors",
    "it errors",
    "fails",
    "it fails",
    "fail",
    "failure",
    "raises",
    "it raises",
    "raise",
    "raises an error",
    "raises an exception",
    "exception",
    "an exception",
    "throws",
    "it throws",
    "crashes",
    "it crashes",
}
_NAMED_FAILURE = re.compile(
    r"(?:(?:it\s+)?(?:raises|raise|throws|fails\s+with|errors\s+with)\s+)?"
    r"([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)(?:\(\))?",
    re.I,
)
# A bare name is an exception by its ending (compared without case, as classes are when graded).
_EXCEPTION_SUFFIXES = ("error", "exception", "warning", "exit", "interrupt")
_EXCEPTION_NAMES = {"stopiteration", "stopasynciteration"}


def _words(raw: str) -> str:
    return " ".join(raw.split()).rstrip(".!")


def _failure(raw: str) -> Raises | None:
    """`error`, `fails`, `raises RuntimeError`, `RuntimeError`... as a prediction; None if it is none."""
    text = _words(raw)
    if text.lower() in _GENERIC_FAILURE:
        return Raises()
    m = _NAMED_FAILURE.fullmatch(text)
    if not m:
        return None
    name = m.group(1).rsplit(".", 1)[-1]
    said_raises = m.start(1) > 0
    if said_raises or name.lower().endswith(_EXCEPTION_SUFFIXES) or name.lower() in _EXCEPTION_NAMES:
        return Raises(name)
    return None


# --- the kinds -----------------------------------------------------------------------------------

_SHAPE_WRAPPER = re.compile(r"(?:torch\.|tf\.|tensorflow\.)?(?:Size|TensorShape|shape)\s*\(")
_DIM_SEPARATORS = re.compile(r"[\s,xX×*]+")
_UNKNOWN_DIM = {"none", "?", "null"}


def parse_shape(raw: str) -> tuple[Any, ...]:
    """A shape as a tuple of sizes (None: unknown), or a tuple of such shapes for `((2, 3), (3,))`."""
    text = _unwrap(raw, _SHAPE_WRAPPER)
    if text in ("", "scalar"):
        return ()
    parts = _split_top(text)
    if len(parts) > MAX_ITEMS + 1:
        raise MalformedAnswer(f"more than {MAX_ITEMS} items")
    if not any(_is_shape_group(p) for p in parts):
        return _dims(text)
    if len(parts) > 1 and not parts[-1].strip():
        parts.pop()  # `((2, 3),)`: a trailing comma, as Python writes a 1-tuple
    shapes: list[tuple[int | None, ...]] = []
    for part in parts:
        inner = _unwrap(part, _SHAPE_WRAPPER)
        if not part.strip():
            raise MalformedAnswer("an empty item in a list of shapes")
        if inner in ("", "scalar"):
            shapes.append(())
        elif any(_is_shape_group(p) for p in _split_top(inner)):
            raise MalformedAnswer("a shape holds sizes, not shapes (at most one level: ((2, 3), (3,)))")
        else:
            shapes.append(_dims(inner))
    return tuple(shapes)


def _is_shape_group(part: str) -> bool:
    part = part.strip()
    return part[:1] in ("(", "[") or bool(_SHAPE_WRAPPER.match(part))


def _dims(text: str) -> tuple[int | None, ...]:
    dims: list[int | None] = []
    parts = [p for p in _DIM_SEPARATORS.split(text, maxsplit=MAX_ITEMS + 2) if p]
    if len(parts) > MAX_ITEMS:
        raise MalformedAnswer(f"more than {MAX_ITEMS} sizes")
    for p in parts:
        if p.lower() in _UNKNOWN_DIM:
            dims.append(None)
        elif p.isascii() and p.isdigit() and len(p) <= MAX_DIM_DIGITS:
            dims.append(int(p))
        else:
            raise MalformedAnswer(f"{_visible(p)} is not a size")
    return tuple(dims)


def canonical_dtype(name: str) -> str | None:
    """`torch.float32`, `tf.float32`, `<dtype: 'float32'>`, `np.float32` → `float32` (None if unknown)."""
    text = name.strip().strip("'\"`")
    if len(text) > 64:  # no dtype is spelled this long; keeps the work small for any text
        return None
    m = re.fullmatch(r"<dtype:\s*'([\w]+)'>", text) or re.fullmatch(r"<class 'numpy\.(\w+)'>", text)
    if m:
        text = m.group(1)
    m = re.fullmatch(r"dtype\(\s*'?(\w+)'?\s*\)", text)
    if m:
        text = m.group(1)
    text = _DTYPE_PREFIX.sub("", text).lower()
    text = DTYPE_ALIASES.get(text, text)
    return text if text in DTYPES else None


def parse_dtype(raw: str) -> str | tuple[str, ...]:
    """A canonical dtype name, or a tuple of them for `(float64, int64)`."""
    text = _unwrap(raw)
    parts = _split_top(text)
    if len(parts) == 1:
        return _dtype(text)
    if len(parts) > MAX_ITEMS + 1:
        raise MalformedAnswer(f"more than {MAX_ITEMS} dtypes")
    if not parts[-1].strip():
        parts.pop()  # `(float32,)`
    return tuple(_dtype(p) for p in parts)


def _dtype(text: str) -> str:
    name = canonical_dtype(text)
    if name is None:
        raise MalformedAnswer(f"{_visible(text.strip())} is not a dtype I know")
    return name


_YES = {"yes", "y", "true", "t", "1"}
_NO = {"no", "n", "false", "f", "0"}


def parse_yes_no(raw: str) -> bool:
    word = _words(raw).lower()
    if word in _YES:
        return True
    if word in _NO:
        return False
    raise MalformedAnswer("")


_IS_NONE = {"none", "is none", "yes", "y", "true", "it is none", "null"}
_NOT_NONE = {"not none", "no", "n", "false", "a tensor", "tensor", "is not none", "not null", "some"}


def parse_is_none(raw: str) -> bool:
    """True when the learner predicts the gradient is None."""
    word = _words(raw).lower()
    if word in _IS_NONE:
        return True
    if word in _NOT_NONE:
        return False
    raise MalformedAnswer("")


_NO_ERROR = {
    "no error",
    "no errors",
    "none",
    "no exception",
    "nothing",
    "no",
    "ok",
    "no raise",
    "doesn't raise",
    "does not raise",
    "it runs",
    "runs",
}


def parse_exception(raw: str) -> str | None:
    """An exception class name (last dotted part), or None for "no error"."""
    text = _words(raw)
    if text.lower() in _NO_ERROR:
        return None
    m = _NAMED_FAILURE.fullmatch(text)
    if m:
        if "." not in m.group(1) and m.group(1).lower() in _GENERIC_FAILURE:
            raise MalformedAnswer("which exception? Name its class")
        return m.group(1).rsplit(".", 1)[-1]
    raise MalformedAnswer("")


def parse_choice(raw: str, card: Card) -> str:
    text = raw.strip()
    m = re.fullmatch(r"\(?([A-Za-z])[).]?", text)
    if m:
        i = ord(m.group(1).lower()) - ord("a")
        if 0 <= i < len(card.choices):
            return card.choices[i]
    if text.isascii() and text.isdigit() and len(text) <= 3:
        i = int(text) - 1
        if 0 <= i < len(card.choices):
            return card.choices[i]
    for option in card.choices:
        if text.lower() == option.strip().lower():
            return option
    raise MalformedAnswer("")


MAX_CODE_DEPTH = 100  # operators and calls inside each other; past this, compiling it may recurse too deep


def parse_code(raw: str, card: Card) -> str:
    mode = "exec" if card.result else "eval"
    try:
        tree = ast.parse(raw, mode=mode)
    except SyntaxError as exc:
        if mode == "eval" and _parses(raw, "exec"):
            raise MalformedAnswer("type an expression (its value is compared), not a statement") from None
        raise MalformedAnswer(f"not valid Python: {_visible(str(exc.msg), 80, quote=False)}") from None
    except (ValueError, RecursionError, MemoryError, OverflowError):
        raise MalformedAnswer(
            "not valid Python: too complex to read (too deeply nested or too long)"
        ) from None
    if _deeper_than(tree, MAX_CODE_DEPTH):
        raise MalformedAnswer(f"not valid Python here: nested more than {MAX_CODE_DEPTH} deep")
    return raw


def _deeper_than(tree: ast.AST, limit: int) -> bool:
    """Whether the syntax tree is more than `limit` deep (walked with a stack: no recursion)."""
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return False


def _parses(raw: str, mode: str) -> bool:
    try:
        ast.parse(raw, mode=mode)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return False
    return True


# --- values: a bounded parser for Python literals and printed tensors ---------------------------

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>
        0[xX](?:_?[0-9a-fA-F])+ | 0[oO](?:_?[0-7])+ | 0[bB](?:_?[01])+
      | (?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)? | \.\d(?:_?\d)*) (?:[eE][+-]?\d(?:_?\d)*)? [jJ]?
    )
  | (?P<str>[rRuU]?(?P<q>['"])(?:(?!(?P=q))[^\\\n]|\\.)*(?P<close>(?P=q))?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op>.)
    """,
    re.X | re.S,
)
_WORDS: dict[str, Any] = {
    "none": None,
    "null": None,
    "true": True,
    "false": False,
    "nan": math.nan,
    "inf": math.inf,
    "infinity": math.inf,
}
_ESCAPE = re.compile(r"\\(.)", re.S)
_KNOWN_ESCAPES = set("\\'\"abfnrtv01234567xuUN\n")


def parse_value(raw: str) -> Any:
    """A Python literal (numbers, strings, lists, tuples, dicts, sets, True/False/None, nan, inf) or a
    printed tensor (`tensor([1., 2.])`, `array([1, 2], dtype=int32)`, `np.float32(1.5)`)."""
    return _ValueReader(raw).read()


class _ValueReader:
    """Recursive descent over tokens; recursion only at brackets, which are at most MAX_DEPTH deep."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)  # read lazily: a bad start is reported without reading the rest
        self.next: tuple[str, str] = next(self.tokens, _END)

    def read(self) -> Any:
        value = self.value(0)
        if self.next is not _END:
            raise MalformedAnswer(f"unexpected {_visible(self.next[1])} after the value")
        return value

    def peek(self) -> tuple[str, str]:
        return self.next

    def take(self) -> tuple[str, str]:
        tok = self.next
        if tok is _END:
            raise MalformedAnswer("the value ends too early")
        self.next = next(self.tokens, _END)
        return tok

    def expect(self, op: str) -> None:
        kind, text = self.take()
        if kind != "op" or text != op:
            raise MalformedAnswer(f"expected {op!r} but found {_visible(text)}")

    def at(self, op: str) -> bool:
        kind, text = self.peek()
        return kind == "op" and text == op

    def value(self, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise MalformedAnswer(f"brackets nested more than {MAX_DEPTH} deep")
        kind, text = self.take()
        if kind == "op":
            if text == "[":
                return list(self.items("]", depth + 1)[0])
            if text == "(":
                items, comma = self.items(")", depth + 1)
                return items[0] if len(items) == 1 and not comma else tuple(items)
            if text == "{":
                return self.braces(depth + 1)
            if text in "+-":
                return self.number_after_sign(text)
            raise MalformedAnswer(f"unexpected {_visible(text)}")
        if kind == "num":
            return self.maybe_complex(_number(text))
        if kind == "str":
            parts = [_string(text)]
            while self.peek()[0] == "str":  # 'a' 'b' is 'ab', as in Python
                parts.append(_string(self.take()[1]))
            return "".join(parts)
        # A name: a word (None, nan, np.inf, np.True_) or a printed call such as tensor([1, 2], dtype=...).
        if self.at("("):
            self.take()
            return self.call(depth + 1)
        word = text.rsplit(".", 1)[-1].lower().rstrip("_")
        if word in _WORDS:
            return _WORDS[word]
        raise MalformedAnswer(f"could not read {_visible(text)}")

    def items(self, close: str, depth: int) -> tuple[list[Any], bool]:
        """Values up to `close`; also whether a comma was seen (`(1,)` is a tuple)."""
        items: list[Any] = []
        comma = False
        while not self.at(close):
            items.append(self.value(depth))
            if self.at(","):
                self.take()
                comma = True
            elif not self.at(close):
                raise MalformedAnswer(f"expected ',' or {close!r} but found {_visible(self.peek()[1])}")
        self.take()
        return items, comma

    def braces(self, depth: int) -> Any:
        if self.at("}"):
            self.take()
            return {}
        first = self.value(depth)
        try:
            if self.at(":"):
                out: dict[Any, Any] = {}
                key = first
                while True:
                    self.expect(":")
                    out[key] = self.value(depth)
                    if self.at(","):
                        self.take()
                    if self.at("}"):
                        self.take()
                        return out
                    key = self.value(depth)
            members = [first]
            while self.at(","):
                self.take()
                if self.at("}"):
                    break
                members.append(self.value(depth))
            self.expect("}")
            return set(members)
        except TypeError:  # an unhashable key or member: [1] in {[1]: 2}
            raise MalformedAnswer("a list cannot be a dict key or a set member") from None

    def call(self, depth: int) -> Any:
        """`name(value, keyword=anything, ...)` → value: how frameworks print tensors and scalars."""
        if depth > MAX_DEPTH:
            raise MalformedAnswer(f"brackets nested more than {MAX_DEPTH} deep")
        value = self.value(depth)
        while self.at(","):
            self.take()
            if self.at(")"):
                break
            kind, _ = self.take()
            if kind != "name" or not self.at("="):
                raise MalformedAnswer("a printed tensor takes one value, then keywords such as dtype=...")
            self.take()
            self.skip_argument(depth)
        self.expect(")")
        return value

    def skip_argument(self, depth: int) -> None:
        """Pass over a keyword's value (`torch.int32`, `(2,)`, `<AddBackward0>`) up to `,` or `)`."""
        level = 0
        while True:
            kind, text = self.peek()
            if kind == "end":
                raise MalformedAnswer("the value ends too early")
            if kind == "op" and level == 0 and text in ",)":
                return
            if kind == "op" and text in "([{":
                level += 1
                if depth + level > MAX_DEPTH:
                    raise MalformedAnswer(f"brackets nested more than {MAX_DEPTH} deep")
            elif kind == "op" and text in ")]}":
                level -= 1
            self.take()

    def number_after_sign(self, sign: str) -> Any:
        kind, text = self.take()
        if kind == "num":
            number = _number(text)
        elif kind == "name" and text.rsplit(".", 1)[-1].lower() in ("nan", "inf", "infinity"):
            number = _WORDS[text.rsplit(".", 1)[-1].lower()]
        else:
            raise MalformedAnswer(f"a sign must be followed by a number, not {_visible(text)}")
        return self.maybe_complex(-number if sign == "-" else number)

    def maybe_complex(self, real: Any) -> Any:
        """`1+2j`, `-1.5-0.5j`: a real number, a sign and an imaginary one (as `ast.literal_eval` allows)."""
        if isinstance(real, complex) or not (self.at("+") or self.at("-")):
            return real
        sign = self.take()[1]
        kind, text = self.take()
        imag = _number(text) if kind == "num" else None
        if not isinstance(imag, complex):
            raise MalformedAnswer("only a complex number such as 1+2j may hold + or -")
        return real + imag if sign == "+" else real - imag


_END = ("end", "")


def _tokens(text: str) -> Iterator[tuple[str, str]]:
    """(kind, text) pairs, in one left-to-right pass (`op` matches any character, so no gaps)."""
    depth = count = 0
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or "op"
        if kind == "ws":
            continue
        count += 1
        if count > MAX_VALUE_TOKENS:
            raise MalformedAnswer(f"a value of more than {MAX_VALUE_TOKENS} numbers, brackets and commas")
        token = m.group()
        if kind == "str" and m.group("close") is None:
            raise MalformedAnswer("a string is not closed")
        if kind == "op":
            if token in "([{":
                depth += 1
                if depth > MAX_DEPTH:
                    raise MalformedAnswer(f"brackets nested more than {MAX_DEPTH} deep")
            elif token in ")]}":
                depth -= 1
        yield kind, token


def _string(token: str) -> str:
    body = token.lstrip("rRuU")
    if "\\" not in body:
        return body[1:-1]
    raw = len(body) != len(token) and token[0] in "rR"
    if not raw and any(m.group(1) not in _KNOWN_ESCAPES for m in _ESCAPE.finditer(body)):
        raise MalformedAnswer("a string holds an unknown escape such as \\d (write \\\\d)")
    try:
        value = ast.literal_eval(token)  # one string token: bounded, and escapes are Python's own
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        raise MalformedAnswer(f"could not read the string {_visible(token)}") from None
    if not isinstance(value, str):  # pragma: no cover - the token is a string literal
        raise MalformedAnswer(f"could not read the string {_visible(token)}")
    return value


def _number(token: str) -> int | float | complex:
    if len(token) > MAX_NUMBER_CHARS:
        raise MalformedAnswer(f"a number longer than {MAX_NUMBER_CHARS} characters")
    imaginary = token[-1] in "jJ"
    body = token[:-1] if imaginary else token
    value: int | float
    try:
        if body[:2].lower() in ("0x", "0o", "0b"):
            if imaginary:
                raise ValueError(token)
            value = int(body, 0)
        elif any(c in body for c in ".eE"):
            value = float(body)
        else:
            value = int(body)
    except ValueError:
        raise MalformedAnswer(f"{_visible(token)} is not a number") from None
    if isinstance(value, float) and math.isinf(value):
        raise MalformedAnswer(f"{_visible(token)} is too large for a float (type inf for infinity)")
    return complex(0, value) if imaginary else value


# --- composite answers: what the card's answer expression says ------------------------------------

_PLACEHOLDER = re.compile(r"\$\{[^}]*\}")
_SHAPE_METHODS = {"size", "get_shape"}
_SHAPE_CALLS = {"tuple", "list", "Size", "TensorShape"}


def composite_size(card: Card) -> int | None:
    """How many dtypes, shapes or values the card asks for, when its `answer` is a tuple of them."""
    if card.kind not in (Kind.DTYPE, Kind.SHAPE, Kind.VALUE) or not card.answer:
        return None
    return _tuple_answer(card.answer, card.kind != Kind.SHAPE)


@functools.lru_cache(maxsize=1024)
def _tuple_answer(answer: str, any_items: bool) -> int | None:
    try:
        tree = ast.parse(_PLACEHOLDER.sub("_", answer).strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return None
    body = tree.body
    if not isinstance(body, (ast.Tuple, ast.List)) or not body.elts:
        return None
    if any(isinstance(e, ast.Starred) for e in body.elts):
        return None
    if any_items or all(_shape_expression(e) for e in body.elts):
        return len(body.elts)
    return None


def _shape_expression(node: ast.expr) -> bool:
    """`x.shape`, `x.size()`, `tuple(y.shape)`, `(2, 3)`: an expression whose value is a whole shape."""
    if isinstance(node, (ast.Tuple, ast.List)):
        return True
    if isinstance(node, ast.Attribute):
        return node.attr == "shape"
    if isinstance(node, ast.Call) and not node.keywords:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in _SHAPE_METHODS and not node.args:
            return True
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        return name in _SHAPE_CALLS and len(node.args) == 1 and _shape_expression(node.args[0])
    return False


def _check_composite(card: Card, parsed: Any) -> None:
    n = composite_size(card)
    if n is None or card.kind == Kind.VALUE:  # a value is graded as typed: the hint only shows the form
        return
    if card.kind == Kind.DTYPE:
        ok = isinstance(parsed, tuple) and len(parsed) == n
    else:
        ok = isinstance(parsed, tuple) and len(parsed) == n and all(isinstance(s, tuple) for s in parsed)
    if not ok:
        what = "dtypes" if card.kind == Kind.DTYPE else "shapes"
        raise MalformedAnswer(f"this card asks for {n} {what}: {hint_for(card)}")
