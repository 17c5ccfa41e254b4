"""Ops sign-in that survives a reload: the pasted token traded for an httpOnly cookie.

The cookie is SameSite=Strict (never sent on a request started by another site, so a cookie-
authenticated POST cannot be forged from elsewhere), httpOnly (page scripts cannot read it),
Secure outside development, and has no Max-Age: it ends with the browser session, and the
token inside still expires on its own `exp`.
"""

from __future__ import annotations

import os
from typing import Annotated

from fastapi import APIRouter, Cookie, Depends, Header, Response

from services.common.auth import Principal, authenticate, principal_from_token
from services.common.problems import ProblemError

COOKIE = "spine_ops_session"
MAX_TOKEN_LENGTH = 4096  # a browser drops bigger cookies anyway


def secure_cookies() -> bool:
    """Secure unless explicitly in development (OPS_COOKIE_SECURE=0) or on the dev secret."""
    setting = os.environ.get("OPS_COOKIE_SECURE", "auto").lower()
    if setting in ("0", "false", "no"):
        return False
    if setting in ("1", "true", "yes"):
        return True
    # auto: no production key configured means the generated development secret is in use
    return bool(os.environ.get("AUTH_JWT_SECRET") or os.environ.get("AUTH_JWT_PUBLIC_KEY"))


def _require_ops(principal: Principal) -> Principal:
    if principal.role != "ops":
        raise ProblemError(403, "Forbidden", "this endpoint is for: ops", kind="forbidden")
    return principal


async def ops_principal(
    authorization: Annotated[str | None, Header()] = None,
    session: Annotated[str | None, Cookie(alias=COOKIE, max_length=MAX_TOKEN_LENGTH)] = None,
) -> Principal:
    """The ops caller, from a bearer header or else the session cookie."""
    if authorization or not session:
        return _require_ops(authenticate(authorization=authorization))
    return _require_ops(principal_from_token(session))


OpsCaller = Annotated[Principal, Depends(ops_principal)]


def build_session_router(*, secure: bool | None = None) -> APIRouter:
    """POST /api/ops/session (bearer in, cookie out), GET it (who am I), DELETE it (sign out)."""
    router = APIRouter(tags=["dashboard"])
    use_secure = secure_cookies() if secure is None else secure

    @router.post("/api/ops/session", status_code=204)
    def sign_in(
        response: Response,
        authorization: Annotated[str | None, Header(max_length=MAX_TOKEN_LENGTH)] = None,
    ) -> None:
        """Check the bearer token and keep it in the session cookie."""
        _require_ops(authenticate(authorization=authorization))
        token = (authorization or "").partition(" ")[2].strip()
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=use_secure,
                            path="/")

    @router.get("/api/ops/session")
    def whoami(principal: OpsCaller) -> dict[str, str]:
        """Who the session belongs to (the page asks on load whether it is signed in)."""
        return {"subject": principal.subject, "role": principal.role}

    @router.delete("/api/ops/session")
    def sign_out(response: Response) -> dict[str, bool]:
        """Forget the session cookie (needs no valid session: an expired one must go too)."""
        response.delete_cookie(COOKIE, httponly=True, samesite="strict", secure=use_secure,
                               path="/")
        return {"signed_in": False}

    return router
