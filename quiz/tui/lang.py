"""The reader's language for a screen or widget: the app's `lang` setting (quiz.core.i18n has the words)."""

from __future__ import annotations

from typing import Any

from quiz.core.i18n import DEFAULT_LANGUAGE


def lang_of(node: Any) -> str:
    """`node.app.settings.lang`, English when the app has no settings (a widget tested alone)."""
    try:
        settings = getattr(node.app, "settings", None)
    except Exception:  # not attached to a running app
        return DEFAULT_LANGUAGE
    return str(getattr(settings, "lang", DEFAULT_LANGUAGE))
