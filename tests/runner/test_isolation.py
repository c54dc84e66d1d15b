"""`quiz doctor` reports the isolation layers the workers observe from inside, and the devices."""

from __future__ import annotations

import json

import pytest

from quiz.cli import main
from quiz.runner.isolation import sandbox_for
from tests.runner.conftest import CHEAP_BACKEND


@pytest.mark.torch
@pytest.mark.tensorflow
@pytest.mark.mxnet
def test_doctor_json_reports_the_isolation_in_force_and_devices(capsys: pytest.CaptureFixture[str]) -> None:
    main(["doctor", "--json"])
    report = json.loads(capsys.readouterr().out)
    iso = report["isolation"]
    assert iso["mode"] == sandbox_for().mode  # what this machine (and QUIZ_ISOLATION) gives
    assert iso["devices"] == {b: report["backends"][b]["devices"] for b in ("torch", "tensorflow", "mxnet")}
    assert all("cpu" in devices for devices in iso["devices"].values())
    seen = iso["workers"]["torch"]
    assert seen["limits"]["file_size_mb"] == iso["limits"]["file_size_mb"]
    assert seen["limits"]["core_dumps"] is False
    if iso["mode"] == "bwrap":
        assert seen["network_interfaces"] == ["lo"]
        assert "no network (loopback only)" in iso["layers"]
        assert not any("network" in m for m in iso["not_in_force"])
    else:
        assert any(m.startswith("network isolation") for m in iso["not_in_force"])
    if seen["limits"]["processes"] is None and "pids_cgroup" not in seen:
        assert any("process limit" in m for m in iso["not_in_force"])
    else:
        assert any("processes/threads" in layer for layer in iso["layers"])


def test_doctor_text_lists_layers_and_what_is_not_in_force(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The text shows the report the JSON test checks for every backend: here one worker is enough to
    # observe the layers from inside, the cheapest to start (MXNet; torch where MXNet is missing).
    seen = CHEAP_BACKEND
    monkeypatch.setenv(
        "QUIZ_HIDE_BACKENDS", ",".join(b for b in ("torch", "tensorflow", "mxnet") if b != seen)
    )
    main(["doctor"])
    out = capsys.readouterr().out
    assert "isolation   " in out and "+ per-card timeout" in out
    assert "resource limits: " in out  # observed from inside the worker
