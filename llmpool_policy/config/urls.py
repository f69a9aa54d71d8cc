"""URL rules shared by provider base URLs and remote configuration sources.

Plain http is allowed only to loopback hosts, where there is no network to sniff; anything else
must be https. URLs are shown without credentials or query strings, which often carry tokens.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

__all__ = ["display_url", "is_loopback_host", "url_problem"]


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def display_url(url: str) -> str:
    """``url`` without user info, query or fragment: safe to print."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<unparseable URL>"
    if not parts.scheme or not host:
        return "<not a URL>"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    return f"{parts.scheme}://{netloc}{parts.path}"


def url_problem(url: str) -> str | None:
    """Why ``url`` may not be used (a plain sentence), or None when it is fine."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # raises on a bad port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("http", "https") or not host:
        return "must be an http(s) URL with a host"
    if parts.scheme == "http" and not is_loopback_host(host):
        return "must use https; plain http is allowed only to loopback hosts"
    return None
