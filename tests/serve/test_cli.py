"""The instructor's commands: `quiz class add-learner`, `remove-learner`, and `quiz serve`'s refusals."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

from quiz.serve import logins
from quiz.store.db import open_store


def quiz(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "quiz", *args], capture_output=True, text=True, timeout=timeout
    )


def test_add_learner_prints_a_link_that_signs_in_once(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'class.db'}"
    done = quiz("class", "add-learner", "ada", "--url", "https://quiz.school/", "--db", db, "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert set(out) == {"profile", "new_profile", "token", "link", "expires_at"}
    assert out["link"] == f"https://quiz.school/signin#t={out['token']}"  # the secret after '#'
    assert out["profile"] == "ada" and out["new_profile"] is True
    text = quiz("class", "add-learner", "ada", "--db", db)  # again: a new link, the old one void
    assert text.returncode == 0 and "http://127.0.0.1:8000/signin#t=" in text.stdout
    assert "an existing profile; any earlier unused link is void" in text.stdout
    store = open_store(db)
    try:
        assert logins.redeem(store, out["token"]) is None
        new_token = text.stdout.split("#t=")[1].split()[0]
        assert logins.redeem(store, new_token) is not None
    finally:
        store.dispose()


def test_add_learner_refuses_bad_names_and_urls_in_one_line(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'class.db'}"
    done = quiz("class", "add-learner", "../ada", "--db", db)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "quiz: learner name '../ada': use 1 to 64 letters, digits, - or _ (starting with a letter or digit)"
    ]
    done = quiz("class", "add-learner", "ada", "--url", "javascript:alert(1)", "--db", db, "--json")
    assert done.returncode == 2 and "must start with http:// or https://" in json.loads(done.stdout)["error"]


def test_remove_learner(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'class.db'}"
    assert quiz("class", "add-learner", "ada", "--db", db).returncode == 0
    done = quiz("class", "remove-learner", "ada", "--db", db, "--json")
    assert done.returncode == 0 and json.loads(done.stdout) == {"profile": "ada", "tokens": 1, "sessions": 0}
    done = quiz("class", "remove-learner", "ada", "--db", db)  # a known profile: nothing left, still fine
    assert done.returncode == 0 and "can no longer sign in" in done.stdout
    done = quiz("class", "remove-learner", "nobody", "--db", db)
    assert done.returncode == 1 and "no learner 'nobody'" in done.stderr


def test_serve_help_teaches_the_three_commands_and_tls() -> None:
    done = quiz("serve", "--help")
    assert done.returncode == 0
    for words in ("add-learner", "remove-learner", "class report", "127.0.0.1", "TLS", "--seats"):
        assert words in done.stdout


def test_serve_refuses_a_taken_port_and_a_bad_url_in_one_line(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'class.db'}"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = quiz("serve", "--db", db, "--port", str(port))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith(f"quiz: cannot listen on 127.0.0.1:{port}:")
    done = quiz("serve", "--db", db, "--public-url", "quiz.school")
    assert done.returncode == 2 and "--public-url must start with http:// or https://" in done.stderr
