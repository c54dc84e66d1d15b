"""Deck files as bytes: which files, read within the size limits, and the Problem that stops one.

Split from `quiz.core.decks` (which re-exports all of it) so that what only reads and hashes
deck files does not import the parser: the prepared start fingerprints the library on the
first-paint path (`quiz.library.fingerprint`), and the parser with its TOML reader and
expression compiler then loads after the first card is on screen.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_LIMITS",
    "LINK_REFUSED",
    "DeckLimits",
    "Problem",
    "deck_files",
    "read_deck_bytes",
    "too_big",
]


@dataclass(frozen=True, slots=True)
class DeckLimits:
    """How big one deck file may be; raised with `deck_max_bytes` / `deck_max_cards` in config.toml.

    Parsing costs about a millisecond and a few kilobytes per card: a 50 MB file
    of 300,000 cards took 28 s and 930 MB before it was refused.
    """

    max_bytes: int = 2_000_000
    max_cards: int = 2_000


DEFAULT_LIMITS = DeckLimits()


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a deck file, located for the author."""

    path: str
    line: int | None
    card_id: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        card = f" card {self.card_id!r}:" if self.card_id else ""
        return f"{where}:{card} {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.path, "line": self.line, "card": self.card_id, "message": self.message}


def deck_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand directories to their `*.toml` files, sorted; keep files as given."""
    out: list[Path] = []
    for p in map(Path, paths):
        try:
            if p.is_dir():
                out.extend(sorted(p.glob("*.toml")))
                continue
        except OSError:
            pass
        out.append(p)
    return out


def read_deck_bytes(
    path: Path, limits: DeckLimits = DEFAULT_LIMITS, *, refuse_links: bool = False
) -> bytes | Problem:
    """The file's bytes, or the Problem that stops it (missing, unreadable, too big).

    The size is checked on the open file before reading, and no more than the
    limit is ever read, so a huge file costs nothing. `refuse_links`: a
    symbolic link, or a file with other hard links, is refused (the added-decks
    folder, where a link could put a deck nobody trusted behind a trusted name).
    """
    if refuse_links:
        try:
            if stat.S_ISLNK(os.lstat(path).st_mode):
                return Problem(str(path), None, None, LINK_REFUSED)
        except OSError:
            pass  # reported by the open below
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | (getattr(os, "O_NOFOLLOW", 0) if refuse_links else 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return Problem(str(path), None, None, "no such file")
    except IsADirectoryError:
        return Problem(str(path), None, None, "is a directory (give a .toml file, or the folder alone)")
    except OSError as exc:
        if refuse_links and exc.errno == errno.ELOOP:  # became a link after the look above
            return Problem(str(path), None, None, LINK_REFUSED)
        return Problem(str(path), None, None, f"cannot read: {exc.strerror or exc}")
    try:
        try:
            st = os.fstat(fd)
            if stat.S_ISDIR(st.st_mode):
                return Problem(
                    str(path), None, None, "is a directory (give a .toml file, or the folder alone)"
                )
            if refuse_links and (not stat.S_ISREG(st.st_mode) or st.st_nlink > 1):
                return Problem(
                    str(path),
                    None,
                    None,
                    f"refused: the file has {st.st_nlink} hard links, so it can change through another "
                    "name without asking you; add the deck as a file of its own: `quiz deck add FILE`"
                    if stat.S_ISREG(st.st_mode)
                    else "refused: not a regular file",
                )
            if st.st_size > limits.max_bytes:
                return too_big(str(path), st.st_size, limits)
            with os.fdopen(os.dup(fd), "rb") as f:
                raw = f.read(limits.max_bytes + 1)
        except OSError as exc:
            return Problem(str(path), None, None, f"cannot read: {exc.strerror or exc}")
    finally:
        os.close(fd)
    if len(raw) > limits.max_bytes:  # it grew after the size was read
        return too_big(str(path), len(raw), limits)
    return raw


LINK_REFUSED = (
    "refused: a symbolic link in the added-decks folder (it could point at a deck you never trusted); "
    "add the deck itself: `quiz deck add FILE`"
)


def too_big(path: str, size: int, limits: DeckLimits) -> Problem:
    return Problem(
        path,
        None,
        None,
        f"the deck file is {_megabytes(size)}, more than the {_megabytes(limits.max_bytes)} one deck file "
        "may hold; split it into several decks, or raise `deck_max_bytes` in config.toml",
    )


def _megabytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n:,} bytes"
