"""Security headers on every response, and the Origin check that backs the CSRF token."""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.exceptions import PermissionDeniedException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CROSS_ORIGIN = "cross-origin request"
# What the CSRF and Origin checks say when they refuse: an old page or a foreign site, not a missing role.
STALE_FORM_DETAILS = ("CSRF token verification failed", CROSS_ORIGIN)


def security_headers_middleware(app: ASGIApp, *, https: bool = False) -> ASGIApp:
    """Wraps the whole app (404s and middleware errors included). `https`: served over HTTPS, maybe behind a proxy."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        over_https = https or scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
                headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
                if over_https:
                    headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
                if not scope["path"].startswith("/static/"):
                    # Pages carry personal data: no browser or proxy keeps a copy.
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware


def origin_check_middleware(app: ASGIApp) -> ASGIApp:
    """A state change must come from our own pages: a foreign or null Origin, or a cross-site fetch, is refused."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
            host = headers.get("host", "")
            origin = headers.get("origin")
            fetch_site = headers.get("sec-fetch-site")
            bad_origin = origin is not None and (origin == "null" or origin.split("://", 1)[-1] != host)
            if bad_origin or fetch_site in ("cross-site", "same-site"):
                raise PermissionDeniedException(CROSS_ORIGIN)  # the app's 403 page, in the user's language
        await app(scope, receive, send)

    return middleware
