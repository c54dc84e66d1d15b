"""`--lang` and the `lang` setting through the command line: `show`, `grade`, `decks --json`, `deck check`."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from quiz.cli import main
from quiz.config import SettingsError, config_file, load_settings, save_learner_settings

# The commands run on the session's warm workers, lent to them (tests/cli/conftest.py).
pytestmark = pytest.mark.usefixtures("lent")

DECK = """
[deck]
id = "zh-cli"
title = "Expand"
title_zh = "维度扩展"

[[card]]
id = "expand.torch"
section = "expand"
backend = "torch"
kind = "shape"
prompt = "x has shape (${a}, 1). What is `y.shape`?"
prompt_zh = "`x` 的形状是 (${a}, 1)。`y.shape` 是什么？"
code = '''
x = torch.zeros(${a}, 1)
y = x.expand(${a}, ${b})
'''
answer = "y.shape"
explain = "`expand` makes the size-1 axis ${b} long."
explain_zh = "`expand` 把大小为 1 的维度扩展到 ${b}。"
vars.a = { int = [2, 5] }
vars.b = { int = [2, 6] }

[[card]]
id = "plain.torch"
section = "expand"
backend = "torch"
kind = "bool"
prompt = "Is `y` contiguous?"
code = "y = torch.zeros(2, 3).t()"
answer = "y.is_contiguous()"
explain = "A transpose is a view with swapped strides."
"""


@pytest.fixture
def deck(tmp_path: Path) -> Path:
    path = tmp_path / "zh-cli.toml"
    path.write_text(textwrap.dedent(DECK).lstrip(), encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_show_follows_lang_and_falls_back_to_english(deck: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "show", "expand.torch", "--seed", "4", "--deck", str(deck), "--json", "--explain"
    )
    assert code == 0
    english = json.loads(out)
    assert english["lang"] == "en" and english["prompt"].startswith("x has shape (")
    a, b = english["values"]["a"], english["values"]["b"]

    # --lang works before the command word and after it: one option, defined once.
    for argv in (
        ("--lang", "zh", "show", "expand.torch", "--seed", "4", "--deck", str(deck), "--json", "--explain"),
        ("show", "expand.torch", "--seed", "4", "--deck", str(deck), "--json", "--explain", "--lang", "zh"),
    ):
        code, out, _ = run(capsys, *argv)
        chinese = json.loads(out)
        assert code == 0 and chinese["lang"] == "zh"
        assert chinese["prompt"] == f"`x` 的形状是 ({a}, 1)。`y.shape` 是什么？"
        assert chinese["explain"] == f"`expand` 把大小为 1 的维度扩展到 {b}。"
        assert chinese["code"] == english["code"] and chinese["values"] == english["values"]

    code, out, _ = run(capsys, "show", "plain.torch", "--deck", str(deck), "--json", "--lang", "zh")
    assert json.loads(out)["lang"] == "en" and json.loads(out)["prompt"] == "Is `y` contiguous?"

    code, out, _ = run(capsys, "--lang", "zh", "show", "plain.torch", "--deck", str(deck))
    assert code == 0 and "Is y contiguous?" in out and "缺的部分显示英文" in out
    code, out, _ = run(capsys, "--lang", "zh", "show", "expand.torch", "--deck", str(deck), "--explain")
    assert code == 0 and "是什么？" in out and "扩展到" in out and "显示英文" not in out


def test_an_unknown_language_is_refused(deck: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["show", "expand.torch", "--deck", str(deck), "--lang", "fr"])
    assert info.value.code == 2
    assert "invalid choice: 'fr'" in capsys.readouterr().err


def test_a_malformed_answer_is_explained_in_chinese(deck: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "--lang", "zh", "grade", "expand.torch", "--answer", "(2, 3", "--deck", str(deck)
    )
    assert code == 2 and out == ""
    assert "答案无法读取：括号不配对：请输入形状" in err
    code, out, _ = run(capsys, "grade", "expand.torch", "--answer", "(2, 3", "--deck", str(deck), "--json")
    assert code == 2
    assert json.loads(out)["error"].startswith("malformed answer: unbalanced brackets: type a shape")


@pytest.mark.torch
@pytest.mark.slow
def test_grade_says_its_verdict_in_chinese(deck: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "show", "expand.torch", "--seed", "2", "--deck", str(deck), "--json")
    a, b = json.loads(out)["values"]["a"], json.loads(out)["values"]["b"]
    right = ("grade", "expand.torch", "--seed", "2", "--deck", str(deck), "--answer", f"({a}, {b})")
    code, out, _ = run(capsys, "--lang", "zh", *right)
    assert code == 0
    assert out.startswith(f"正确：你的答案是 ({a}, {b})；torch 在 cpu 上得到 ({a}, {b})\n")
    assert "毫秒）" in out
    code, out, _ = run(capsys, "--lang", "zh", *right[:-1], f"({b + 1}, {a})")
    assert code == 1 and out.startswith("错误：")
    code, out, _ = run(capsys, *right)  # English is as it always was
    assert code == 0 and out.startswith(f"correct: you said ({a}, {b}); torch on cpu gave ({a}, {b})\n")


def test_decks_json_counts_kinds_and_languages(
    deck: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    full = tmp_path / "full.toml"
    text = (
        textwrap.dedent(DECK).lstrip().split('[[card]]\nid = "plain.torch"')[0].replace("zh-cli", "zh-full")
    )
    full.write_text(text, encoding="utf-8")
    code, out, _ = run(capsys, "decks", str(deck), str(full), "--json")
    assert code == 0
    data = json.loads(out)
    by_id = {d["id"]: d for d in data["decks"]}
    assert by_id["zh-cli"]["kinds"] == {"bool": 1, "shape": 1}
    assert by_id["zh-cli"]["languages"] == ["en"]  # one card of two in Chinese: partial
    assert by_id["zh-cli"]["translated"] == {"zh": 1}
    assert by_id["zh-full"]["languages"] == ["en", "zh"] and by_id["zh-full"]["translated"] == {"zh": 1}
    assert data["totals"]["kinds"] == {"bool": 1, "shape": 2} and data["totals"]["translated"] == {"zh": 2}


def test_deck_check_fails_a_translation_that_drops_a_variable(
    deck: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # --backend mxnet: no card runs here, yet the translation is judged.
    argv = ("deck", "check", str(deck), "--backend", "mxnet", "--no-record", "--json")
    code, out, _ = run(capsys, *argv)
    assert code == 0, out
    broken = deck.read_text(encoding="utf-8").replace("扩展到 ${b}。", "扩展开来。")
    deck.write_text(broken, encoding="utf-8")
    code, out, _ = run(capsys, *argv)
    assert code == 1
    (card,) = [c for c in json.loads(out)["cards"] if c["status"] == "fail"]
    assert card["card"] == "zh-cli/expand.torch"
    (flag,) = card["flags"]
    assert flag["flag"] == "translation"
    assert "`explain_zh` has other ${} placeholders than `explain`: drops variable `b`" in flag["message"]
    code, out, _ = run(capsys, *argv[:-1])
    assert code == 1 and "translation: `explain_zh`" in out and f"{deck}:" in out


def test_the_setting_is_saved_per_profile_and_the_flag_wins_for_one_run() -> None:
    assert load_settings().lang == "en"
    save_learner_settings("default", {"lang": "zh"})
    assert load_settings().lang == "zh"
    pinned = load_settings(lang="en")
    assert pinned.lang == "en" and "lang" in pinned.pinned
    with pytest.raises(SettingsError, match="lang must be one of en, zh"):
        save_learner_settings("default", {"lang": "klingon"})
    assert load_settings().lang == "zh"  # nothing lost


def test_a_bad_language_in_config_toml_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    path = config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('lang = "fr"\n', encoding="utf-8")
    code, _, err = run(capsys, "decks", "--json")
    assert code == 2 and err == "quiz: lang must be one of en, zh, not 'fr'\n"
