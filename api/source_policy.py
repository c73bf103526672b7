"""Which sources this service agrees to fetch: the API's guard against SSRF.

`forager.sources.spec.parse_source` says whether a spec is well formed; a public service also
has to refuse what a worker must never touch on a submitter's behalf: its own files, and
hosts on private, loopback, link-local or otherwise non-public networks. The checks here run
before parse_source, so that a refused local path is never even probed for existence.

Limitation: the worker resolves the host again when it clones; a name whose DNS answer
changes between the two lookups (rebinding) is not caught here, only by network policy.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from api.errors import SourceNotAllowed
from api.settings import ApiSettings
from forager.errors import InvalidSourceError
from forager.sources.spec import SourceSpec, parse_source

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_SCP_LIKE = re.compile(r"^(?P<user>[\w.-]+)@(?P<host>[\w.-]+):(?P<path>[^\s]+)$")
_PYPI_BARE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*==\S+$")
_DEFAULT_PORTS = {"https": 443, "http": 80, "ssh": 22, "git": 9418}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True)
class Classified:
    """A spec's kind as the service sees it, before any parsing that touches the filesystem."""

    scheme: str  # https | http | ssh | git | pypi | file (file covers local paths too)
    host: str | None
    port: int | None
    text: str  # what parse_source gets


def classify(text: str) -> Classified:
    t = text.strip()
    if t.startswith("pypi:"):
        return Classified("pypi", None, None, t)
    if t.startswith("path:"):
        return Classified("file", None, None, t)
    bare = t.removeprefix("git+")
    if "://" in bare:
        parts = urlsplit(bare)
        scheme = parts.scheme.lower()
        try:
            port = parts.port
        except ValueError as exc:
            raise InvalidSourceError(f"invalid port in {t!r}") from exc
        if parts.password is not None:
            # Stored specs are readable by every key with read scope: no secrets in them.
            raise InvalidSourceError("credentials in source URLs are not accepted")
        host = parts.hostname.rstrip(".") if parts.hostname else None
        return Classified(scheme, host, port or _DEFAULT_PORTS.get(scheme), t)
    m = _SCP_LIKE.match(bare)
    if m:
        return Classified("ssh", m["host"].lower().rstrip("."), 22, t)
    if _PYPI_BARE.match(t):
        # parse_source would first ask whether a file of that name exists; never here.
        return Classified("pypi", None, None, f"pypi:{t}")
    return Classified("file", None, None, t)


def check_source(text: str, ref: str | None, settings: ApiSettings) -> SourceSpec:
    """The parsed spec, if this service may fetch it; SourceNotAllowed or InvalidSourceError if not."""
    c = classify(text)
    if c.scheme not in settings.allowed_schemes:
        what = "local paths and file:// URLs" if c.scheme == "file" else f"{c.scheme!r} sources"
        raise SourceNotAllowed(
            f"{what} are not accepted by this service; allowed: {', '.join(settings.allowed_schemes)}",
            {"scheme": c.scheme, "allowed_schemes": settings.allowed_schemes},
        )
    spec = parse_source(c.text, ref)
    if c.scheme in ("pypi", "file"):
        return spec
    if not c.host:
        raise InvalidSourceError(f"no host in {text.strip()!r}")
    if settings.allowed_hosts and not host_allowed(c.host, settings.allowed_hosts):
        raise SourceNotAllowed(
            f"host {c.host!r} is not on this service's allow-list",
            {"host": c.host, "allowed_hosts": settings.allowed_hosts},
        )
    for ip in resolve(c.host, c.port):
        if not is_public(ip):
            raise SourceNotAllowed(
                f"host {c.host!r} resolves to a non-public address ({ip}); this service fetches "
                "only from public hosts",
                {"host": c.host, "address": str(ip)},
            )
    return spec


def host_allowed(host: str, allowed: list[str]) -> bool:
    host = host.lower().rstrip(".")
    for entry in allowed:
        if entry.startswith("*."):
            if host.endswith(entry[1:]):
                return True
        elif host == entry.rstrip("."):
            return True
    return False


def resolve(host: str, port: int | None) -> list[IPAddress]:
    """Every address the host resolves to (all must be public: a client may pick any)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise InvalidSourceError(f"host {host!r} does not resolve: {exc}") from exc
    # Scope ids ("fe80::1%eth0") are not part of the address proper.
    return sorted({ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos}, key=str)


def is_public(ip: IPAddress) -> bool:
    """True only for globally routable unicast addresses, looking inside IPv6 wrappers of IPv4."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner: ipaddress.IPv4Address | None = ip.ipv4_mapped or ip.sixtofour
        if inner is None and ip.teredo is not None:
            inner = ip.teredo[1]
        if inner is None and ip in _NAT64:
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None and not is_public(inner):
            return False
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )
