#!/usr/bin/env python3
"""Set up `.venv` at the repository root with quiz and all three backends; idempotent and quick when done.

    python3 scripts/bootstrap.py          # the app: quiz + torch (CPU) + tensorflow-cpu + mxnet
    python3 scripts/bootstrap.py --dev    # the same plus the test and lint tools

Runs with the system Python (3.11 or 3.12) and the standard library only.
A stamp in `.venv` records what was installed; when pyproject.toml has not
changed, nothing is reinstalled.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
STAMP = VENV / ".bootstrap-stamp"


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

    if sys.version_info[:2] not in ((3, 11), (3, 12)):
        say(
            f"Python {sys.version.split()[0]} found; quiz's backends need 3.11 or 3.12 "
            "(mxnet 1.9.1 and tensorflow-cpu 2.21 wheels)."
        )
        return 1
    extras = [e.strip() for e in args.backends.split(",") if e.strip()]
    if args.dev:
        extras.append("dev")

    if not venv_python().exists():
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
