"""Settings: defaults, the learner's config file, environment and command line, in that order."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quiz import paths

# `quiz` starts through this module: the TOML reader is imported only when there is a file to read,
# and the scheduling settings only when asked for (start-up time is part of the product).
if TYPE_CHECKING:
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
    # The language of card text and of the app's own words: en | zh (quiz.core.i18n); a card
    # without text in it falls back to English.
    lang: str = "en"
    deck_dirs: tuple[str, ...] = field(default_factory=tuple)
    # The queue (quiz.core.queue): a cap on review cards a day (None: no cap), the order new cards
    # come in, and whether answering a card hides its siblings on the other backends until tomorrow.
    reviews_per_day: int | None = None
    new_card_order: str = "by-topic"
    bury_siblings: bool = False
    # FSRS weights fitted to this learner's history by `quiz optimize` (empty: fsrs's defaults).
    fsrs_parameters: tuple[float, ...] = ()
    # Run cards of decks that do not ship with quiz even where card code is only partly isolated
    # (no bubblewrap): config.toml, QUIZ_ALLOW_UNISOLATED=1 or --allow-unisolated. runner/isolation.py
    allow_unisolated: bool = False
    # The biggest deck file the library reads (quiz.core.decks.DeckLimits): raise them for a huge deck.
    deck_max_bytes: int = 2_000_000
    deck_max_cards: int = 2_000
    # Keys set by the environment or the command line for this run: the Settings screen leaves them be.
    pinned: tuple[str, ...] = ()

    def scheduling(self) -> SchedulingSettings:
        from quiz.core.scheduling import SchedulingSettings

        return SchedulingSettings(
            desired_retention=self.desired_retention,
            new_per_day=self.new_per_day,
            parameters=self.fsrs_parameters,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def config_file() -> Path:
    return paths.config_dir() / "config.toml"


class SettingsError(ValueError):
    pass


# What the learner changes in the app's Settings screen; saved per profile (see save_learner_settings).
LEARNER_KEYS = (
    "backends",
    "device",
    "new_per_day",
    "desired_retention",
    "theme",
    "reviews_per_day",
    "new_card_order",
    "bury_siblings",
    "fsrs_parameters",
    "lang",
)


# Checked in config.toml too (the older keys keep their lenient reading there).
CHECKED_KEYS = ("reviews_per_day", "new_card_order", "bury_siblings", "fsrs_parameters")


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
        elif key == "lang":
            out[key] = _language(value)
        elif key == "reviews_per_day":
            if value is None or value == "":
                out[key] = None
            elif isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100_000:
                raise SettingsError(
                    f"reviews per day must be a whole number from 0 to 100000 (or empty: no cap), not {value!r}"
                )
            else:
                out[key] = value
        elif key == "new_card_order":
            out[key] = _new_card_order(value)
        elif key == "bury_siblings":
            if not isinstance(value, bool):
                raise SettingsError(f"bury_siblings must be true or false, not {value!r}")
            out[key] = value
        elif key == "fsrs_parameters":
            out[key] = _fsrs_parameters(value)
    return out


def _new_card_order(value: Any) -> str:
    from quiz.core.queue import NEW_CARD_ORDERS

    name = value.strip().lower().replace(" ", "-").replace("_", "-") if isinstance(value, str) else value
    if name not in NEW_CARD_ORDERS:
        raise SettingsError(f"new card order must be one of {', '.join(NEW_CARD_ORDERS)}, not {value!r}")
    return str(name)


def _fsrs_parameters(value: Any) -> tuple[float, ...]:
    """Empty (fsrs's defaults) or a full set of FSRS weights, each a finite number within fsrs's bounds."""
    import math

    from quiz.core.scheduling import check_parameters

    if not isinstance(value, (list, tuple)) or any(
        isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) for v in value
    ):
        raise SettingsError(f"fsrs_parameters must be a list of numbers, not {value!r}")
    if not value:
        return ()
    problem = check_parameters(tuple(float(v) for v in value))
    if problem:
        raise SettingsError(f"fsrs_parameters: {problem}")
    return tuple(float(v) for v in value)


def _language(value: Any) -> str:
    from quiz.core.i18n import check_language

    try:
        return check_language(value)
    except ValueError as exc:
        raise SettingsError(str(exc)) from None


def read_learner_settings(profile: str) -> dict[str, Any]:
    """The saved settings of `profile` ({} when none, or when the file is unreadable: defaults apply)."""
    path = learner_settings_file(profile)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return {}
    import tomllib

    try:
        return check_learner_settings(tomllib.loads(text))
    except (tomllib.TOMLDecodeError, SettingsError):
        return {}


def save_learner_settings(profile: str, values: dict[str, Any]) -> Path:
    """Write the learner's settings for `profile` (validated; atomically). Returns the file."""
    import json

    checked = check_learner_settings(values)
    path = learner_settings_file(profile)
    lines = ["# Written by quiz's Settings screen (quiz, then `,`). Per profile; config.toml holds the rest."]
    for key in LEARNER_KEYS:
        if key in checked and checked[key] is not None:  # TOML has no null: an absent key is the default
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
    lang: str | None = None,
    allow_unisolated: bool | None = None,
) -> Settings:
    """Defaults < config.toml < the profile's saved settings < QUIZ_* variables < explicit arguments (CLI)."""
    settings = Settings()
    path = config_file()
    if path.exists():
        import tomllib

        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, OSError) as exc:
            raise SettingsError(f"{path}: {exc}") from None
        known = {f.name for f in fields(Settings)} - {"pinned"}
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known}
        try:  # the queue and scheduling keys are checked wherever they are set
            values.update(check_learner_settings({k: v for k, v in values.items() if k in CHECKED_KEYS}))
        except SettingsError as exc:
            raise SettingsError(f"{path}: {exc}") from None
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
    if lang:
        settings = replace(settings, lang=lang)
        pinned.append("lang")
    settings = replace(settings, pinned=tuple(pinned))
    if not settings.db_url:
        settings = replace(settings, db_url=paths.default_db_url())
    if not isinstance(settings.allow_unisolated, bool):
        raise SettingsError(f"allow_unisolated must be true or false, not {settings.allow_unisolated!r}")
    if settings.device not in DEVICES:
        raise SettingsError(f"device must be one of {', '.join(DEVICES)}, not {settings.device!r}")
    settings = replace(settings, lang=_language(settings.lang))  # config.toml is not checked on the way in
    for key in ("deck_max_bytes", "deck_max_cards"):
        value = getattr(settings, key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SettingsError(f"{path}: {key} must be a whole number above 0, not {value!r}")
    return settings
