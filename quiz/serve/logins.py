"""Learner logins for `quiz serve`: one-time sign-in tokens, browser sessions, and taking them away.

The instructor's `quiz class add-learner NAME` makes a token and shows it
once; the database keeps only its sha256. Redeeming it (a POST from the
sign-in page) marks it used and opens a browser session, whose random id
lives in an HttpOnly cookie and, again, only as a sha256 in the database.
Every check looks the digest up and compares it in constant time; sessions
expire, and `quiz class remove-learner` deletes the learner's tokens and
sessions, which ends the apps a running server has open for them.

The secrets are 256 random bits, so a plain sha256 is enough: there is no
password to guess offline.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from quiz.store.db import Store
from quiz.store.models import Profile, SignInToken, WebSession

__all__ = [
    "LoginError",
    "Issued",
    "Removed",
    "SignedIn",
    "add_learner",
    "remove_learner",
    "redeem",
    "token_owner",
    "session_profile",
    "end_session",
    "prune",
    "check_name",
    "digest",
    "TOKEN_DAYS",
    "SESSION_HOURS",
]

TOKEN_DAYS = 7.0  # a sign-in link unused this long stops working
SESSION_HOURS = 12.0  # a class day: then the learner signs in again
# Letters, digits, - and _: the name is also a file name (the learner's settings) and shows in reports.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


class LoginError(ValueError):
    """A bad learner name or an unusable request; the message is for the instructor."""


@dataclass(frozen=True)
class Issued:
    profile: str
    token: str  # shown once; the database has only its sha256
    expires_at: datetime
    new_profile: bool


@dataclass(frozen=True)
class Removed:
    profile: str
    tokens: int
    sessions: int


@dataclass(frozen=True)
class SignedIn:
    profile: str
    session: str  # the cookie's value
    expires_at: datetime


def _now() -> datetime:
    return datetime.now(UTC)


def _rows(result: Any) -> int:
    """How many rows an UPDATE or DELETE touched."""
    return int(result.rowcount or 0)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise LoginError(
            f"learner name {name!r}: use 1 to 64 letters, digits, - or _ (starting with a letter or digit)"
        )
    return name


def add_learner(
    store: Store,
    name: str,
    *,
    display_name: str | None = None,
    valid: timedelta = timedelta(days=TOKEN_DAYS),
    now: datetime | None = None,
) -> Issued:
    """A new one-time sign-in for `name` (the profile is made if new); earlier unused ones stop working."""
    name = check_name(name)
    now = now or _now()
    token = secrets.token_urlsafe(32)
    with store.session() as s:
        profile = s.scalars(select(Profile).where(Profile.name == name)).first()
        new = profile is None
        if profile is None:
            s.add(Profile(name=name, display_name=display_name, created_at=now))
        elif display_name:
            profile.display_name = display_name
        s.execute(delete(SignInToken).where(SignInToken.profile == name, SignInToken.used_at.is_(None)))
        s.add(SignInToken(profile=name, token_sha256=digest(token), created_at=now, expires_at=now + valid))
        s.commit()
    return Issued(profile=name, token=token, expires_at=now + valid, new_profile=new)


def remove_learner(store: Store, name: str) -> Removed:
    """Take `name`'s access away: every sign-in token and session. Their reviews stay (the report)."""
    with store.session() as s:
        tokens = _rows(s.execute(delete(SignInToken).where(SignInToken.profile == name)))
        sessions = _rows(s.execute(delete(WebSession).where(WebSession.profile == name)))
        s.commit()
    return Removed(profile=name, tokens=tokens, sessions=sessions)


def redeem(
    store: Store,
    token: str,
    *,
    lifetime: timedelta = timedelta(hours=SESSION_HOURS),
    now: datetime | None = None,
) -> SignedIn | None:
    """Trade a sign-in token for a new session, once. None: unknown, used or expired (no reason given)."""
    now = now or _now()
    with store.session() as s:
        row = _token_row(s, token)
        if row is None:
            return None
        # Used and expiry are checked in the UPDATE itself: of two browsers redeeming the same
        # token at once, the second finds nothing left to update.
        used = _rows(
            s.execute(
                update(SignInToken)
                .where(SignInToken.id == row.id, SignInToken.used_at.is_(None), SignInToken.expires_at > now)
                .values(used_at=now)
            )
        )
        if used != 1:
            s.rollback()
            return None
        session = secrets.token_urlsafe(32)
        s.add(
            WebSession(
                profile=row.profile,
                session_sha256=digest(session),
                created_at=now,
                expires_at=now + lifetime,
                last_seen_at=now,
            )
        )
        s.commit()
    return SignedIn(profile=row.profile, session=session, expires_at=now + lifetime)


def token_owner(store: Store, token: str) -> str | None:
    """Whose sign-in token this is, used or expired alike (the sign-in limits count per learner); None if unknown."""
    with store.session() as s:
        row = _token_row(s, token)
    return None if row is None else str(row.profile)


def _token_row(s: Session, token: str) -> Any:
    """The sign-in token's row (id, profile), compared in constant time; None if unknown or malformed."""
    token = token.strip()
    if not token or len(token) > 200:
        return None
    wanted = digest(token)
    row = s.execute(
        select(SignInToken.id, SignInToken.profile, SignInToken.token_sha256).where(
            SignInToken.token_sha256 == wanted
        )
    ).first()
    if row is None or not hmac.compare_digest(row.token_sha256, wanted):
        return None
    return row


def _live_session(s: Session, session: str, now: datetime) -> WebSession | None:
    if not session or len(session) > 200:
        return None
    wanted = digest(session)
    row = s.scalars(select(WebSession).where(WebSession.session_sha256 == wanted)).first()
    if row is None or not hmac.compare_digest(row.session_sha256, wanted) or row.expires_at <= now:
        return None
    return row


def session_profile(
    store: Store, session: str, *, now: datetime | None = None, touch: bool = False
) -> str | None:
    """Whose live session this cookie is, or None (unknown, expired, signed out or removed)."""
    now = now or _now()
    with store.session() as s:
        row = _live_session(s, session, now)
        if row is None:
            return None
        if touch:
            row.last_seen_at = now
            s.commit()
        return row.profile


def end_session(store: Store, session: str) -> bool:
    """Sign out: the session is deleted. False when there was none."""
    with store.session() as s:
        gone = _rows(s.execute(delete(WebSession).where(WebSession.session_sha256 == digest(session))))
        s.commit()
    return bool(gone)


def prune(store: Store, *, now: datetime | None = None) -> int:
    """Delete expired sessions and tokens, and used tokens: rows that can never sign anyone in."""
    now = now or _now()
    with store.session() as s:
        n = _rows(s.execute(delete(WebSession).where(WebSession.expires_at <= now)))
        n += _rows(
            s.execute(
                delete(SignInToken).where((SignInToken.expires_at <= now) | SignInToken.used_at.is_not(None))
            )
        )
        s.commit()
    return n
