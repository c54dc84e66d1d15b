"""The commented starter deck that `quiz deck new` writes (it passes `quiz deck check`)."""

from __future__ import annotations

__all__ = ["starter_deck"]

_TEMPLATE = """\
# A quiz deck: one TOML file of questions, never answers. Each card's truth is
# computed by running its code on the learner's own framework, so the deck stays
# honest when PyTorch, TensorFlow or MXNet change. The format: docs/decks.md.
# Check it after every edit:   quiz deck check {path_hint}

[deck]
id = "{deck_id}"                 # unique in the library: a-z 0-9 - _
title = "{title}"
description = "What this deck teaches, in a sentence or two (Markdown)."
author = ""
version = "0.1"
tags = []
# The versions you checked the deck on (what `quiz deck check` printed).
written_against = {{ {written_against} }}

[deck.sections]                  # titles for the section slugs the cards use
basics = "Basics"

# --- A family: one concept on several backends -------------------------------
# Cards named <family>.<backend> form a family (at most one card per backend);
# after an answer the app shows the same question on the other frameworks.

[[card]]
id = "sum-keepdim.torch"         # stable: progress is keyed on it; never reuse an id
section = "basics"
backend = "torch"
kind = "shape"                   # the learner types a shape such as (2, 3)
tags = ["difficulty:easy"]
prompt = "What is `y.shape`?"    # Markdown; ${{...}} is filled in per variant
code = \'\'\'
x = torch.ones(${{s}})
y = x.sum(dim=${{d}}, keepdim=${{k}})
\'\'\'
answer = "y.shape"               # a Python expression evaluated after `code`: the truth
explain = "`sum` drops the reduced axis unless `keepdim=True` keeps it with size 1."
# Variables are drawn by hypothesis from (card, seed): every review is a new variant.
vars.s = {{ shape = {{ rank = [2, 4], side = [1, 5] }} }}
vars.d = {{ int = [0, "len(s) - 1"] }}     # bounds may use earlier variables
vars.k = {{ bool = true }}

[[card]]
id = "sum-keepdim.tensorflow"
section = "basics"
backend = "tensorflow"
kind = "shape"
tags = ["difficulty:easy"]
prompt = "What is `y.shape`?"
code = \'\'\'
x = tf.ones(${{s}})
y = tf.reduce_sum(x, axis=${{d}}, keepdims=${{k}})
\'\'\'
answer = "y.shape"
explain = "`reduce_sum` drops the reduced axis unless `keepdims=True` keeps it with size 1."
vars.s = {{ shape = {{ rank = [2, 4], side = [1, 5] }} }}
vars.d = {{ int = [0, "len(s) - 1"] }}
vars.k = {{ bool = true }}

[[card]]
id = "sum-keepdim.mxnet"
section = "basics"
backend = "mxnet"
kind = "shape"
tags = ["difficulty:easy"]
prompt = "What is `y.shape`?"
code = \'\'\'
x = nd.ones(${{s}})
y = x.sum(axis=${{d}}, keepdims=${{k}})
\'\'\'
answer = "y.shape"
explain = "`sum` drops the reduced axis unless `keepdims=True` keeps it with size 1."
vars.s = {{ shape = {{ rank = [2, 4], side = [1, 5] }} }}
vars.d = {{ int = [0, "len(s) - 1"] }}
vars.k = {{ bool = true }}

# --- Other kinds -----------------------------------------------------------------

[[card]]
id = "matmul-broadcast.torch"
section = "basics"
backend = "torch"
kind = "shape"
tags = ["difficulty:medium", "interview"]
prompt = "`a` has shape `${{ab[0]}}` and `b` has shape `${{ab[1]}}`. What is `(a @ b).shape`?"
code = \'\'\'
a = torch.ones(${{ab[0]}})
b = torch.ones(${{ab[1]}})
c = a @ b
\'\'\'
answer = "c.shape"
explain = "`@` multiplies the last two axes and broadcasts the batch axes in front of them."
# Two shapes that matmul together; rank counts the batch axes in front.
vars.ab = {{ broadcast = {{ signature = "(m,n),(n,p)->(m,p)", rank = [0, 2], side = [1, 4] }} }}

[[card]]
id = "view-after-permute.torch"
section = "basics"
backend = "torch"
kind = "raises"                  # the learner names the exception, or types "no error"
tags = ["difficulty:medium"]
prompt = "Does the last line raise? Name the exception, or type `no error`."
# Only the LAST statement may raise; an error before it is a broken card.
code = \'\'\'
x = torch.zeros(${{s}})
y = x.permute(${{p}})
z = y.view(-1)
\'\'\'
explain = "`view` needs a contiguous layout; `permute` keeps the data and changes the strides. ${{'Here the order is unchanged, so `view(-1)` works.' if p == tuple(range(len(s))) else 'Here the axes moved, so `view(-1)` raises `RuntimeError`: call `.contiguous()` first, or use `reshape`.'}}"
vars.s = {{ shape = {{ rank = [2, 3], side = [2, 4] }} }}
vars.p = {{ permutation = "s" }}

[[card]]
id = "add-promotion.torch"
section = "basics"
backend = "torch"
kind = "choice"                  # the learner picks a letter
tags = ["difficulty:easy"]
prompt = "`a` is `${{x}}` and `b` is `${{y}}`. What is the dtype of `a + b`?"
code = \'\'\'
a = torch.ones(2, dtype=torch.${{x}})
b = torch.ones(2, dtype=torch.${{y}})
c = a + b
\'\'\'
choices = ["${{x}}", "${{y}}"]     # ${{...}} works in choices, answer and explain too
answer = "str(c.dtype).removeprefix('torch.')"
explain = "Mixed dtypes promote to the one that can hold both: a float beats an int, a wider float beats a narrower one."
vars.x = {{ choice = ["int32", "int64", "float32"] }}
vars.y = {{ choice = ["float16", "float32", "float64"] }}
assume = ["x != y"]              # conditions between variables

[[card]]
id = "cumsum.tensorflow"
section = "basics"
backend = "tensorflow"
kind = "value"                   # the learner types a Python literal: 3, [1, 2], None
tags = ["difficulty:easy"]
prompt = "What is `y`? Type a list."
code = \'\'\'
y = tf.math.cumsum(tf.range(${{n}}))
\'\'\'
answer = "y"
explain = "`cumsum` keeps running totals: element i is the sum of elements 0..i."
vars.n = {{ int = [1, 5] }}

[[card]]
id = "shares-memory.torch"
section = "basics"
backend = "torch"
kind = "bool"                    # yes / no
tags = ["difficulty:medium", "interview"]
prompt = "After `y = x.${{op}}` and `x[0] = 100`, is `y[0]` 100?"
code = \'\'\'
x = torch.arange(${{n}})
y = x.${{op}}
x[0] = 100
\'\'\'
answer = "y[0] == 100"
explain = "`view` shares the storage of `x`, so the write shows through; `clone` copies."
constant = ["n"]                 # variables that may leave the truth unchanged (else the check flags them)
vars.n = {{ int = [2, 6] }}
vars.op = {{ choice = ["view(-1)", "clone()"] }}

[[card]]
id = "grad-of-frozen.torch"
section = "basics"
backend = "torch"
kind = "grad_is_none"            # none / not none
tags = ["difficulty:easy"]
prompt = "After `backward()`, is `w.grad` None?"
code = \'\'\'
x = torch.ones(3, requires_grad=True)
w = torch.ones(3, requires_grad=${{g}})
(x * w).sum().backward()
\'\'\'
answer = "w.grad"
explain = "Only tensors with `requires_grad=True` get a `.grad`."
vars.g = {{ bool = true }}

[[card]]
id = "array-dtype.mxnet"
section = "basics"
backend = "mxnet"
kind = "dtype"                   # float32, int64, ...
tags = ["difficulty:easy"]
prompt = "What is the dtype of `nd.array([1, 2]${{', dtype=' + dt if dt else ''}})`?"
code = \'\'\'
x = nd.array([1, 2]${{', dtype=' + dt if dt else ''}})
\'\'\'
answer = "x.dtype"
explain = "`nd.array` uses the `dtype` it is given; without one it makes float32 whatever the source."
vars.dt = {{ choice = ["", "'float16'", "'int32'"] }}

[[card]]
id = "swap-last-axes.torch"
section = "basics"
backend = "torch"
kind = "code"                    # the learner types an expression; compared as a value
tags = ["difficulty:easy"]
prompt = "Write an expression for `x` with its last two axes swapped (`x` has shape `${{s}}`)."
code = \'\'\'
x = torch.arange(${{prod(s)}}).reshape(${{s}})
\'\'\'
answer = "x.transpose(-1, -2)"   # the reference answer
explain = "`transpose(-1, -2)` (or `x.mT`) swaps the last two axes."
vars.s = {{ shape = {{ rank = [2, 3], side = [2, 3] }} }}
"""


def _written_against() -> str:
    import importlib.metadata

    from quiz.checking.check import installed_versions

    versions = installed_versions()
    parts = [f'{k} = "{v.split("+")[0]}"' for k, v in versions.items()]
    try:
        parts.append(f'numpy = "{importlib.metadata.version("numpy")}"')
    except importlib.metadata.PackageNotFoundError:
        pass
    return ", ".join(parts)


def starter_deck(deck_id: str, title: str, path_hint: str = "THIS_FILE.toml") -> str:
    """The starter deck's text, with `written_against` set to the versions installed here."""
    return _TEMPLATE.format(
        deck_id=deck_id,
        title=title.replace('"', "'"),
        written_against=_written_against(),
        path_hint=path_hint,
    )
