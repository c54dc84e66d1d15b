"""A small, safe expression language for deck variables: `${a * 2}`, `len(s) >= 2`.

Deck files never run code in the app process. Their variable bounds, derived
values, conditions and `${...}` substitutions are written in this subset of
Python, which is parsed with `ast` and evaluated by walking the tree: literals,
names, arithmetic, comparisons, boolean logic, conditional expressions,
indexing/slicing, tuple/list displays and a fixed set of pure functions.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

__all__ = ["ExprError", "compile_expr", "evaluate", "names_in"]


class ExprError(ValueError):
    """An expression is not in the allowed subset, or failed to evaluate."""


_BINOPS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
    ast.Div: operator.truediv,
}
_CMPOPS: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
# Keep results small: a deck expression never needs a huge number or sequence,
# and a deck file must not be able to stall the app with `9 ** 9 ** 9`.
_MAX_POW = 64
_MAX_LEN = 10_000
_MAX_INT_BITS = 4_096
_MAX_SOURCE = 2_000


def compile_expr(source: str) -> ast.Expression:
    """Parse `source` and check every node is allowed; raises ExprError."""
    if not isinstance(source, str):
        raise ExprError(f"an expression must be a string, not {type(source).__name__}")
    return _compile(source)


@lru_cache(maxsize=4096)
def _compile(source: str) -> ast.Expression:
    if len(source) > _MAX_SOURCE:
        raise ExprError(f"expression is too long ({len(source)} characters; at most {_MAX_SOURCE})")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"invalid expression {source!r}: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError):  # NUL bytes; absurd nesting
        raise ExprError(f"invalid expression {source[:80]!r}") from None
    try:
        for node in ast.walk(tree):
            _check_node(node, source)
    except RecursionError:
        raise ExprError(f"expression is nested too deeply: {source[:80]!r}") from None
    return tree


_ALLOWED = (
    ast.Expression,
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.Tuple,
    ast.List,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.IfExp,
    ast.Subscript,
    ast.Slice,
    ast.Call,
    ast.And,
    ast.Or,
    ast.Not,
    ast.USub,
    ast.UAdd,
    *_BINOPS,
    *_CMPOPS,
)


def _check_node(node: ast.AST, source: str) -> None:
    if not isinstance(node, _ALLOWED):
        raise ExprError(f"{type(node).__name__} is not allowed in deck expressions: {source!r}")
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            raise ExprError(
                f"only {', '.join(sorted(FUNCTIONS))} may be called in deck expressions: {source!r}"
            )
        if node.keywords:
            raise ExprError(f"keyword arguments are not allowed in deck expressions: {source!r}")
    if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float, str, bool, type(None))):
        raise ExprError(f"constant {node.value!r} is not allowed: {source!r}")


def names_in(source: str) -> set[str]:
    """The variable names an expression reads (function names excluded)."""
    tree = compile_expr(source)
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - (called & set(FUNCTIONS))


def evaluate(source: str, env: Mapping[str, Any]) -> Any:
    """Evaluate `source` over the variables in `env`; raises ExprError."""
    tree = compile_expr(source)
    try:
        return _eval(tree.body, env)
    except ExprError:
        raise
    except Exception as exc:  # arithmetic and indexing errors from the subset itself
        raise ExprError(f"{source!r}: {type(exc).__name__}: {exc}") from None


def _checked(value: Any) -> Any:
    """Refuse results too large to be a sensible deck value."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > _MAX_INT_BITS:
        raise ExprError("number is too large")
    if isinstance(value, (tuple, list, str)) and len(value) > _MAX_LEN:
        raise ExprError("sequence is too long")
    return value


def _int_bits(x: Any) -> int:
    return x.bit_length() if isinstance(x, int) and not isinstance(x, bool) else 0


def _prod(values: Any) -> Any:
    result: Any = 1
    for v in values:
        result = _checked(result * v)
    return result


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len,
    "prod": _prod,
    "min": min,
    "max": max,
    "sum": sum,
    "abs": abs,
    "tuple": tuple,
    "list": list,
    "sorted": sorted,
    "reversed": lambda x: tuple(reversed(x)),
    "range": range,
    "str": str,
    "int": int,
}


def _repeat_len(a: Any, b: Any) -> int:
    """The length of `a * b` when it repeats a sequence (0 otherwise)."""
    if isinstance(a, (tuple, list, str)) and isinstance(b, int):
        return len(a) * b
    if isinstance(b, (tuple, list, str)) and isinstance(a, int):
        return len(b) * a
    return 0


def _eval(node: ast.expr, env: Mapping[str, Any]) -> Any:
    match node:
        case ast.Constant(value=value):
            return value
        case ast.Name(id=name):
            if name in env:
                return env[name]
            if name in FUNCTIONS:
                return FUNCTIONS[name]
            raise ExprError(f"unknown variable {name!r}")
        case ast.Tuple(elts=elts):
            return tuple(_eval(e, env) for e in elts)
        case ast.List(elts=elts):
            return [_eval(e, env) for e in elts]
        case ast.BinOp(left=left, op=op, right=right):
            a, b = _eval(left, env), _eval(right, env)
            if isinstance(op, ast.Pow) and isinstance(b, (int, float)) and abs(b) > _MAX_POW:
                raise ExprError(f"exponent {b} is too large")
            if isinstance(op, ast.Pow) and isinstance(b, int) and _int_bits(a) * max(b, 0) > _MAX_INT_BITS:
                raise ExprError("number is too large")
            if isinstance(op, ast.Mult) and _repeat_len(a, b) > _MAX_LEN:
                raise ExprError("sequence is too long")
            if isinstance(op, ast.Mult) and _int_bits(a) + _int_bits(b) > _MAX_INT_BITS + 1:
                raise ExprError("number is too large")
            return _checked(_BINOPS[type(op)](a, b))
        case ast.UnaryOp(op=op, operand=operand):
            v = _eval(operand, env)
            if isinstance(op, ast.Not):
                return not v
            return -v if isinstance(op, ast.USub) else +v
        case ast.BoolOp(op=op, values=values):
            if isinstance(op, ast.And):
                result: Any = True
                for v in values:
                    result = _eval(v, env)
                    if not result:
                        return result
                return result
            result = False
            for v in values:
                result = _eval(v, env)
                if result:
                    return result
            return result
        case ast.Compare(left=left, ops=ops, comparators=comparators):
            a = _eval(left, env)
            for cmp, comp in zip(ops, comparators, strict=True):
                b = _eval(comp, env)
                if not _CMPOPS[type(cmp)](a, b):
                    return False
                a = b
            return True
        case ast.IfExp(test=test, body=body, orelse=orelse):
            return _eval(body, env) if _eval(test, env) else _eval(orelse, env)
        case ast.Subscript(value=value, slice=slice_):
            seq = _eval(value, env)
            if isinstance(slice_, ast.Slice):
                parts = [
                    None if p is None else _eval(p, env) for p in (slice_.lower, slice_.upper, slice_.step)
                ]
                return seq[slice(*parts)]
            return seq[_eval(slice_, env)]
        case ast.Call(func=ast.Name(id=fname), args=args):
            arguments = [_eval(arg, env) for arg in args]
            if fname == "range" and arguments and max(abs(int(v)) for v in arguments) > _MAX_LEN:
                raise ExprError("range is too long")
            called = FUNCTIONS[fname](*arguments)
            return _checked(tuple(called) if isinstance(called, range) else called)
    raise ExprError(f"cannot evaluate {ast.dump(node)}")
