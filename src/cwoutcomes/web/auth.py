"""Who is asking and what they may see.

Roles: `public` (nobody signed in: masked aggregates only), `county` (unmasked results of their
own counties), `state` (everything). A view is either wholly unmasked or wholly masked: mixing
a county's unmasked cells into a masked table of all counties would undo the complementary
suppression of G14, so a county user sees comparisons across counties masked.

Signed-in browsers carry a random session id in a cookie (HttpOnly, SameSite=Lax, Secure
unless the server is told otherwise); scripts send `Authorization: Bearer <token>`. Forms carry
a CSRF token: an HMAC of a random per-browser cookie, checked on every POST."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Iterable

from fastapi import Request

from cwoutcomes.model.tables import STATE
from cwoutcomes.web.appdb import AppDatabase, User


class Forbidden(PermissionError):
    """The principal may not see what they asked for; the message says why."""


@dataclass(frozen=True)
class Principal:
    username: str
    role: str  # public, county, state
    counties: tuple[str, ...] = ()
    via: str = "anonymous"  # anonymous, session, token

    @property
    def signed_in(self) -> bool:
        return self.role != "public"

    def may_unmask(self, counties: Iterable[str]) -> bool:
        counties = set(counties)
        if self.role == "state":
            return True
        if self.role == "county":
            return bool(counties) and STATE not in counties and counties <= set(self.counties)
        return False

    def as_dict(self) -> dict:
        return {"username": self.username, "role": self.role, "counties": list(self.counties),
                "signed_in": self.signed_in}


PUBLIC = Principal("public", "public")


def decide_masking(principal: Principal, counties: Iterable[str], masked: bool | None) -> bool:
    """Whether a view of these geographies is masked: as asked, else unmasked when allowed.
    Asking for unmasked data one may not see raises Forbidden (never falls back silently)."""
    counties = list(counties)
    allowed = principal.may_unmask(counties)
    if masked is False and not allowed:
        if principal.role == "public":
            raise Forbidden("unmasked results need a signed-in county or state user")
        if principal.role == "county":
            others = sorted(set(counties) - set(principal.counties))
            raise Forbidden(
                f"user {principal.username} may see unmasked results of {', '.join(principal.counties)} only, "
                f"not of {', '.join(others) or 'several counties at once'}"
            )
    if masked is None:
        return not allowed
    return masked


def _principal(user: User | None, via: str) -> Principal:
    if user is None:
        return PUBLIC
    return Principal(user.username, user.role, tuple(user.counties), via)


class Authenticator:
    def __init__(self, db: AppDatabase, *, secure_cookies: bool = True):
        self.db = db
        self.secure_cookies = secure_cookies
        self._key = db.secret_key().encode()
        # The __Host- prefix pins the cookie to this host and path /, but browsers accept it
        # only on Secure cookies.
        prefix = "__Host-" if secure_cookies else ""
        self.session_cookie = f"{prefix}cwo_session"
        self.csrf_cookie = f"{prefix}cwo_csrf"

    def principal(self, request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            user = self.db.user_for_token(header[7:].strip())
            if user is None:
                raise InvalidToken("the API token is not valid (it may have been removed)")
            return _principal(user, "token")
        session = request.cookies.get(self.session_cookie)
        if session:
            return _principal(self.db.user_for_session(session), "session")
        return PUBLIC

    # -- cookies --------------------------------------------------------------------------
    def cookie_options(self) -> dict:
        return {"httponly": True, "secure": self.secure_cookies, "samesite": "lax", "path": "/"}

    def csrf_seed(self, request: Request) -> tuple[str, bool]:
        """The browser's CSRF cookie value, and whether it is new (to be set on the response)."""
        seed = request.cookies.get(self.csrf_cookie)
        if seed and len(seed) >= 32:
            return seed, False
        return secrets.token_urlsafe(32), True

    def csrf_token(self, seed: str) -> str:
        return hmac.new(self._key, seed.encode(), hashlib.sha256).hexdigest()

    def csrf_valid(self, request: Request, token: str | None) -> bool:
        seed = request.cookies.get(self.csrf_cookie)
        if not seed or not token:
            return False
        return hmac.compare_digest(self.csrf_token(seed), token)


class InvalidToken(Exception):
    """A bearer token that matches no user: 401, never a silent fall back to public."""
