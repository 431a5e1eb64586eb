"""Origins (scheme://host[:port]) of configured URLs and of browser requests."""

import ipaddress
from urllib.parse import urlsplit


def origin_of(url: str) -> str | None:
    """`url`'s origin, lower-cased, default ports dropped; None unless http(s) with a host."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in ("http", "https") or not host or parts.username or parts.password:
        return None
    if ":" in host:
        host = f"[{host}]"
    default = 443 if scheme == "https" else 80
    return f"{scheme}://{host}" if port in (None, default) else f"{scheme}://{host}:{port}"


def loopback_http(origin: str) -> bool:
    """True for plain-http origins on the machine itself (127.0.0.0/8, ::1, localhost)."""
    parts = urlsplit(origin)
    host = parts.hostname or ""
    if parts.scheme != "http":
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
