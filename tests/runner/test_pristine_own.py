"""The worker's own namespaces (builtins, quiz.runner): a name swapped and put back is no change, anything else is.

torch.export swaps `builtins.max` and `min` for the length of every export and puts them back; the
word gather saw the builtins dict's version move and replaced the worker after each export card
(a 6 s framework start for the next card). These run the watch in this process, over builtins and
one quiz.runner module, by the gather and by precise comparison (both must decide alike): no worker
starts. The same rule through a real worker: tests/runner/test_poison.py (`builtins.sum` patched).
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import quiz.runner.pristine as pristine
from quiz.runner.pristine import Containers, Policy, StateWatch, gather_available

OWN = "the card changed the worker's own code or builtins"


@pytest.fixture(params=[pytest.param(True, id="gather"), pytest.param(False, id="precise")])
def start(request: pytest.FixtureRequest) -> Iterator[Callable[[], StateWatch]]:
    """Starts watching builtins and quiz.runner.pristine (call it in the test, as a worker does when warm)."""
    if request.param and not gather_available():
        pytest.skip("this Python's object layout is not the one the gather reads")
    original_max, original_diff = builtins.max, pristine._diff
    order = list(vars(builtins))

    def watch() -> StateWatch:
        modules = [("builtins", builtins), ("quiz.runner.pristine", pristine)]
        return StateWatch(Policy(), containers=Containers.of_modules(modules), use_gather=request.param)

    yield watch
    builtins.max, pristine._diff = original_max, original_diff  # type: ignore[assignment]
    assert list(vars(builtins)) == order


def test_a_builtin_swapped_for_a_moment_and_put_back_keeps_the_worker(
    start: Callable[[], StateWatch],
) -> None:
    watch = start()
    original = builtins.max
    builtins.max = functools.partial(original)  # type: ignore[assignment]  # what torch.export does...
    builtins.max = original  # ...and undoes before it returns
    found = watch.check()
    assert found.recycle is None and found.changed == ()
    assert watch.check().recycle is None  # and the next card is compared with the same snapshot


def test_a_builtin_left_swapped_loses_the_worker(start: Callable[[], StateWatch]) -> None:
    watch = start()
    builtins.max = functools.partial(builtins.max)  # type: ignore[assignment]  # acts alike, is another object
    found = watch.check()
    assert found.recycle is not None and OWN in found.recycle
    assert "leaves builtins.max changed" in found.changed


def test_a_builtin_deleted_and_bound_again_loses_the_worker(start: Callable[[], StateWatch]) -> None:
    # The same object, but no longer where it was: the watch does not reason about order, it recycles.
    namespace = vars(builtins)
    saved, clear, update = dict(namespace), namespace.clear, namespace.update
    watch = start()
    original = builtins.max
    del builtins.max
    builtins.max = original
    try:
        found = watch.check()
        assert found.recycle is not None and OWN in found.recycle
    finally:  # back where it was, through locals: builtins are empty for a moment
        clear()
        update(saved)


def test_a_key_left_in_builtins_loses_the_worker_without_running_its_code(
    start: Callable[[], StateWatch],
) -> None:
    ran: list[str] = []

    class Key:
        def __hash__(self) -> int:
            ran.append("hash")
            return 1

        def __eq__(self, other: object) -> bool:
            ran.append("eq")
            return other is self

    watch = start()
    key: Any = Key()
    vars(builtins)[key] = 1
    ran.clear()
    try:
        found = watch.check()
        assert found.recycle is not None and OWN in found.recycle
        assert ran == []  # the check never hashed or compared the card's key
    finally:
        del vars(builtins)[key]


def test_the_checks_own_module_patched_and_put_back_or_left(start: Callable[[], StateWatch]) -> None:
    watch = start()
    original = pristine._diff
    pristine._diff = lambda now, snap: ([], [])
    pristine._diff = original
    assert watch.check().recycle is None
    pristine._diff = lambda now, snap: ([], [])
    found = watch.check()
    assert found.recycle is not None and OWN in found.recycle
