"""Cache files only this learner's quiz can have written: JSON, sealed with an HMAC.

A cache is read at start-up and trusted (a parsed deck's code runs; a
prepared card is shown and graded), and a cache folder is a place other code
might write. So caches are never pickles — reading one cannot execute
anything — and each carries an HMAC-SHA256 of its bytes under a random key
kept in the data dir (mode 0600, apart from the caches): a file written or
edited by anything without that key is ignored, as if there were no cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import stat
from pathlib import Path
from typing import Any

__all__ = ["read_sealed", "write_sealed"]

MAGIC = b"quiz-sealed-json 1 "
KEY_FILE = "cache.key"


def _key() -> bytes | None:
    """The learner's cache key, made on first use; None when it cannot be read or made (no caching)."""
    from quiz import paths

    path = paths.data_dir() / KEY_FILE
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    except OSError:
        return None
    import secrets

    tmp = path.with_name(f".{KEY_FILE}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(32))
        os.link(tmp, path)  # never replaces a key another process made meanwhile
    except FileExistsError:
        pass
    except OSError:
        return None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    try:
        return _read_key(path)
    except OSError:
        return None


def _read_key(path: Path) -> bytes | None:
    """The key, if it is a file of this user's that nobody else can read or write (never through a link)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
            return None
        key = os.read(fd, 256)
    finally:
        os.close(fd)
    return key if len(key) >= 32 else None


def _mac(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, body, hashlib.sha256).hexdigest().encode()


def write_sealed(path: Path, data: Any) -> bool:
    """Write `data` as sealed JSON, atomically. False when it could not be written (only costs speed)."""
    key = _key()
    if key is None:
        return False
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(MAGIC + _mac(key, body) + b"\n" + body)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        return False
    return True


def read_sealed(path: Path) -> Any | None:
    """The data, if the file is intact and sealed with this learner's key; else None."""
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    head, nl, body = raw.partition(b"\n")
    if not nl or not head.startswith(MAGIC):
        return None
    key = _key()
    if key is None or not hmac.compare_digest(head[len(MAGIC) :], _mac(key, body)):
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None
