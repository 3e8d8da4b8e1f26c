"""The application database: users (argon2 password hashes), API tokens, login sessions, the
audit log and the secret that signs CSRF tokens, in one SQLite file.

SQLite is enough for a team: the dashboard writes only logins and audit rows. WAL mode lets
several server workers read and write it at once. Tokens and session ids are random; only their
SHA-256 digests are stored, so a copy of the database does not let anyone sign in."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from cwoutcomes.errors import CwoutcomesError

ROLES = ("county", "state")  # "public" is everyone who is not signed in
SESSION_HOURS = 12
LOCKOUT_FAILURES = 10  # failed logins for one user name within LOCKOUT_MINUTES
LOCKOUT_MINUTES = 15

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('county', 'state')),
    counties TEXT NOT NULL DEFAULT '[]',
    password_hash TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    session_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    username TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    masked INTEGER,
    path TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}',
    client TEXT
);
CREATE INDEX IF NOT EXISTS audit_user_at ON audit_log (username, at);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class User:
    username: str
    role: str
    counties: tuple[str, ...]
    created_at: str = ""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _stamp(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds")


class AppDatabase:
    """All reads and writes of the application database. One connection per thread, because
    the server answers requests on a thread pool."""

    def __init__(self, path: Path | str, *, hasher: PasswordHasher | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        # argon2id with the library's defaults (RFC 9106 low-memory profile); tests pass a
        # cheaper hasher to stay fast.
        self._hasher = hasher or PasswordHasher()
        with self._connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            con.execute("PRAGMA foreign_keys=ON")
            con.execute("PRAGMA busy_timeout=30000")
            self._local.con = con
        return con

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None

    # -- settings -----------------------------------------------------------------------
    def secret_key(self) -> str:
        """The key that signs CSRF tokens; made once and kept, so restarts keep forms valid."""
        con = self._connect()
        con.execute("INSERT OR IGNORE INTO settings VALUES ('secret_key', ?)", (secrets.token_hex(32),))
        return con.execute("SELECT value FROM settings WHERE key = 'secret_key'").fetchone()[0]

    # -- users ----------------------------------------------------------------------------
    def add_user(self, username: str, role: str, counties: Iterable[str] = (), password: str | None = None) -> User:
        username = username.strip()
        if not username or len(username) > 64 or any(ch.isspace() for ch in username):
            raise CwoutcomesError(f"user name {username!r}: use 1-64 characters without spaces")
        if role not in ROLES:
            raise CwoutcomesError(f"role {role!r}: use one of {', '.join(ROLES)} (public needs no account)")
        counties = tuple(dict.fromkeys(c.strip() for c in counties if c.strip()))
        if role == "county" and not counties:
            raise CwoutcomesError("a county user needs at least one --county")
        if role == "state" and counties:
            raise CwoutcomesError("a state user sees every county; leave out --county")
        if password is not None and len(password) < 12:
            raise CwoutcomesError("password: use at least 12 characters")
        hashed = self._hasher.hash(password) if password is not None else None
        try:
            self._connect().execute(
                "INSERT INTO users VALUES (?, ?, ?, ?, ?)",
                (username, role, json.dumps(list(counties)), hashed, _stamp(_now())),
            )
        except sqlite3.IntegrityError:
            raise CwoutcomesError(f"user {username!r} exists already (remove it first)") from None
        return User(username, role, counties)

    def remove_user(self, username: str) -> None:
        """Removes the user with their tokens and sessions (the audit log keeps their name)."""
        cursor = self._connect().execute("DELETE FROM users WHERE username = ?", (username,))
        if cursor.rowcount == 0:
            raise CwoutcomesError(f"no user {username!r}")

    def users(self) -> list[User]:
        rows = self._connect().execute(
            "SELECT username, role, counties, created_at FROM users ORDER BY username"
        ).fetchall()
        return [User(name, role, tuple(json.loads(counties)), created) for name, role, counties, created in rows]

    def user(self, username: str) -> User | None:
        row = self._connect().execute(
            "SELECT username, role, counties, created_at FROM users WHERE username = ?", (username,)
        ).fetchone()
        return None if row is None else User(row[0], row[1], tuple(json.loads(row[2])), row[3])

    def check_password(self, username: str, password: str) -> User | None:
        row = self._connect().execute(
            "SELECT password_hash FROM users WHERE username = ?", (username,)
        ).fetchone()
        if row is None or row[0] is None:
            # Hash anyway so that timing does not tell which user names exist.
            self._hasher.hash(password)
            return None
        try:
            self._hasher.verify(row[0], password)
        except (VerificationError, InvalidHashError):
            return None
        return self.user(username)

    def recent_failures(self, username: str) -> int:
        since = _stamp(_now() - dt.timedelta(minutes=LOCKOUT_MINUTES))
        return self._connect().execute(
            "SELECT count(*) FROM audit_log WHERE username = ? AND action = 'login_failed' AND at >= ?",
            (username, since),
        ).fetchone()[0]

    # -- tokens -------------------------------------------------------------------------
    def issue_token(self, username: str) -> str:
        if self.user(username) is None:
            raise CwoutcomesError(f"no user {username!r}")
        token = "cwo_" + secrets.token_urlsafe(32)
        self._connect().execute("INSERT INTO tokens VALUES (?, ?, ?)", (_digest(token), username, _stamp(_now())))
        return token

    def user_for_token(self, token: str) -> User | None:
        row = self._connect().execute(
            "SELECT username FROM tokens WHERE token_hash = ?", (_digest(token),)
        ).fetchone()
        return None if row is None else self.user(row[0])

    def token_count(self, username: str) -> int:
        return self._connect().execute("SELECT count(*) FROM tokens WHERE username = ?", (username,)).fetchone()[0]

    # -- sessions -----------------------------------------------------------------------
    def open_session(self, username: str) -> str:
        session = secrets.token_urlsafe(32)
        now = _now()
        con = self._connect()
        con.execute("DELETE FROM sessions WHERE expires_at < ?", (_stamp(now),))
        con.execute("INSERT INTO sessions VALUES (?, ?, ?, ?)",
                    (_digest(session), username, _stamp(now), _stamp(now + dt.timedelta(hours=SESSION_HOURS))))
        return session

    def user_for_session(self, session: str) -> User | None:
        row = self._connect().execute(
            "SELECT username FROM sessions WHERE session_hash = ? AND expires_at >= ?",
            (_digest(session), _stamp(_now())),
        ).fetchone()
        return None if row is None else self.user(row[0])

    def close_session(self, session: str) -> None:
        self._connect().execute("DELETE FROM sessions WHERE session_hash = ?", (_digest(session),))

    # -- audit log ----------------------------------------------------------------------
    def audit(self, *, username: str, role: str, action: str, path: str, masked: bool | None = None,
              detail: dict | None = None, client: str | None = None) -> None:
        self._connect().execute(
            "INSERT INTO audit_log (at, username, role, action, masked, path, detail, client) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (_stamp(_now()), username, role, action, None if masked is None else int(masked), path,
             json.dumps(detail or {}, sort_keys=True), client),
        )

    def audit_rows(self, limit: int = 200, username: str | None = None) -> list[dict]:
        query = "SELECT id, at, username, role, action, masked, path, detail, client FROM audit_log"
        params: tuple = ()
        if username:
            query += " WHERE username = ?"
            params = (username,)
        rows = self._connect().execute(query + " ORDER BY id DESC LIMIT ?", (*params, limit)).fetchall()
        keys = ("id", "at", "username", "role", "action", "masked", "path", "detail", "client")
        out = []
        for row in rows:
            record = dict(zip(keys, row))
            record["masked"] = None if record["masked"] is None else bool(record["masked"])
            record["detail"] = json.loads(record["detail"])
            out.append(record)
        return out
