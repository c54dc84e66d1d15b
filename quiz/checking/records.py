"""The truths `quiz deck check` saw, per (card, seed) and framework versions, and the stale cards.

Stored as one JSON file in the app's data dir (`deck-checks.json`):

    {"format": 1,
     "checks": [{"at": "...", "versions": {"torch": "2.13.0", ...}, "cards": 349, "failed": 2}],
     "cards": {"deck/card": {"fingerprint": "…", "versions": {"torch": "2.13.0"},
                              "truths": {"0": [2, 3], "1": [4, 3]}, "checked_at": "…"}},
     "stale": {"deck/card": {"before": {"torch": "2.12.0"}, "after": {"torch": "2.13.0"},
                              "seeds": [0, 3], "was": {"0": …}, "now": {"0": …}, "found_at": "…"}}}

A card is *stale* when the last check that ran it on different framework
versions than the check before gave a different truth for the same seed:
what the learner learned about it may no longer hold. The fingerprint covers
what decides the truth (kind, code, answer, variables...), so editing a
card's code starts its record afresh instead of reporting it stale.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from quiz.core.cards import Card

__all__ = ["FILENAME", "Records", "StaleCard", "fingerprint", "records_path", "stale_count"]

FILENAME = "deck-checks.json"
FORMAT = 1
KEEP_CHECKS = 20


def records_path() -> Path:
    from quiz import paths

    return paths.data_dir() / FILENAME


def fingerprint(card: Card) -> str:
    """A digest of everything that decides a card's truth for a seed (not its prompt or explanation)."""
    material = json.dumps(
        {
            "backend": card.backend.value,
            "kind": card.kind.value,
            "code": card.code,
            "answer": card.answer,
            "result": card.result,
            "choices": list(card.choices),
            "vars": [[name, spec] for name, spec in card.variables],
            "assume": list(card.assume),
        },
        sort_keys=True,
        default=repr,
    )
    return hashlib.sha256(material.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class StaleCard:
    """A card whose truth changed between two framework versions."""

    uid: str
    before: dict[str, str]
    after: dict[str, str]
    seeds: tuple[int, ...]
    was: dict[str, Any]
    now: dict[str, Any]
    found_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "card": self.uid,
            "before": self.before,
            "after": self.after,
            "seeds": list(self.seeds),
            "was": self.was,
            "now": self.now,
            "found_at": self.found_at,
        }

    @staticmethod
    def from_dict(uid: str, d: Mapping[str, Any]) -> StaleCard:
        return StaleCard(
            uid=uid,
            before=dict(d.get("before", {})),
            after=dict(d.get("after", {})),
            seeds=tuple(int(s) for s in d.get("seeds", [])),
            was=dict(d.get("was", {})),
            now=dict(d.get("now", {})),
            found_at=str(d.get("found_at", "")),
        )

    def describe(self) -> str:
        changed = [
            k for k in sorted(set(self.before) | set(self.after)) if self.before.get(k) != self.after.get(k)
        ]
        versions = ", ".join(f"{k} {self.before.get(k, '?')} → {self.after.get(k, '?')}" for k in changed)
        seed = str(self.seeds[0]) if self.seeds else ""
        example = f"; seed {seed}: {self.was.get(seed)!r} then {self.now.get(seed)!r}" if seed else ""
        return f"{self.uid} ({versions}{example})"


@dataclass(frozen=True, slots=True)
class Comparison:
    """What one card's new truths say against its record."""

    stale: StaleCard | None = None
    unstable_seeds: tuple[int, ...] = ()  # same versions, same card, another truth
    previous: dict[str, Any] = field(default_factory=dict)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Records:
    """The record file, loaded; `save()` writes it back atomically."""

    def __init__(self, path: Path, data: dict[str, Any], warning: str | None = None) -> None:
        self.path = path
        self.data = data
        self.warning = warning
        self._touched: set[str] = set()
        self._new_checks: list[dict[str, Any]] = []

    @classmethod
    def load(cls, path: Path | None = None) -> Records:
        """Read the records (an empty set when there are none). A damaged file is set aside, not lost."""
        path = path or records_path()
        empty: dict[str, Any] = {"format": FORMAT, "checks": [], "cards": {}, "stale": {}}
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(path, empty)
        except OSError as exc:
            return cls(path, empty, f"cannot read {path}: {exc.strerror or exc}")
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("format") != FORMAT:
                raise ValueError("not a deck-check record file of format 1")
            for key in ("checks", "cards", "stale"):
                if not isinstance(data.get(key), (list if key == "checks" else dict)):
                    raise ValueError(f"`{key}` is damaged")
        except ValueError as exc:
            aside = path.with_name(f"{path.name}.damaged-{int(time.time())}")
            with contextlib.suppress(OSError):
                path.replace(aside)
            return cls(
                path, empty, f"{path} was damaged ({exc}); moved it to {aside.name} and started afresh"
            )
        return cls(path, data)

    # --- reading -----------------------------------------------------------------

    def stale(self) -> list[StaleCard]:
        return [
            StaleCard.from_dict(uid, d)
            for uid, d in sorted(self.data["stale"].items())
            if isinstance(d, dict)
        ]

    def last_check(self) -> dict[str, Any] | None:
        checks = self.data["checks"]
        return checks[-1] if checks else None

    # --- updating ----------------------------------------------------------------

    def compare(
        self,
        card: Card,
        versions: Mapping[str, str],
        truths: Mapping[int, Any],
        same: Callable[[Any, Any], bool],
    ) -> Comparison:
        """Compare `truths` (seed → truth) with the card's record, and update the stale list."""
        uid = card.uid
        prev = self.data["cards"].get(uid)
        fp = fingerprint(card)
        if not isinstance(prev, dict) or prev.get("fingerprint") != fp:
            self.data["stale"].pop(uid, None)  # a new or edited card: nothing to compare with
            self._touched.add(uid)
            return Comparison()
        old_truths: dict[str, Any] = prev["truths"] if isinstance(prev.get("truths"), dict) else {}
        old_versions: dict[str, Any] = prev["versions"] if isinstance(prev.get("versions"), dict) else {}
        changed = tuple(
            seed
            for seed in sorted(truths)
            if str(seed) in old_truths and not same(old_truths[str(seed)], truths[seed])
        )
        if dict(old_versions) == dict(versions):
            return Comparison(unstable_seeds=changed, previous=dict(old_truths))
        if changed:
            stale = StaleCard(
                uid=uid,
                before={str(k): str(v) for k, v in old_versions.items()},
                after=dict(versions),
                seeds=changed,
                was={str(s): old_truths[str(s)] for s in changed},
                now={str(s): truths[s] for s in changed},
                found_at=_now(),
            )
            self.data["stale"][uid] = {k: v for k, v in stale.to_dict().items() if k != "card"}
            self._touched.add(uid)
            return Comparison(stale=stale, previous=dict(old_truths))
        self.data["stale"].pop(uid, None)
        self._touched.add(uid)
        return Comparison(previous=dict(old_truths))

    def record(self, card: Card, versions: Mapping[str, str], truths: Mapping[int, Any]) -> None:
        """Keep the truths this check saw (merged over seeds not run this time)."""
        uid = card.uid
        fp = fingerprint(card)
        prev = self.data["cards"].get(uid)
        kept: dict[str, Any] = {}
        if (
            isinstance(prev, dict)
            and prev.get("fingerprint") == fp
            and prev.get("versions") == dict(versions)
        ):
            kept = dict(prev.get("truths") or {})
        kept.update({str(seed): truth for seed, truth in truths.items()})
        self.data["cards"][uid] = {
            "fingerprint": fp,
            "versions": dict(versions),
            "truths": kept,
            "checked_at": _now(),
        }
        self._touched.add(uid)

    def add_check(self, versions: Mapping[str, str], cards: int, failed: int) -> None:
        entry = {"at": _now(), "versions": dict(versions), "cards": cards, "failed": failed}
        self.data["checks"].append(entry)
        del self.data["checks"][:-KEEP_CHECKS]
        self._new_checks.append(entry)

    def save(self) -> None:
        """Write back, merging into what another check may have saved meanwhile."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(self.path):
            current = Records.load(self.path)
            if current.warning is None and current.data is not self.data:
                merged = current.data
                for uid in self._touched:
                    for key in ("cards", "stale"):
                        if uid in self.data[key]:
                            merged[key][uid] = self.data[key][uid]
                        else:
                            merged[key].pop(uid, None)
                merged["checks"].extend(self._new_checks)
                del merged["checks"][:-KEEP_CHECKS]
                self.data = merged
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(self.data, indent=1, sort_keys=True, default=repr), encoding="utf-8")
            os.replace(tmp, self.path)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialise writers (two checks at once) on a lock file next to the records."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path.with_name(f".{path.name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def stale_count(path: Path | None = None) -> int:
    """How many cards the recorded checks found stale (for `quiz doctor`); 0 without records."""
    path = path or records_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0
    stale = data.get("stale") if isinstance(data, dict) else None
    return len(stale) if isinstance(stale, dict) else 0
