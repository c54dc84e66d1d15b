"""The runner's life cycle and devices: start on demand, idle exit, cards a machine cannot run, the pool."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from quiz.runner.client import Runner
from quiz.runner.config import WorkerConfig
from quiz.runner.limits import Limits
from quiz.runner.pool import RunnerPool, default_pool_size
from tests.runner.conftest import CHEAP_ARANGE, CHEAP_BACKEND, CHEAP_ONES, MakeCard


def until(condition: Callable[[], bool], what: str, timeout: float = 120) -> None:
    """Poll `condition` with a generous bound (a loaded machine is slow, not wrong); fail saying `what`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)


def has_gpu(runner: Runner, backend: str) -> bool:
    return "gpu" in (runner.info(backend) or {}).get("devices", [])


@pytest.mark.torch
def test_gpu_card_with_device_set_to_cpu_is_unavailable_with_the_reason(
    runner: Runner, make_card: MakeCard
) -> None:
    card, variant = make_card("y = torch.ones(2, device=device)", "y.sum()", requires="{ gpu = true }")
    result = Runner(device="cpu").run(card, variant)  # never starts a worker: the reason is known up front
    assert not result.ok and result.error_kind == "unavailable"
    assert "needs a GPU" in (result.error or "") and "cpu" in (result.error or "")


@pytest.mark.torch
def test_gpu_card_on_a_machine_without_one_is_unavailable(runner: Runner, make_card: MakeCard) -> None:
    if has_gpu(runner, "torch"):
        pytest.skip("this machine has a GPU")
    card, variant = make_card("y = torch.ones(2, device=device)", "y.sum()", requires="{ gpu = true }")
    result = runner.run(card, variant, device="auto")
    assert not result.ok and result.error_kind == "unavailable"
    assert "needs a GPU" in (result.error or "") and "torch sees none" in (result.error or "")
    asked = runner.run(*make_card("x = 1", "x"), device="gpu")
    assert not asked.ok and asked.error_kind == "unavailable" and "GPU" in (asked.error or "")


@pytest.mark.torch
def test_gpu_card_runs_on_the_gpu_and_the_verdict_says_so(runner: Runner, make_card: MakeCard) -> None:
    if not has_gpu(runner, "torch"):
        pytest.skip("no GPU here")
    card, variant = make_card(
        "y = torch.ones(2, device=device)", "[y.sum(), y.device.type]", requires="{ gpu = true }"
    )
    result = runner.run(card, variant, device="auto")
    assert result.ok, result.error
    assert result.device == "gpu" and result.truth[0] == 2.0 and result.truth[1] in ("cuda", "mps")


@pytest.mark.torch
def test_one_card_runs_on_either_device_through_its_device_handle(
    runner: Runner, make_card: MakeCard
) -> None:
    card, variant = make_card("y = torch.arange(3, device=device) * 2", "y")
    on_cpu = runner.run(card, variant, device="cpu")
    assert on_cpu.ok and on_cpu.device == "cpu" and on_cpu.truth == [0, 2, 4]
    if has_gpu(runner, "torch"):
        on_gpu = runner.run(card, variant, device="gpu")
        assert on_gpu.ok and on_gpu.device == "gpu" and on_gpu.truth == [0, 2, 4]


@pytest.mark.torch
def test_unmet_version_requirement_is_unavailable_with_the_reason(make_card: MakeCard) -> None:
    card, variant = make_card("x = 1", "x", requires='{ torch = ">=99" }')
    result = Runner(device="cpu").run(card, variant)
    assert not result.ok and result.error_kind == "unavailable"
    assert "needs torch>=99" in (result.error or "") and "installed" in (result.error or "")


# The next tests are about starting and stopping workers, whatever their framework: they start the
# cheapest one (CHEAP_BACKEND, see conftest.py).
@getattr(pytest.mark, CHEAP_BACKEND)
def test_worker_starts_only_when_needed_and_exits_when_idle(make_card: MakeCard) -> None:
    backend = CHEAP_BACKEND
    with Runner(WorkerConfig(idle_s=1.0), device="cpu") as runner:
        assert runner.state(backend) == "stopped"
        runner.prestart([backend])
        assert runner.state(backend) in ("starting", "ready")  # prestart does not wait for the import
        card, variant = make_card(*CHEAP_ONES[backend], backend=backend)
        assert runner.run(card, variant).truth == 3.0
        until(lambda: runner.state(backend) == "stopped", "the idle worker to exit")
        mark = runner.worker(backend).turn()
        again = runner.run(card, variant)  # started again, transparently
        assert again.ok and again.truth == 3.0
        # Another process: a mark taken before never matches (quiz.session.grading skips a probe on it).
        assert runner.worker(backend).turn()[1] is not mark[1]


@pytest.mark.parametrize("isolation", ["auto", "rlimits"])
@getattr(pytest.mark, CHEAP_BACKEND)
def test_a_worker_started_from_a_short_lived_thread_outlives_it(make_card: MakeCard, isolation: str) -> None:
    # The sandbox dies with the thread that started it (--die-with-parent is per thread):
    # a UI worker thread that starts a worker and ends must not take the worker with it.
    backend = CHEAP_BACKEND
    with Runner(WorkerConfig(isolation=isolation), device="cpu") as runner:
        t = threading.Thread(target=runner.info, args=(backend,))
        t.start()
        t.join()
        pid = runner.worker(backend).host_pids()[0]
        # The thread's end is the event: once the kernel has let it go, a worker tied to it has its
        # kill signal, and could not answer the card below.
        until(lambda: not os.path.exists(f"/proc/self/task/{t.native_id}"), "the thread to end")
        assert runner.worker(backend).state == "ready"
        card, variant = make_card(*CHEAP_ONES[backend], backend=backend)
        result = runner.run(card, variant)
        assert result.ok and result.truth == 3.0
        assert runner.worker(backend).host_pids()[0] == pid


@getattr(pytest.mark, CHEAP_BACKEND)
def test_pool_grades_in_parallel_with_runners_signature(make_card: MakeCard) -> None:
    assert default_pool_size() >= 1
    code, answer = CHEAP_ARANGE[CHEAP_BACKEND]
    cards = [make_card(code.format(n=n), answer, backend=CHEAP_BACKEND) for n in range(1, 9)]
    with RunnerPool(2, device="cpu") as pool, ThreadPoolExecutor(4) as ex:
        results = list(ex.map(lambda cv: pool.run(cv[0], cv[1], given=None, device=None), cards))
    assert [r.truth for r in results] == [n * (n - 1) // 2 for n in range(1, 9)]
    assert all(r.ok and r.backend == CHEAP_BACKEND and r.device == "cpu" for r in results)


@pytest.mark.torch
def test_a_card_gets_the_time_it_asks_for_but_never_more_than_the_cap(
    runner: Runner, make_card: MakeCard
) -> None:
    slow, slow_variant = make_card("import time\ntime.sleep(1.2)", "1", timeout=2)
    # The session's warm runner has the default cap (60 s), which allows what the card asks for, as a
    # cap of 3 s would: no runner of its own is needed to show that.
    assert runner.limits.timeout_cap_s >= 3
    assert runner.run(slow, slow_variant).ok  # 2 s asked, 1.2 s used
    with Runner(WorkerConfig(limits=Limits(timeout_cap_s=0.5)), device="cpu") as strict:
        result = strict.run(slow, slow_variant)
        assert not result.ok and result.error_kind == "timeout"
        assert "0.5 s" in (result.error or "")


@pytest.mark.mxnet
def test_closing_a_worker_still_warming_up_does_not_wait_for_it() -> None:
    """Quitting the app must not wait for a framework import: close() kills a worker that is not warm yet,
    and the thread waiting for its warm-up gets a crash instead of a warm worker."""
    import threading

    from quiz.runner.client import WorkerCrashed, WorkerProcess

    w = WorkerProcess("mxnet")
    w.start()
    outcome: list[object] = []
    waiting = threading.Thread(target=lambda: outcome.append(_warm_or_error(w, WorkerCrashed)))
    waiting.start()
    while w.lock.acquire(blocking=False):  # until the waiting thread holds the lock
        w.lock.release()
        waiting.join(0.01)
    if w.warm is not None:
        pytest.skip("the worker warmed up before close() was called")
    w.close()
    waiting.join(60)
    assert not waiting.is_alive()
    assert outcome and isinstance(outcome[0], WorkerCrashed), outcome
    assert w.proc is None or w.proc.poll() is not None


def _warm_or_error(w: object, errors: type[BaseException]) -> object:
    try:
        return w.wait_warm()  # type: ignore[attr-defined]
    except errors as exc:
        return exc
