"""Worker replies come from a process that runs strangers' code: every field is checked, and a reply
the card forged or broke is the verdict "card misbehaved", never a traceback or a false truth.

The first tests check the validator field by field; the rest are cards that write to the
protocol pipe themselves (card code can reach any fd of its worker), through the runner and
through `quiz grade`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from quiz.cli import main
from quiz.runner.client import Runner
from quiz.runner.replies import Misbehaved, check_run_reply
from tests.runner.conftest import CHEAP_BACKEND, CHEAP_ONES, MakeCard

GOOD = {"id": 3, "nonce": "n", "ok": True, "truth": [2, 3], "device": "cpu", "elapsed_ms": 0.4, "stdout": ""}


@pytest.mark.parametrize(
    ("kind", "change", "why"),
    [
        ("shape", {"elapsed_ms": "soon"}, "elapsed_ms"),
        ("shape", {"elapsed_ms": math.inf}, "elapsed_ms"),
        ("shape", {"elapsed_ms": -1}, "elapsed_ms"),
        ("shape", {"elapsed_ms": True}, "elapsed_ms"),
        ("shape", {"truth": 6}, "shape truth"),
        ("shape", {"truth": [2, "3"]}, "shape truth"),
        ("shape", {"truth": [True, 3]}, "shape truth"),
        ("shape", {"truth": [2] * 100}, "shape truth"),
        ("dtype", {"truth": "banana"}, "dtype truth"),
        ("dtype", {"truth": 32}, "dtype truth"),
        ("bool", {"truth": 1}, "bool truth"),
        ("raises", {"truth": "ValueError"}, "raises truth"),
        ("raises", {"truth": {"type": "ValueError"}}, "raises truth"),
        ("raises", {"truth": {"type": 1, "module": "m", "message": "x"}}, "raises truth"),
        ("value", {"truth": {1: 2}}, "truth"),
        ("value", {"truth": [[[[[[]]]]]] * 2 + [eval("[" * 70 + "]" * 70)]}, "nested"),
        ("shape", {"ok": "yes"}, "ok"),
        ("shape", {"ok": False}, "error"),
        ("shape", {"ok": False, "truth": None, "error": "x", "error_kind": "crashed"}, "error_kind"),
        ("shape", {"device": "tpu"}, "device"),
        ("shape", {"stdout": "x" * 100_000}, "stdout"),
        ("shape", {"state_changed": "everything"}, "state_changed"),
        ("shape", {"state_changed": [1]}, "state_changed"),
        ("shape", {"killed_processes": -1}, "killed_processes"),
        ("shape", {"given_value": 1}, "unknown field"),
        ("shape", {"raised": "ValueError"}, "raised"),
    ],
)
def test_a_malformed_reply_is_refused_with_the_reason(kind: str, change: dict[str, Any], why: str) -> None:
    with pytest.raises(Misbehaved, match=why):
        check_run_reply({**GOOD, **change}, kind)


@pytest.mark.parametrize(
    ("kind", "truth"),
    [
        ("shape", [2, None, 0]),
        ("dtype", "float32"),
        ("bool", False),
        ("grad_is_none", True),
        ("raises", None),
        ("raises", {"type": "RuntimeError", "module": "builtins", "message": "no"}),
        ("value", {"complex": [1.0, -2.0]}),
        ("value", [1, 2.5, float("nan"), None, "x", {"k": [True]}]),
        ("code", [[0, 1], [2, 3]]),
        ("choice", "(3, 4)"),
    ],
)
def test_a_well_formed_reply_passes(kind: str, truth: Any) -> None:
    assert check_run_reply({**GOOD, "truth": truth}, kind)["truth"] is truth


# Card code that finds the request being served (its id and nonce) and writes a reply of its own to
# every fd of the worker: what a hostile deck author would try.
FORGE = """
import json, os, sys
f = sys._getframe()
while f is not None and not (isinstance(f.f_locals.get("request"), dict) and "nonce" in f.f_locals["request"]):
    f = f.f_back
request = f.f_locals["request"]
reply = {{"id": request["id"], "nonce": request["nonce"], "ok": True, "device": "cpu", "stdout": "", **{fields}}}
line = (json.dumps(reply) + "\\n").encode()
for fd in map(int, os.listdir("/proc/self/fd")):
    try:
        os.write(fd, line)
    except OSError:
        pass
x = 1
"""


def forge(**fields: Any) -> str:
    return FORGE.format(fields=json.dumps(fields))


# The cards below write to the worker's pipes in plain Python, and each gets its worker replaced: they
# run on the framework cheapest to start again (CHEAP_BACKEND: MXNet, or torch where it is missing).
def assert_next_card_grades(runner: Runner, make_card: MakeCard) -> None:
    result = runner.run(*make_card(*CHEAP_ONES[CHEAP_BACKEND], backend=CHEAP_BACKEND))
    assert result.ok and result.truth == 3.0, result


# A forged reply is found out by the runner's handshake (id, nonce, nothing after the reply, `end`)
# before any of its fields is read, so one malformed forgery takes the path every other would (a
# malformed `elapsed_ms` or a string `raises` truth gave the very same verdict, at a worker start
# each); each field's own refusal is tested above, without a worker. The well-formed forgery is
# found out at another step of the handshake.
@getattr(pytest.mark, CHEAP_BACKEND)
@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        ("shape", {"truth": 6, "elapsed_ms": 1.0}),
        ("value", {"truth": 42, "elapsed_ms": 1.0}),  # well formed, but not the worker's reply
    ],
    ids=["int-shape", "well-formed-forgery"],
)
def test_a_reply_the_card_forged_is_misbehaviour_not_a_verdict(
    runner: Runner, make_card: MakeCard, kind: str, fields: dict[str, Any]
) -> None:
    answer = None if kind == "raises" else "x"
    card, variant = make_card(forge(**fields), answer, kind=kind, backend=CHEAP_BACKEND)
    result = runner.run(card, variant)
    assert not result.ok and result.error_kind == "misbehaved", result
    assert (result.error or "").startswith("card misbehaved: ")
    assert result.truth is None
    assert_next_card_grades(runner, make_card)


@getattr(pytest.mark, CHEAP_BACKEND)
def test_garbage_on_the_protocol_pipe_is_misbehaviour(runner: Runner, make_card: MakeCard) -> None:
    code = (
        "import os\n"
        "for fd in map(int, os.listdir('/proc/self/fd')):\n"
        "    try:\n"
        "        os.write(fd, b'{\"not\": \"the reply\"\\n' + b'[' * 100000 + b'\\n')\n"
        "    except OSError:\n"
        "        pass\n"
        "x = 1"
    )
    result = runner.run(*make_card(code, "x", backend=CHEAP_BACKEND))
    assert not result.ok and result.error_kind == "misbehaved", result
    assert_next_card_grades(runner, make_card)


@getattr(pytest.mark, CHEAP_BACKEND)
def test_a_thread_that_answers_the_next_request_never_gets_one(runner: Runner, make_card: MakeCard) -> None:
    """A card leaves a thread to forge the *next* card's reply: the worker is replaced first."""
    code = (
        "import _thread, json, os, time\n"
        "def later():\n"
        "    time.sleep(0.3)\n"
        "    for fd in map(int, os.listdir('/proc/self/fd')):\n"
        "        try:\n"
        '            os.write(fd, b\'{"ok": true, "truth": 99}\\n\')\n'
        "        except OSError:\n"
        "            pass\n"
        "_thread.start_new_thread(later, ())\n"
        "x = 1"
    )
    result = runner.run(*make_card(code, "x", backend=CHEAP_BACKEND))
    assert "leaves a thread running" in result.state_changed
    assert_next_card_grades(runner, make_card)


@getattr(pytest.mark, CHEAP_BACKEND)
def test_quiz_grade_says_the_card_misbehaved_and_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deck = tmp_path / "forged.toml"
    body = forge(truth=6, elapsed_ms="soon").strip()
    deck.write_text(
        f'[deck]\nid = "forged"\ntitle = "F"\n[[card]]\nid = "c.{CHEAP_BACKEND}"\nsection = "s"\n'
        f'backend = "{CHEAP_BACKEND}"\n'
        f'kind = "shape"\nprompt = "?"\ncode = \'\'\'\n{body}\n\'\'\'\nanswer = "x"\nexplain = "."\n'
    )
    code = main(["grade", f"c.{CHEAP_BACKEND}", "--answer", "(2, 3)", "--deck", str(deck), "--json"])
    out = capsys.readouterr()
    verdict = json.loads(out.out)
    assert code == 3
    assert verdict["correct"] is None and verdict["error"].startswith("card misbehaved: ")
    assert "Traceback" not in out.err
