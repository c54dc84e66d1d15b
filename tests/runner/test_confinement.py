"""A hostile card attacks the app, the learner's files and the terminal: in every mode it is walled in.

Each test runs with bubblewrap (skipped where it cannot run) and in the
fallback (QUIZ_ISOLATION=rlimits: own uid per worker when the app is root,
Landlock, no view of the app). The files attacked here are made writable by
anyone on purpose, so that only the confinement, not file permissions, stands
in the card's way.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pty
import select
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from quiz.runner import isolation
from quiz.runner.client import Runner
from quiz.runner.isolation import PACKAGE_ROOT
from tests.runner.conftest import CHEAP_BACKEND, HOSTILE_LIMITS, MODES, MakeCard

# The attacks are plain Python, and the walls are the same for every framework's worker (nothing in
# the sandbox or the confinement plan depends on it): the workers here are of the framework cheapest
# to start (CHEAP_BACKEND: MXNet, or torch where MXNet is missing).
pytestmark = getattr(pytest.mark, CHEAP_BACKEND)

MARK = "PWNED-by-card"


@pytest.fixture(scope="module", params=[*MODES, "same-uid"])
def hostile_runner(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runner]:
    """A runner per mode; "same-uid" is the fallback of a learner who is not root.

    There the worker keeps the app's uid and only Landlock and the app's own shield stand
    between them. Run as root, the test gets that plan by making the app believe it is not
    root: the worker then stays root, which file permissions do not stop at all.
    """
    log_dir = tmp_path_factory.mktemp("worker-logs")
    with pytest.MonkeyPatch.context() as mp:
        saved = dict(isolation._cache)
        mode = request.param
        if mode == "same-uid":
            mp.setattr(isolation, "_is_root", lambda: False)
            isolation._cache.clear()
            mode = "rlimits"
        r = Runner(device="cpu", isolation=mode, limits=HOSTILE_LIMITS, log_dir=log_dir)
        assert not r.sandbox().refused, r.sandbox().refused
        try:
            yield r
        finally:
            r.close()
            isolation._cache.clear()
            isolation._cache.update(saved)


def run_value(runner: Runner, make_card: MakeCard, code: str, answer: str) -> object:
    card, variant = make_card(code, answer, backend=CHEAP_BACKEND)
    result = runner.run(card, variant)
    assert result.ok, result.error
    return result.truth


@pytest.fixture
def careless_files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """A database, a trust manifest, a cache and a trusted deck copy, readable and writable by anyone."""
    root = Path(os.environ["QUIZ_HOME"])
    for d in (root, *root.parents):
        if str(d) in ("/", "/tmp"):
            break
        d.chmod(d.stat().st_mode | 0o755)  # reachable by any uid: only the confinement protects them
    files = {
        "db": root / "data" / "quiz.db",
        "trust": root / "data" / "decks" / "added.json",
        "deck": root / "data" / "decks" / "shared.toml",
        "cache": root / "cache" / "library.pickle",
    }
    for path in files.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.parent.chmod(0o777)
        path.write_text(f"secret content of {path.name}\n")
        path.chmod(0o666)
    yield files


ATTACK_FILES = """
import json
import os
hits = []
for path in PATHS:
    try:
        with open(path) as f:
            if 'secret content' in f.read():
                hits.append('read ' + path)
    except OSError:
        pass
    try:
        with open(path, 'a') as f:
            f.write('owned')
        hits.append('wrote ' + path)
    except OSError:
        pass
for folder in FOLDERS:
    try:
        fd = os.open(os.path.join(folder, 'planted-by-card.py'), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        os.close(fd)
        hits.append('created in ' + folder)
    except OSError:
        pass
"""


def _planted(folders: list[str]) -> list[str]:
    return [
        os.path.join(f, "planted-by-card.py")
        for f in folders
        if os.path.exists(os.path.join(f, "planted-by-card.py"))
    ]


def same_uid_as_root(runner: Runner) -> bool:
    """The "same-uid" fallback, simulated by a root test: the worker is root too."""
    return runner.sandbox().mode != "bwrap" and not runner.sandbox().drop and os.geteuid() == 0


def test_card_code_never_runs_as_root(hostile_runner: Runner, make_card: MakeCard) -> None:
    if same_uid_as_root(hostile_runner):
        pytest.skip("the same-uid fallback run as root: the worker shares the test's uid")
    uids = run_value(
        hostile_runner, make_card, "import os", "[os.getuid(), os.geteuid(), os.getgid(), os.getegid()]"
    )
    assert 0 not in uids  # type: ignore[operator]
    status = run_value(
        hostile_runner,
        make_card,
        "uid = [l for l in open('/proc/self/status') if l.startswith('Uid:')][0].split()[1:]",
        "uid",
    )
    assert "0" not in status  # type: ignore[operator]


def test_card_cannot_read_or_write_the_database_trust_store_cache_or_deck_copies(
    hostile_runner: Runner, make_card: MakeCard, careless_files: dict[str, Path]
) -> None:
    paths = [str(p) for p in careless_files.values()]
    folders = sorted({str(p.parent) for p in careless_files.values()})
    code = f"PATHS = {paths!r}\nFOLDERS = {folders!r}\n{ATTACK_FILES}"
    try:
        hits = run_value(hostile_runner, make_card, code, "hits")
    finally:
        planted = _planted(folders)
        for p in planted:
            os.unlink(p)
    assert hits == [] and planted == []
    for path in careless_files.values():
        assert path.read_text() == f"secret content of {path.name}\n"


def test_card_cannot_write_to_the_venv_the_package_or_the_builtin_decks(
    hostile_runner: Runner, make_card: MakeCard
) -> None:
    torch_dir = importlib.util.find_spec("torch").submodule_search_locations[0]  # type: ignore[union-attr]
    folders = [
        sys.prefix,
        torch_dir,  # a framework's own files (found without importing it here)
        os.path.join(PACKAGE_ROOT, "quiz"),
        os.path.join(PACKAGE_ROOT, "decks"),
    ]
    target = os.path.join(PACKAGE_ROOT, "quiz", "__init__.py")
    before = Path(target).read_bytes()
    code = f"PATHS = {[target]!r}\nFOLDERS = {folders!r}\n{ATTACK_FILES}"
    try:
        hits = run_value(hostile_runner, make_card, code, "[h for h in hits if not h.startswith('read')]")
    finally:
        planted = _planted(folders)
        for p in planted:
            os.unlink(p)
        if Path(target).read_bytes() != before:
            Path(target).write_bytes(before)
    assert hits == [] and planted == []


def test_card_cannot_read_the_apps_environment_arguments_or_open_files(
    hostile_runner: Runner, make_card: MakeCard
) -> None:
    app = os.getpid()
    code = f"""
import json
import os
seen = {{}}
for name in ('environ', 'cmdline', 'fd', 'cwd', 'mem'):
    path = '/proc/{app}/' + name
    try:
        if os.path.isdir(path) and name == 'fd':
            seen[name] = os.listdir(path)
        elif name == 'cwd':
            seen[name] = os.listdir(path)
        else:
            with open(path, 'rb') as f:
                seen[name] = f.read(4096).decode('latin-1')
    except OSError:
        pass
"""
    seen = run_value(hostile_runner, make_card, code, "seen")
    assert isinstance(seen, dict)
    if same_uid_as_root(hostile_runner):
        # Root may read any process's /proc files. A learner's worker of the learner's own uid
        # is kept out by the app being undumpable: test_an_undumpable_app_keeps_its_own_uid_out.
        for name in ("environ", "fd", "cwd"):
            seen.pop(name, None)
    assert set(seen) <= {"cmdline"}, seen
    # Whatever is left of the app's command line, it is not the real one.
    assert "pytest" not in seen.get("cmdline", "") and "test_confinement" not in seen.get("cmdline", "")


def test_card_cannot_signal_the_app(hostile_runner: Runner, make_card: MakeCard) -> None:
    code = f"import os\ntry:\n    os.kill({os.getpid()}, 0)\n    reached = True\nexcept OSError:\n    reached = False"
    assert run_value(hostile_runner, make_card, code, "reached") is False


@pytest.fixture
def terminal() -> Iterator[tuple[int, str]]:
    """A terminal the app holds open (its slave end writable by anyone, as a careless tty would be)."""
    master, slave = pty.openpty()
    name = os.ttyname(slave)
    os.chmod(name, 0o666)
    os.set_blocking(master, False)
    try:
        yield master, name
    finally:
        os.close(slave)
        os.close(master)


def _drain(master: int, name: str) -> bytes:
    """Everything written onto the terminal so far: ends at a mark written after it, not after a pause.

    A terminal keeps the order of what is written to it, so once the mark (written after the card
    has run) comes out, whatever the card wrote has come out before it.
    """
    end = b"<end of what was written>"
    fd = os.open(name, os.O_WRONLY | os.O_NOCTTY)
    try:
        os.write(fd, end)
    finally:
        os.close(fd)
    out = b""
    while end not in out:
        ready, _, _ = select.select([master], [], [], 60)
        assert ready, f"the terminal never gave back its mark; it gave {out[-200:]!r}"
        out += os.read(master, 4096)
    return out[: out.index(end)]


def test_card_cannot_write_onto_the_learners_terminal(
    hostile_runner: Runner, make_card: MakeCard, terminal: tuple[int, str]
) -> None:
    master, name = terminal
    code = f"""
import os, glob
targets = ['/dev/tty', {name!r}, *glob.glob('/dev/pts/*'), *glob.glob('/proc/{os.getpid()}/fd/*')]
for pid in os.listdir('/proc'):
    if pid.isdigit():
        targets += glob.glob('/proc/' + pid + '/fd/*')
hits = []
for t in targets:
    if t.endswith('/ptmx'):
        continue  # opening it makes a new terminal of the card's own, which reaches nobody
    try:
        fd = os.open(t, os.O_WRONLY | os.O_NOCTTY)
    except OSError:
        continue
    try:
        if os.isatty(fd):
            os.write(fd, b'\\x1b]0;{MARK}\\x07{MARK}\\r\\n')
            hits.append(t)
    except OSError:
        pass
    finally:
        os.close(fd)
"""
    hits = run_value(hostile_runner, make_card, code, "hits")
    written = _drain(master, name)
    assert MARK.encode() not in written
    assert hits == []


def test_card_cannot_connect_over_tcp_to_the_host(hostile_runner: Runner, make_card: MakeCard) -> None:
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(0.5)
        port = listener.getsockname()[1]
        code = (
            "import socket\ntry:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'leak')\n"
            "    reached = True\nexcept OSError:\n    reached = False"
        )
        assert run_value(hostile_runner, make_card, code, "reached") is False
        with pytest.raises(TimeoutError):
            listener.accept()


def test_the_learners_secret_files_stay_private_even_when_world_readable(
    hostile_runner: Runner, make_card: MakeCard, tmp_path: Path
) -> None:
    secret = Path("/tmp") / f"quiz-secret-{os.getpid()}.txt"
    secret.write_text("secret content")
    secret.chmod(stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)
    try:
        code = f"try:\n    data = open({str(secret)!r}).read()\nexcept OSError:\n    data = None"
        assert run_value(hostile_runner, make_card, code, "data") is None
    finally:
        secret.unlink()


HOSTILE_DECK = """
[deck]
id = "hostile"
title = "a deck from a stranger"

[[card]]
id = "scan.BACKEND"
section = "s"
backend = "BACKEND"
kind = "value"
prompt = "?"
explain = "."
answer = "sorted(set(found)) + wrote"
code = '''
import os, glob
marks = [b'ENVMARK', b'ARGMARK']
found = []
for pid in os.listdir('/proc'):
    if pid.isdigit():
        for name in ('environ', 'cmdline'):
            try:
                data = open('/proc/' + pid + '/' + name, 'rb').read()
            except OSError:
                continue
            found += [name + ':' + m.decode() for m in marks if m in data]
wrote = []
for t in ['/dev/tty', *glob.glob('/dev/pts/*'), *glob.glob('/proc/*/fd/*')]:
    if t.endswith('/ptmx'):
        continue
    try:
        fd = os.open(t, os.O_WRONLY | os.O_NOCTTY)
    except OSError:
        continue
    try:
        if os.isatty(fd):
            os.write(fd, b'\\x1b]0;PWNED\\x07PWNED')
            wrote.append(t)
    except OSError:
        pass
    finally:
        os.close(fd)
'''
"""


@pytest.mark.parametrize("mode", ["rlimits", "auto"], ids=["fallback", "bwrap"])
def test_the_app_run_from_a_terminal_keeps_its_secrets_and_its_terminal(mode: str, tmp_path: Path) -> None:
    """`quiz grade` as a learner runs it: a password in QUIZ_DB and in --db, the terminal on its fds."""
    from tests.runner.conftest import bwrap_usable

    if mode == "auto" and not bwrap_usable():
        pytest.skip("bubblewrap cannot run here")
    env_mark, arg_mark = f"envsecret{os.getpid()}", f"argsecret{os.getpid()}"
    deck = tmp_path / "hostile.toml"
    deck.write_text(
        HOSTILE_DECK.replace("ENVMARK", env_mark)
        .replace("ARGMARK", arg_mark)
        .replace("BACKEND", CHEAP_BACKEND)
    )
    env = {
        **os.environ,
        "QUIZ_ISOLATION": mode,
        "QUIZ_DB": f"postgresql+psycopg://quiz:{env_mark}@db.invalid/quiz",
        "PGPASSWORD": env_mark,
    }
    argv = [
        os.path.join(os.path.dirname(sys.executable), "quiz"),
        "--db",
        f"sqlite:///{tmp_path}/{arg_mark}.db",
        "grade",
        f"hostile/scan.{CHEAP_BACKEND}",
        "--deck",
        str(deck),
        "--answer",
        "[]",
        "--allow-unisolated",
        "--json",
    ]
    import subprocess

    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=False
        )
        os.close(slave)
        output = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the app exited and closed the terminal
                break
            if not chunk:
                break
            output += chunk
        proc.wait(timeout=120)
    finally:
        os.close(master)
    text = output.decode(errors="replace")
    assert b"PWNED" not in output, text
    result = json.loads(text[text.index("{") : text.rindex("}") + 1])
    assert result["correct"] is True, result  # the card found nothing to read and no terminal to write
    assert result["expected"] == "[]"


def test_the_app_wipes_its_arguments_and_is_not_dumpable(tmp_path: Path) -> None:
    import subprocess

    code = (
        "import ctypes, sys\n"
        "from quiz.runner.isolation import shield_app\n"
        "shield_app()\n"
        "print(ctypes.CDLL(None).prctl(3, 0, 0, 0, 0), sys.argv[1])\n"  # PR_GET_DUMPABLE
        "sys.stdout.buffer.write(open('/proc/self/cmdline', 'rb').read())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "argsecret-on-the-command-line"], capture_output=True, check=True
    )
    first, _, cmdline = done.stdout.partition(b"\n")
    assert first == b"0 argsecret-on-the-command-line"  # not dumpable; Python still has its arguments
    assert b"argsecret" not in cmdline and cmdline.startswith(sys.executable.encode())


def test_an_undumpable_app_keeps_its_own_uid_out() -> None:
    """What shields a learner's app from a worker of the same uid: once shield_app ran, its
    environment, open files and working directory are closed to that uid (the kernel's rule
    for undumpable processes), while they are open to it before."""
    if os.geteuid() != 0:
        pytest.skip("needs root, to play a learner's uid on both sides")
    uid = 0x6FFF0000 + os.getpid() % 0xFFFF

    def read_as(uid: int, pid: int) -> list[str]:
        reader = os.fork()
        if reader == 0:
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            opened = []
            for name in ("environ", "fd", "cwd"):
                try:
                    if name == "environ":
                        with open(f"/proc/{pid}/environ", "rb") as f:
                            f.read()
                    else:
                        os.listdir(f"/proc/{pid}/{name}")
                    opened.append(name)
                except OSError:
                    pass
            os._exit(sum(1 << i for i, n in enumerate(("environ", "fd", "cwd")) if n in opened))
        _, status = os.waitpid(reader, 0)
        code = os.waitstatus_to_exitcode(status)
        return [n for i, n in enumerate(("environ", "fd", "cwd")) if code & (1 << i)]

    results = {}
    for shielded in (False, True):
        go_r, go_w = os.pipe()
        done_r, done_w = os.pipe()
        app = os.fork()
        if app == 0:  # the learner's app: their uid, dumpable as any process is, then maybe shielded
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            import ctypes

            ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE: as a process started by the learner
            if shielded:
                isolation._shielded = False
                isolation.shield_app()
            os.write(go_w, b"x")
            os.read(done_r, 1)
            os._exit(0)
        os.read(go_r, 1)
        results[shielded] = read_as(uid, app)
        os.write(done_w, b"x")
        os.waitpid(app, 0)
        for fd in (go_r, go_w, done_r, done_w):
            os.close(fd)
    assert results[False] == ["environ", "fd", "cwd"]  # the test itself can fail
    assert results[True] == []
