"""The state watch on its own, in this process: what it finds, what it puts back, what it leaves alone.

Each test builds a small module, watches it (by the word gather and by precise comparison: both
must find the same), changes it the way a card would, and reads the findings.
"""

from __future__ import annotations

import os
import subprocess
import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest

from quiz.runner.pristine import Containers, Policy, Setting, StateWatch, gather_available, modules_in_order

MODES = [pytest.param(True, id="gather"), pytest.param(False, id="precise")]


class Settings:
    pass


def fresh_module(name: str) -> types.ModuleType:
    m = types.ModuleType(name)
    exec(
        "class Thing:\n"
        "    size = 3\n"
        "    def area(self):\n"
        "        return self.size ** 2\n"
        "registry = ['a', 'b']\n"
        "names = {'x', 'y'}\n"
        "table = {'k': 1}\n"
        "_cache = {}\n"
        "def helper(v=1):\n"
        "    return v\n",
        m.__dict__,
    )
    m.options = Settings()  # type: ignore[attr-defined]
    m.options.precision = 4  # type: ignore[attr-defined]
    return m


@pytest.fixture(params=MODES)
def watched(request: pytest.FixtureRequest) -> Iterator[tuple[types.ModuleType, Any]]:
    """A probe module and a function that starts watching it (call it in the test: pytest changes the
    environment between a fixture and its test, which the watch would see)."""
    if request.param and not gather_available():
        pytest.skip("this Python's object layout is not the one the gather reads")
    name = f"poison_probe_{id(request)}"
    module = sys.modules[name] = fresh_module(name)
    policy = Policy(
        settings=(Setting("the probe's precision", lambda: module.options.precision),),
        known={f"{name}.table": "the probe's table"},
    )

    def watch() -> StateWatch:
        return StateWatch(
            policy, containers=Containers.of_modules([(name, module)]), use_gather=request.param
        )

    yield module, watch
    del sys.modules[name]


def test_nothing_changed_is_nothing_found(watched: tuple[types.ModuleType, Any]) -> None:
    module, start = watched
    watch = start()
    module.Thing().area()
    assert watch.check().changed == ()
    assert watch.check().recycle is None


def test_a_rebound_module_attribute_is_found_by_name_and_the_worker_must_go(
    watched: tuple[types.ModuleType, Any],
) -> None:
    module, start = watched
    watch = start()
    module.helper = lambda v=1: 42
    findings = watch.check()
    assert findings.changed == (f"leaves {module.__name__}.helper changed",)
    assert findings.recycle


def test_a_class_attribute_patch_is_found(watched: tuple[types.ModuleType, Any]) -> None:
    module, start = watched
    watch = start()
    module.Thing.area = lambda self: 0
    assert f"leaves {module.__name__}.Thing.area changed" in watch.check().changed


def test_an_item_replaced_in_a_list_is_found_though_its_length_is_the_same(
    watched: tuple[types.ModuleType, Any],
) -> None:
    module, start = watched
    watch = start()
    module.registry[0] = "evil"
    findings = watch.check()
    assert findings.changed == (f"leaves the contents of {module.__name__}.registry changed",)
    assert findings.recycle


def test_a_set_with_one_name_swapped_for_another_is_found(watched: tuple[types.ModuleType, Any]) -> None:
    module, start = watched
    watch = start()
    module.names.discard("x")
    module.names.add("z")
    assert f"leaves the contents of {module.__name__}.names changed" in watch.check().changed


def test_a_setting_changed_in_an_object_is_found(watched: tuple[types.ModuleType, Any]) -> None:
    module, start = watched
    watch = start()
    module.options.precision = 1
    findings = watch.check()
    assert "leaves the probe's precision changed" in findings.changed
    # Read through a setting without a restore: only a fresh worker undoes it.
    assert findings.recycle


def test_known_state_is_put_back_and_reported_and_the_worker_stays(
    watched: tuple[types.ModuleType, Any],
) -> None:
    module, start = watched
    watch = start()
    original = module.table
    module.table["k"] = 2
    module.table["new"] = 3
    findings = watch.check()
    assert findings.changed == ("leaves the probe's table changed",)
    assert findings.recycle is None
    assert module.table is original and module.table == {"k": 1}
    assert watch.check().changed == ()  # and the next card starts clean


def test_a_cache_is_put_back_silently(watched: tuple[types.ModuleType, Any]) -> None:
    module, start = watched
    watch = start()
    module._cache["seen"] = object()
    findings = watch.check()
    assert findings.changed == () and findings.recycle is None
    assert module._cache == {}


def test_the_comparison_never_runs_a_cards_objects(watched: tuple[types.ModuleType, Any]) -> None:
    """A value whose __eq__ says it equals anything must not pass for the value it replaced."""
    module, start = watched
    watch = start()
    ran = []

    class Liar:
        def __eq__(self, other: object) -> bool:
            ran.append("eq")
            return True

        def __hash__(self) -> int:
            ran.append("hash")
            return hash("k")

    module.table[Liar()] = 1  # a key the comparison would have to hash...
    module.helper = Liar()  # ...and a value it would have to compare
    ran.clear()  # (putting the key in ran them: the dict had to)
    findings = watch.check()
    assert f"leaves {module.__name__}.helper changed" in findings.changed
    assert ran == []


def test_a_new_thread_is_found_even_when_threading_cannot_see_it(
    watched: tuple[types.ModuleType, Any],
) -> None:
    import _thread
    import threading
    import time

    _, start = watched
    watch = start()
    stop = threading.Event()
    before = threading.active_count()
    _thread.start_new_thread(stop.wait, ())
    time.sleep(0.05)
    assert threading.active_count() == before  # invisible to threading...
    try:
        findings = watch.check()
        assert "leaves a thread running" in findings.changed  # ...not to /proc/self/task
        assert findings.recycle
    finally:
        stop.set()
        time.sleep(0.05)


def test_a_function_code_swap_is_found(watched: tuple[types.ModuleType, Any]) -> None:
    module, start = watched
    watch = start()
    module.helper.__code__ = (lambda v=1: 0).__code__
    findings = watch.check()
    assert any("helper.__code__" in c for c in findings.changed), findings.changed
    assert findings.recycle


def test_the_gather_is_self_tested_on_this_python() -> None:
    expected = sys.implementation.name == "cpython" and sys.version_info[:2] in ((3, 11), (3, 12))
    assert gather_available() is expected


def test_the_whole_interpreter_is_watched_and_a_builtin_patch_is_found() -> None:
    """The real thing, over every module loaded in this process (not just a probe)."""
    import builtins

    watch = StateWatch(Policy(), containers=Containers.of_modules(modules_in_order()))
    original = builtins.sum
    builtins.sum = lambda *a, **k: 42  # type: ignore[assignment]
    try:
        assert "leaves builtins.sum changed" in watch.check().changed
    finally:
        builtins.sum = original


def test_processes_there_before_the_watch_are_left_alone(watched: tuple[types.ModuleType, Any]) -> None:
    # In-process (as here, next to a test session's warm workers) the watch must kill only what
    # came after it: a worker has no children when it starts watching, a test process may.
    _, start = watched
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    before = subprocess.Popen(sleeper)
    try:
        watch = start()
        after = subprocess.Popen(sleeper)
        found = watch.check()
        assert "leaves a process running" in found.changed
        assert not os.path.exists(f"/proc/{after.pid}")  # killed and reaped
        assert before.poll() is None  # still running, its exit status still its owner's
        assert watch.check().changed == ()
    finally:
        before.kill()
        before.wait()
