"""scripts/bootstrap.py's choice of Python and backends, over the machines a newcomer may have."""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[2]


def load_bootstrap() -> ModuleType:
    spec = importlib.util.spec_from_file_location("quiz_bootstrap", ROOT / "scripts" / "bootstrap.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


bootstrap = load_bootstrap()
plan_setup = bootstrap.plan_setup
PY311, PY312 = "/usr/bin/python3.11", "/opt/py/bin/python3.12"


@pytest.mark.parametrize("version", [(3, 11), (3, 12)])
def test_python3_that_every_backend_supports_is_used_as_it_is(version: tuple[int, int]) -> None:
    plan = plan_setup(version, "/usr/bin/python3", {(3, 11): PY311}, ["all"], dev=True)
    assert (plan.python, plan.version, plan.extras, plan.reexec) == ("/usr/bin/python3", version, ["all", "dev"], False)
    assert plan.message == ""


@pytest.mark.parametrize(
    ("others", "chosen"),
    [
        ({(3, 12): PY312}, PY312),
        ({(3, 11): PY311}, PY311),
        ({(3, 11): PY311, (3, 12): PY312}, PY312),  # the newer one
    ],
)
@pytest.mark.parametrize("current", [(3, 13), (3, 14), (3, 10)])
def test_another_python3_version_hands_over_to_a_312_or_311_on_path(
    current: tuple[int, int], others: dict[tuple[int, int], str], chosen: str
) -> None:
    plan = plan_setup(current, "/usr/bin/python3", others, ["all"], dev=False)
    assert plan.python == chosen and plan.reexec and plan.extras == ["all"]
    assert f"python3 is {current[0]}.{current[1]}" in plan.message and chosen in plan.message


def test_313_alone_sets_up_torch_and_tensorflow_and_says_mxnet_is_left_out() -> None:
    plan = plan_setup((3, 13), "/usr/bin/python3", {}, ["all"], dev=True)
    assert (plan.python, plan.version, plan.reexec) == ("/usr/bin/python3", (3, 13), False)
    assert plan.extras == ["torch", "tensorflow", "dev"]
    assert "MXNet is left out" in plan.message and "install python3.12" in plan.message


@pytest.mark.parametrize(
    ("asked", "extras", "mentions_mxnet"),
    [
        (["torch", "mxnet"], ["torch"], True),
        (["torch"], ["torch"], False),
        (["tensorflow"], ["tensorflow"], False),
    ],
)
def test_313_alone_keeps_the_asked_backends_it_can(asked: list[str], extras: list[str], mentions_mxnet: bool) -> None:
    plan = plan_setup((3, 13), "/usr/bin/python3", {}, asked, dev=False)
    assert plan.python == "/usr/bin/python3" and plan.extras == extras
    assert ("MXNet is left out" in plan.message) is mentions_mxnet


def test_313_alone_asked_for_mxnet_only_is_refused_with_what_to_install() -> None:
    plan = plan_setup((3, 13), "/usr/bin/python3", {}, ["mxnet"], dev=True)
    assert plan.python is None and plan.extras == []
    assert "MXNet 1.9.1 needs Python 3.11 or 3.12" in plan.message and "python3.12" in plan.message


@pytest.mark.parametrize("current", [(3, 10), (3, 14), (2, 7)])
def test_an_unsupported_python_without_a_312_or_311_is_refused_clearly(current: tuple[int, int]) -> None:
    plan = plan_setup(current, "/usr/bin/python3", {}, ["all"], dev=True)
    assert plan.python is None
    assert f"Python {current[0]}.{current[1]} found" in plan.message and "install python3.12" in plan.message


def _requirements(python: tuple[int, int], extras: list[str]) -> list[Requirement]:
    """The project's requirements that apply on `python` with `extras` (markers evaluated)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = {**default_environment(), "python_version": f"{python[0]}.{python[1]}", "python_full_version": f"{python[0]}.{python[1]}.0"}
    wanted = [Requirement(r) for r in project["dependencies"]]
    for extra in extras:
        wanted += [Requirement(r) for r in project["optional-dependencies"][extra]]
    return [r for r in wanted if r.marker is None or r.marker.evaluate(env)]


@pytest.mark.parametrize("python", [(3, 11), (3, 12), (3, 13)])
def test_pyproject_admits_every_python_the_plan_can_choose(python: tuple[int, int]) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert f"{python[0]}.{python[1]}.0" in SpecifierSet(project["requires-python"])
    assert python in bootstrap.FULL + bootstrap.NO_MXNET


def test_on_313_the_planned_install_has_no_mxnet_and_a_numpy_with_wheels() -> None:
    plan = plan_setup((3, 13), "/usr/bin/python3", {}, ["all"], dev=True)
    for extras in (plan.extras, ["all", "dev"]):  # `pip install .[all]` by hand is safe on 3.13 too
        reqs = _requirements((3, 13), extras)
        names = {r.name for r in reqs}
        assert "mxnet" not in names and {"torch", "tensorflow-cpu"} <= names
        numpy = [r for r in reqs if r.name == "numpy"]
        assert numpy and all("2.1.0" in r.specifier and "1.26.4" not in r.specifier for r in numpy)


@pytest.mark.parametrize("python", [(3, 11), (3, 12)])
def test_on_311_and_312_everything_is_installed_with_numpy_below_2(python: tuple[int, int]) -> None:
    reqs = _requirements(python, ["all", "dev"])
    assert {"torch", "tensorflow-cpu", "mxnet"} <= {r.name for r in reqs}
    assert all("1.26.4" in r.specifier and "2.0.0" not in r.specifier for r in reqs if r.name == "numpy")


def test_every_planned_extra_exists_in_pyproject() -> None:
    extras = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    for current in [(3, 11), (3, 13)]:
        for asked in (["all"], ["torch", "mxnet"], ["tensorflow"]):
            plan = plan_setup(current, "/usr/bin/python3", {}, asked, dev=True)
            assert set(plan.extras) <= extras


def test_the_venvs_python_version_is_read_from_pyvenv_cfg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bootstrap, "VENV", tmp_path)
    assert bootstrap.venv_version() is None
    (tmp_path / "pyvenv.cfg").write_text("home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.13.0\n")
    assert bootstrap.venv_version() == (3, 13)
    (tmp_path / "pyvenv.cfg").write_text("home = /x\nversion_info = 3.12.1.final.0\n")
    assert bootstrap.venv_version() == (3, 12)
