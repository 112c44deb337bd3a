"""The server's access log without query strings: a search (`/bookings?q=…`) holds names, emails and phones.

Uvicorn (behind `make run`, `litestar run` and production) logs each request as
`client - "METHOD path?query HTTP/x" status` on the `uvicorn.access` logger. The filter below
keeps the path and replaces a query string with `?…`, so the log still says which screen was
asked for, never what was searched. Paths themselves carry only booking references.
"""

from __future__ import annotations

import logging

ACCESS_LOGGER = "uvicorn.access"


class DropQueryStrings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], args[2].split("?", 1)[0] + "?…", *args[3:])
        return True


def install() -> None:
    """Idempotent: every app built in one process shares the one filter."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, DropQueryStrings) for f in logger.filters):
        logger.addFilter(DropQueryStrings())
