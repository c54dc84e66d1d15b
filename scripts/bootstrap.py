#!/usr/bin/env python3
"""Set up `.venv` at the repository root with quiz and all three backends; idempotent and quick when done.

    python3 scripts/bootstrap.py          # the app: quiz + torch (CPU) + tensorflow-cpu + mxnet
    python3 scripts/bootstrap.py --dev    # the same plus the test and lint tools

Runs with the standard library only. The venv gets Python 3.11 or 3.12 (all
three backends have wheels there): `python3` itself when it is one of them,
else a `python3.12` or `python3.11` on PATH. Where `python3` is 3.13 and
neither is installed, the venv gets 3.13 with torch and TensorFlow only:
MXNet 1.9.1 needs numpy < 2, which has no 3.13 wheels, and quiz treats it
as a backend that is not installed (`quiz doctor` says so; its cards are
skipped). A stamp in `.venv` records what was installed; when pyproject.toml
has not changed, nothing is reinstalled.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
STAMP = VENV / ".bootstrap-stamp"
BACKENDS = ("torch", "tensorflow", "mxnet")
FULL = ((3, 11), (3, 12))  # every backend has wheels for these
NO_MXNET = ((3, 13),)  # torch and TensorFlow only (MXNet's numpy < 2 has no wheels)
REEXEC_ENV = "QUIZ_BOOTSTRAP_REEXEC"


@dataclass(frozen=True)
class Plan:
    """What to set up with: `python` (None: refuse, `message` says why), the extras, and what to tell."""

    python: str | None
    version: tuple[int, int] | None
    extras: list[str]
    message: str = ""
    reexec: bool = False  # run this script again under `python`


def _version_text(v: tuple[int, int]) -> str:
    return f"{v[0]}.{v[1]}"


def plan_setup(
    current: tuple[int, int],
    current_python: str,
    others: dict[tuple[int, int], str],
    backends: list[str],
    dev: bool,
) -> Plan:
    """Which Python the venv gets and which extras: a pure decision (tested in tests/unit/test_bootstrap.py).

    `others`: interpreters found on PATH by version (python3.12, python3.11);
    `backends`: the asked extras ("all" or backend names).
    """
    dev_extra = ["dev"] if dev else []
    if current in FULL:
        return Plan(current_python, current, backends + dev_extra)
    for version in sorted(FULL, reverse=True):
        if version in others:
            return Plan(
                others[version],
                version,
                backends + dev_extra,
                f"python3 is {_version_text(current)}; setting up with {others[version]} "
                f"(Python {_version_text(version)}), which every backend supports",
                reexec=True,
            )
    if current in NO_MXNET:
        asked = list(BACKENDS) if "all" in backends else [b for b in backends if b != "all"]
        kept = [b for b in asked if b != "mxnet"]
        if not kept:
            return Plan(
                None,
                None,
                [],
                f"Python {_version_text(current)} found, and MXNet 1.9.1 needs Python 3.11 or 3.12 "
                "(numpy < 2 has no wheels for newer Pythons): install python3.12 or python3.11",
            )
        left_out = " MXNet is left out (its numpy < 2 has no wheels for this Python);" if "mxnet" in asked else ""
        return Plan(
            current_python,
            current,
            kept + dev_extra,
            f"Python {_version_text(current)} with no python3.12 or python3.11 on PATH: setting up "
            f"{' and '.join(kept)}.{left_out} install python3.12 and run this again for all three backends",
        )
    return Plan(
        None,
        None,
        [],
        f"Python {_version_text(current)} found; quiz needs Python 3.11 or 3.12 (3.13 without MXNet): "
        "install python3.12 (or put it on PATH as python3.12) and run this again",
    )


def find_pythons() -> dict[tuple[int, int], str]:
    """python3.12 and python3.11 on PATH that really run (a pyenv shim may name a missing version)."""
    found: dict[tuple[int, int], str] = {}
    for version in FULL:
        exe = shutil.which(f"python{_version_text(version)}")
        if exe is None:
            continue
        try:
            out = subprocess.run(
                [exe, "-c", "import sys, venv; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode == 0 and out.stdout.strip() == _version_text(version):
            found[version] = exe
    return found


def venv_version() -> tuple[int, int] | None:
    """The Python version `.venv` was made with (from pyvenv.cfg), None if there is none."""
    cfg = VENV / "pyvenv.cfg"
    if not cfg.exists():
        return None
    for line in cfg.read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() in ("version_info", "version"):
            parts = value.strip().split(".")
            try:
                return int(parts[0]), int(parts[1])
            except (ValueError, IndexError):
                return None
    return None


def say(message: str) -> None:
    print(f"[bootstrap] {message}", flush=True)


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def project_digest() -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    return f"{digest} py{sys.version_info[0]}.{sys.version_info[1]}"


def installed_extras() -> set[str] | None:
    """Extras installed for the current pyproject.toml, or None when out of date."""
    if not STAMP.exists():
        return None
    digest, _, extras = STAMP.read_text().partition("\n")
    return set(filter(None, extras.split(","))) if digest == project_digest() else None


def run_pip(cmd: list[str]) -> int:
    """Run pip, passing its output through except the lines some machines' pip
    configuration prints for every package ("Location ... is ignored")."""
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("WARNING: Location ") and "is ignored" in line:
            continue
        print(line, end="", flush=True)
    return proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dev", action="store_true", help="also install the test and lint tools")
    parser.add_argument(
        "--backends",
        default="all",
        help="comma-separated extras instead of all backends, e.g. torch or torch,mxnet",
    )
    parser.add_argument("--force", action="store_true", help="reinstall even if the stamp says it's done")
    args = parser.parse_args()

    current = (sys.version_info[0], sys.version_info[1])
    asked = [e.strip() for e in args.backends.split(",") if e.strip()]
    others = {} if current in FULL or os.environ.get(REEXEC_ENV) else find_pythons()
    plan = plan_setup(current, sys.executable, others, asked, args.dev)
    if plan.message:
        say(plan.message)
    if plan.python is None:
        return 1
    if plan.reexec:
        env = {**os.environ, REEXEC_ENV: "1"}
        return subprocess.run([plan.python, str(Path(__file__).resolve()), *sys.argv[1:]], env=env).returncode
    extras = plan.extras

    made_with = venv_version()
    if venv_python().exists() and made_with is not None and made_with != current:
        say(
            f"{VENV.relative_to(ROOT)} was made with Python {_version_text(made_with)}; "
            f"remaking it with {sys.executable}"
        )
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    elif not venv_python().exists():
        say(f"creating {VENV.relative_to(ROOT)} with {sys.executable}")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)

    have = installed_extras()
    if not args.force and have is not None and set(extras) <= have:
        say("environment is up to date")
        return 0
    extras = sorted(set(extras) | (have or set()))

    spec = f".[{','.join(extras)}]" if extras else "."
    say(f"installing quiz{spec[1:]} into .venv (first time: a few minutes; torch is the local CPU build)")
    started = time.monotonic()
    cmd = [
        str(venv_python()),
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--progress-bar",
        "off",
        "-q",
        "-e",
        spec,
    ]
    returncode = run_pip(cmd)
    if returncode != 0:
        say("pip failed; see the messages above. Nothing else was changed.")
        return returncode
    # Compile quiz's own modules now: start-up speed matters, and some shells set
    # PYTHONDONTWRITEBYTECODE, which would make every start recompile them.
    subprocess.run([str(venv_python()), "-m", "compileall", "-q", str(ROOT / "quiz")], cwd=ROOT)
    STAMP.write_text(f"{project_digest()}\n{','.join(extras)}")
    say(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
