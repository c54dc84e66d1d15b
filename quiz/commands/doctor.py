"""`quiz doctor`: Python, backends (version, devices), the database and its schema, isolation in force."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from quiz import __version__
from quiz.cli import add_common
from quiz.commands.common import isolation_notice, library, print_json

if TYPE_CHECKING:
    from quiz.config import Settings


def register(sub: Any, groups: dict[str, Any]) -> None:
    p = sub.add_parser("doctor", help="check Python, backends, devices, database and isolation")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_common(p)
    p.set_defaults(handler=cmd_doctor)


def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    import platform
    import time

    from quiz import paths
    from quiz.runner.backends import backend_info
    from quiz.runner.client import Runner

    report: dict[str, Any] = {
        "quiz": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "paths": {
            "data": str(paths.data_dir()),
            "config": str(paths.config_dir()),
            "cache": str(paths.cache_dir()),
        },
        "backends": {},
    }
    isolation_notice(settings)
    runner = Runner.for_settings(settings, log_dir=paths.log_dir())
    infos = {b: backend_info(b) for b in ("torch", "tensorflow", "mxnet")}
    started = time.perf_counter()
    runner.prestart([b for b, i in infos.items() if i.installed])
    for name, info in infos.items():
        entry: dict[str, Any] = {"installed": info.installed, "version": info.version}
        if info.installed:
            try:
                ready = runner.info(name) or {}
                entry["devices"] = ready.get("devices", [])
                entry["gpus"] = ready.get("gpus", 0)
                entry["worker"] = "ok"
                entry["worker_ready_s"] = round(time.perf_counter() - started, 2)
            except Exception as exc:
                entry["worker"] = f"failed: {exc}"
                entry["devices"] = []
        else:
            entry["hint"] = info.hint
        report["backends"][name] = entry
    # What the workers see from inside (uid, namespaces, network, limits), before they go.
    ready_backends = [b for b, e in report["backends"].items() if e.get("worker") == "ok"]
    report["isolation"] = runner.isolation_report(ready_backends)
    runner.close()

    from quiz.store.db import HEAD_REVISION, StoreError, _redact, open_store

    db: dict[str, Any] = {"url": _redact(settings.db_url), "head": HEAD_REVISION}
    try:
        store = open_store(settings.db_url)
        db["revision"] = store.revision
        db["ok"] = store.revision == HEAD_REVISION
        store.dispose()
    except StoreError as exc:
        db["ok"] = False
        db["error"] = str(exc)
    report["database"] = db
    lib = library(settings)
    from quiz.checking.records import stale_count

    report["decks"] = {
        "decks": len(lib.decks),
        "cards": len(lib.cards()),
        "problems": len(lib.problems),
        "stale": stale_count(),  # cards whose truth changed with a framework upgrade (`quiz deck check`)
    }

    if args.json:
        print_json(report)
    else:
        print(f"quiz {report['quiz']} on Python {report['python']} ({report['platform']})")
        for name, entry in report["backends"].items():
            if entry["installed"]:
                devices = ", ".join(entry.get("devices", [])) or "-"
                print(
                    f"  {name:<11} {entry['version'] or '?':<10} devices: {devices:<10} worker: {entry['worker']}"
                )
            else:
                print(f"  {name:<11} not installed — {entry['hint']}")
        state = (
            "ok" if db.get("ok") else db.get("error", f"revision {db.get('revision')} (head {HEAD_REVISION})")
        )
        print(f"  database    {db['url']}  schema {db.get('revision')} / head {HEAD_REVISION}: {state}")
        iso = report["isolation"]
        print(
            f"  isolation   {iso['mode']}"
            + (f" ({iso['bwrap']['reason']})" if iso["bwrap"]["reason"] else "")
        )
        for layer in iso["layers"]:
            print(f"              + {layer}")
        for missing in iso["not_in_force"]:
            print(f"              - not in force: {missing}")
        d = report["decks"]
        print(
            f"  decks       {d['decks']} decks, {d['cards']} cards, {d['problems']} problems, "
            f"{d['stale']} stale (quiz deck check)"
        )
    ok = db.get("ok") and all(e.get("worker", "ok") == "ok" for e in report["backends"].values())
    return 0 if ok else 1
