"""Client address and scheme behind reverse proxies, from trusted proxies only.

    forwarded_middleware(trusted) -> aiohttp middleware

A proxy in front of the gateway (nginx, HAProxy, a load balancer) connects from its own
address and says who the client is in ``Forwarded`` (RFC 7239) or ``X-Forwarded-For`` /
``X-Forwarded-Proto``. Anybody can send those headers, so they are read only when the
TCP peer is one of ``GATEWAY_TRUSTED_PROXIES`` (IP addresses or CIDR networks, none by
default). The client is the right-most address of the chain that is not itself a trusted
proxy; the request is then cloned with that ``remote`` and scheme, so ``request.remote``
and ``request.secure`` are the client's everywhere after this middleware (login throttle,
Secure cookies, logs). Headers from any other peer are ignored, and so is a chain whose
entries do not parse (logged): the peer's own address is kept.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

from aiohttp import web
from multidict import CIMultiDictProxy

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Network = IPv4Network | IPv6Network
Address = IPv4Address | IPv6Address

# One "key=value" pair of a Forwarded element; values may be quoted.
_PAIR = re.compile(r'\s*([A-Za-z]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;,"\s]*)\s*')


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """``["10.0.0.1", "192.168.0.0/16", "::1"]`` → networks; ValueError names a bad one."""
    networks = []
    for value in values:
        try:
            networks.append(ip_network(value.strip(), strict=False))
        except ValueError as err:
            raise ValueError(f"not an IP address or CIDR network: {value!r}") from err
    return tuple(networks)


def _address(value: str) -> Address | None:
    """An address of a forwarding header: bare, ``[v6]`` or with a port; None if not one."""
    value = value.strip().strip('"')
    if value.startswith("["):
        value = value[1 : value.find("]")] if "]" in value else ""
    elif value.count(":") == 1:  # IPv4 with a port
        value = value.split(":", 1)[0]
    try:
        return ip_address(value)
    except ValueError:
        return None


def _forwarded_elements(header: str) -> list[dict[str, str]] | None:
    """RFC 7239 ``Forwarded``: one dict per hop (left = first); None when malformed."""
    elements = []
    for element in header.split(","):
        pairs: dict[str, str] = {}
        for part in element.split(";"):
            if not part.strip():
                continue
            match = _PAIR.fullmatch(part)
            if match is None:
                return None
            value = match.group(2)
            if value.startswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            pairs[match.group(1).lower()] = value
        elements.append(pairs)
    return elements


def _list(header: str) -> list[str]:
    return [item.strip() for item in header.split(",") if item.strip()]


class TrustedProxies:
    def __init__(self, networks: tuple[Network, ...]) -> None:
        self.networks = networks

    def trusted(self, address: Address | None) -> bool:
        return address is not None and any(address in network for network in self.networks)

    def client(self, headers: CIMultiDictProxy[str]) -> tuple[str, str | None] | None:
        """(client address, scheme or None) told by the trusted peer; None = keep the peer."""
        forwarded = headers.getall("Forwarded", [])
        if forwarded:
            elements = _forwarded_elements(",".join(forwarded))
            if elements is None:
                return None
            hops = [(_address(e.get("for", "")), e.get("proto")) for e in elements]
        else:
            chain = _list(",".join(headers.getall("X-Forwarded-For", [])))
            if not chain:
                return None
            protos = _list(",".join(headers.getall("X-Forwarded-Proto", [])))
            if len(protos) == len(chain):
                aligned: list[str | None] = list(protos)
            else:  # one value set by the nearest proxy, or nothing usable
                aligned = [None] * len(chain)
                if len(protos) == 1:
                    aligned = [protos[0]] * len(chain)
            hops = [(_address(a), p) for a, p in zip(chain, aligned, strict=True)]
        # Walk from the gateway outwards: every trusted proxy vouches for the next hop.
        for address, proto in reversed(hops):
            if address is None:
                return None
            if not self.trusted(address):
                return str(address), _scheme(proto)
        address, proto = hops[0]
        return str(address), _scheme(proto)


def _scheme(proto: str | None) -> str | None:
    proto = (proto or "").strip().lower()
    return proto if proto in ("http", "https") else None


def forwarded_middleware(
    networks: tuple[Network, ...],
) -> Callable[..., Awaitable[web.StreamResponse]]:
    """The middleware for these trusted proxy networks (none: it changes nothing)."""
    proxies = TrustedProxies(networks)

    @web.middleware
    async def forwarded(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not proxies.networks:
            return await handler(request)
        peer = _address(request.remote or "")
        if not proxies.trusted(peer):
            return await handler(request)
        told = proxies.client(request.headers)
        if told is None:
            if "Forwarded" in request.headers or "X-Forwarded-For" in request.headers:
                log.warning("ignored malformed forwarding headers from proxy %s", peer)
            return await handler(request)
        remote, scheme = told
        changes: dict[str, str] = {"remote": remote}
        if scheme is not None:
            changes["scheme"] = scheme
        return await handler(request.clone(**changes))

    return forwarded
