"""Settings: defaults, the learner's config file, environment and command line, in that order."""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from quiz import paths
from quiz.core.scheduling import SchedulingSettings

DEVICES = ("auto", "cpu", "gpu")


@dataclass(frozen=True)
class Settings:
    db_url: str = ""
    profile: str = "default"
    device: str = "auto"
    worker_idle_s: float = 600.0  # a framework worker unused this long exits (0: never); runner/client.py
    backends: tuple[str, ...] = ("torch", "tensorflow", "mxnet")
    new_per_day: int = 20
    desired_retention: float = 0.9
    theme: str = "textual-dark"
    deck_dirs: tuple[str, ...] = field(default_factory=tuple)
    # Run cards of decks that do not ship with quiz even where card code is only partly isolated
    # (no bubblewrap): config.toml, QUIZ_ALLOW_UNISOLATED=1 or --allow-unisolated. runner/isolation.py
    allow_unisolated: bool = False
    # Keys set by the environment or the command line for this run: the Settings screen leaves them be.
    pinned: tuple[str, ...] = ()

    def scheduling(self) -> SchedulingSettings:
        return SchedulingSettings(desired_retention=self.desired_retention, new_per_day=self.new_per_day)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def config_file() -> Path:
    return paths.config_dir() / "config.toml"


class SettingsError(ValueError):
    pass


# What the learner changes in the app's Settings screen; saved per profile (see save_learner_settings).
LEARNER_KEYS = ("backends", "device", "new_per_day", "desired_retention", "theme")


def learner_settings_file(profile: str) -> Path:
    """The learner's own settings, written by the app: `profiles/<profile>.toml` in the config dir."""
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in profile) or "_"
    return paths.config_dir() / "profiles" / f"{safe}.toml"


def check_learner_settings(values: dict[str, Any]) -> dict[str, Any]:
    """The learner's settings, validated and normalised; raises SettingsError naming the bad one."""
    from quiz.core.cards import BACKENDS

    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in LEARNER_KEYS:
            continue
        if key == "backends":
            names = tuple(value) if isinstance(value, (list, tuple)) else ()
            if not names or any(n not in BACKENDS for n in names):
                raise SettingsError(
                    f"backends must be a non-empty list of {', '.join(BACKENDS)}, not {value!r}"
                )
            out[key] = tuple(n for n in BACKENDS if n in names)
        elif key == "device":
            if value not in DEVICES:
                raise SettingsError(f"device must be one of {', '.join(DEVICES)}, not {value!r}")
            out[key] = value
        elif key == "new_per_day":
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1000:
                raise SettingsError(f"new cards per day must be a whole number from 0 to 1000, not {value!r}")
            out[key] = value
        elif key == "desired_retention":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.7 <= value <= 0.99:
                raise SettingsError(f"desired retention must be from 0.70 to 0.99, not {value!r}")
            out[key] = float(value)
        elif key == "theme":
            if not isinstance(value, str) or not value.strip():
                raise SettingsError(f"theme must be a theme name, not {value!r}")
            out[key] = value.strip()
    return out


def read_learner_settings(profile: str) -> dict[str, Any]:
    """The saved settings of `profile` ({} when none, or when the file is unreadable: defaults apply)."""
    path = learner_settings_file(profile)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return check_learner_settings(data)
    except (OSError, tomllib.TOMLDecodeError, SettingsError):
        return {}


def save_learner_settings(profile: str, values: dict[str, Any]) -> Path:
    """Write the learner's settings for `profile` (validated; atomically). Returns the file."""
    import json

    checked = check_learner_settings(values)
    path = learner_settings_file(profile)
    lines = ["# Written by quiz's Settings screen (quiz, then `,`). Per profile; config.toml holds the rest."]
    for key in LEARNER_KEYS:
        if key in checked:
            value = checked[key]
            # JSON strings, numbers and lists of strings are valid TOML values.
            lines.append(f"{key} = {json.dumps(list(value) if isinstance(value, tuple) else value)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def load_settings(
    *,
    db_url: str | None = None,
    device: str | None = None,
    profile: str | None = None,
    allow_unisolated: bool | None = None,
) -> Settings:
    """Defaults < config.toml < the profile's saved settings < QUIZ_* variables < explicit arguments (CLI)."""
    settings = Settings()
    path = config_file()
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, OSError) as exc:
            raise SettingsError(f"{path}: {exc}") from None
        known = {f.name for f in fields(Settings)} - {"pinned"}
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known}
        settings = replace(settings, **values)  # type: ignore[arg-type]
    learner = read_learner_settings(profile or os.environ.get("QUIZ_PROFILE") or settings.profile)
    settings = replace(settings, **learner)  # type: ignore[arg-type]
    pinned: list[str] = []
    if os.environ.get("QUIZ_DB"):
        settings = replace(settings, db_url=os.environ["QUIZ_DB"])
    if os.environ.get("QUIZ_PROFILE"):
        settings = replace(settings, profile=os.environ["QUIZ_PROFILE"])
    if os.environ.get("QUIZ_ALLOW_UNISOLATED", "").lower() in ("1", "true", "yes"):
        settings = replace(settings, allow_unisolated=True)
    if allow_unisolated:
        settings = replace(settings, allow_unisolated=True)
    if db_url:
        settings = replace(settings, db_url=db_url)
    if device:
        settings = replace(settings, device=device)
        pinned.append("device")
    if profile:
        settings = replace(settings, profile=profile)
    settings = replace(settings, pinned=tuple(pinned))
    if not settings.db_url:
        settings = replace(settings, db_url=paths.default_db_url())
    if not isinstance(settings.allow_unisolated, bool):
        raise SettingsError(f"allow_unisolated must be true or false, not {settings.allow_unisolated!r}")
    if settings.device not in DEVICES:
        raise SettingsError(f"device must be one of {', '.join(DEVICES)}, not {settings.device!r}")
    return settings
