"""Which web pages may talk to the gateway from a browser: its own (the console, the full-page chat) and, for the
widget's WebSocket, the sites that embed it (``HCC_WIDGET_ORIGINS``)."""
from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:  # the settings import this module; they must not need Starlette
    from starlette.requests import HTTPConnection

ANY = "*"
DEFAULT_PORTS = {"http": 80, "https": 443}


def normal_origin(value: str) -> str:
    """``scheme://host[:port]`` in lower case, without a default port or a trailing slash.

    ValueError for anything else (a bare host name, a path, ``null``)."""
    parts = urlsplit(value.strip().removesuffix("/"))
    netloc = parts.netloc.lower()
    if (parts.scheme.lower() not in DEFAULT_PORTS or not parts.hostname or "@" in netloc
            or parts.path or parts.query or parts.fragment):
        raise ValueError(value)
    scheme = parts.scheme.lower()
    if parts.port == DEFAULT_PORTS[scheme]:  # browsers leave the default port out of Origin
        netloc = netloc.rsplit(":", 1)[0]
    return f"{scheme}://{netloc}"


def parse_origins(value: str) -> tuple[str, ...]:
    """``HCC_WIDGET_ORIGINS``: comma-separated origins, or ``*``; ValueError naming the first entry that is neither."""
    origins = []
    for entry in filter(None, (part.strip() for part in value.split(","))):
        if entry == ANY:
            origins.append(ANY)
            continue
        try:
            origins.append(normal_origin(entry))
        except ValueError:
            raise ValueError(f"HCC_WIDGET_ORIGINS: «{entry}» không phải một origin dạng scheme://tên-miền[:cổng], "
                             "ví dụ https://hcc.quangninh.gov.vn") from None
    return tuple(origins)


def same_origin(connection: HTTPConnection) -> bool:
    """No Origin header (same-origin GETs, non-browser clients) passes; a foreign one does not."""
    origin = connection.headers.get("origin")
    if origin is None:
        return True
    # The host only: behind a TLS proxy the page is https while the gateway itself sees http.
    return urlsplit(origin).netloc.lower() == connection.headers.get("host", "").lower()


def widget_origin_allowed(connection: HTTPConnection, allowed: tuple[str, ...]) -> bool:
    """The gateway's own pages, a site in ``allowed`` (any with ``*``), or no Origin at all (not a browser)."""
    origin = connection.headers.get("origin")
    if origin is None or ANY in allowed or same_origin(connection):
        return True
    try:
        return normal_origin(origin) in allowed
    except ValueError:  # "null": a sandboxed frame or a file:// page
        return False
