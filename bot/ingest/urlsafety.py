"""Pure checks that keep the fetcher away from schemes and addresses it must not reach.

Feed URLs can come from chat, so a URL (or any redirect hop) must not point the bot at the
machine it runs on, the private network around it, or a cloud metadata service.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_SCHEMES = frozenset({"http", "https"})

METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    {
        ipaddress.IPv4Address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack, ...
        ipaddress.IPv6Address("fd00:ec2::254"),  # AWS over IPv6
    }
)

_SHARED_ADDRESS_SPACE = ipaddress.IPv4Network("100.64.0.0/10")  # carrier-grade NAT
# Prefixes whose addresses carry an IPv4 address that a gateway may forward to.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def check_url_scheme(url: str) -> str | None:
    """Return why `url` may not be fetched (scheme or host), or None when it may."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return f"invalid URL: {url!r}"
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        shown = scheme or "(none)"
        return f"unsupported URL scheme {shown!r} (only http and https)"
    if not host:
        return f"URL has no host: {url!r}"
    return None


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, NAT64, 6to4), if any."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def forbidden_reason(ip: IPAddress) -> str | None:
    """A short label saying why `ip` must not be contacted, or None when it is public."""
    inner = embedded_ipv4(ip)
    if inner is not None:
        reason = forbidden_reason(inner)
        return f"{reason} via IPv6" if reason else None
    return _own_reason(ip)


def _own_reason(ip: IPAddress) -> str | None:
    # Order matters: the most specific (and most alarming) label wins.
    checks: tuple[tuple[bool, str], ...] = (
        (ip in METADATA_ADDRESSES, "link-local/metadata"),
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED_ADDRESS_SPACE, "shared"),
        (ip.is_reserved, "reserved"),
        (ip.is_private, "private"),
        # Anything else the registries do not call globally reachable.
        (not ip.is_global, "non-global"),
    )
    return next((label for hit, label in checks if hit), None)


def is_metadata(ip: IPAddress) -> bool:
    """A cloud metadata service (directly or as IPv4 inside IPv6): never a feed's address."""
    inner = embedded_ipv4(ip)
    return (inner if inner is not None else ip) in METADATA_ADDRESSES


def is_forbidden_address(ip: IPAddress) -> bool:
    """True for loopback, private, link-local, multicast, reserved, unspecified, shared,
    cloud-metadata and non-global addresses, including their IPv4-mapped IPv6 forms."""
    return forbidden_reason(ip) is not None


def parse_ip(host: str) -> IPAddress | None:
    """The address `host` spells as an IP literal (brackets and zone allowed), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
