"""Fetch ``http(s)`` image URLs for chat requests without becoming an SSRF proxy.

OCI Generative AI takes images only as ``data:`` URIs, so an OpenAI request that names
an image by URL is fetched here and inlined. The gateway runs with a resource principal
and sits next to a metadata service, so the fetch is fenced:

* only ``http`` and ``https``; no user name or password in the URL;
* the host name is resolved **once**; every address it resolves to must be public
  (not private, loopback, link-local, multicast, unspecified, reserved, CGNAT, IPv6
  ULA/site-local, nor a metadata address; IPv4 embedded in IPv6 is checked as IPv4), and
  the connection goes to that address literally: the request URL carries the IP, the
  ``Host`` header and TLS SNI/certificate check carry the name, so no second DNS answer
  can change where the bytes go;
* numeric hosts other than plain dotted-quad (``2130706433``, ``0x7f000001``, ``127.1``)
  are refused outright, as browsers and resolvers disagree on them;
* redirects are followed by hand, at most :data:`MAX_REDIRECTS`, each one checked again
  as a new URL, on a new connection;
* the whole fetch (DNS, redirects, body) has one time cap, the body a streamed size cap,
  the response must be ``image/png|jpeg|gif|webp`` and the bytes must look like one;
  no content encoding is accepted (a compressed bomb cannot expand past the cap);
* all images of one request share one byte budget (``MAX_TOTAL_IMAGE_BYTES``, inline ones
  included): a declared ``Content-Length`` is charged before the body is read, an undeclared
  body as it arrives, and each image is held once (its bytes, then its base64 data URI).

Errors the caller sees say what was wrong with *their* URL ("address not allowed"),
never which address a name resolved to. Environment proxies are ignored on purpose: a
proxy would resolve the name itself and undo the pinning.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import logging
import re
import socket
import ssl
from dataclasses import dataclass, field, replace
from typing import Awaitable, Callable

import httpx

from core import logs
from core.chat.limits import data_uri_size
from core.chat.request import ChatRequest, image_url_parts
from core.errors import APIError, invalid_request
from core.settings import Settings

MAX_REDIRECTS = 3
MAX_CONCURRENT_FETCHES = 4
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
ALLOWED_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
USER_AGENT = "oci-genai-gateway-image-fetcher/1"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

# Blocked on top of what `ipaddress` calls non-global (Python versions differ on the details).
_BLOCKED_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
    "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
    "::/128", "::1/128", "::ffff:0:0/96", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32",
    "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
))
# Cloud metadata services, named for the record (all also fall in a blocked range above).
METADATA_ADDRESSES = tuple(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "100.100.100.200", "192.0.0.192", "fd00:ec2::254", "fd00:c1::a9fe:a9fe",
))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV6_LOOPBACK = ipaddress.IPv6Address("::1")
_IPV6_UNSPECIFIED = ipaddress.IPv6Address("::")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class ImageFetchError(Exception):
    """Why an image URL was not used; ``message`` is safe to show the caller."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _not_allowed(reason: str = "address not allowed") -> ImageFetchError:
    return ImageFetchError("image_url_not_allowed", reason)


def _invalid_url(reason: str = "not a valid URL") -> ImageFetchError:
    return ImageFetchError("invalid_image_url", reason)


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, 6to4, NAT64, IPv4-compatible), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or (int(address) >> 32) == 0:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_allowed(address: IPAddress, *, allow_loopback: bool = False) -> bool:
    """Whether a fetch may connect to ``address``: public unicast only.

    ``allow_loopback`` exists for the test suite's local server and is never a setting.
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return False
        inner = _ipv4_to_check(address)
        if inner is not None:
            return address_allowed(inner, allow_loopback=allow_loopback)
    if allow_loopback and address.is_loopback:
        return True
    return _public_unicast(address)


def _ipv4_to_check(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The embedded IPv4 address that decides for ``address``; ``::1`` and ``::`` are judged as IPv6."""
    inner = embedded_ipv4(address)
    if inner is None or address in (_IPV6_LOOPBACK, _IPV6_UNSPECIFIED):
        return None
    return inner


def _public_unicast(address: IPAddress) -> bool:
    if address in METADATA_ADDRESSES or _special_purpose(address):
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return False
    return not any(address.version == net.version and address in net for net in _BLOCKED_NETWORKS)


def _special_purpose(address: IPAddress) -> bool:
    """What ``ipaddress`` itself knows is not a public unicast address."""
    return (address.is_private or address.is_loopback or address.is_link_local or address.is_multicast
            or address.is_unspecified or address.is_reserved or not address.is_global)


@dataclass(frozen=True)
class Target:
    """A checked URL, split into what the connection and the request need."""

    url: httpx.URL
    scheme: str
    host: str  # ASCII (IDNA) host name or IP literal, no brackets
    port: int
    ip_literal: IPAddress | None


def parse_target(url: str | httpx.URL) -> Target:
    """Check scheme, credentials and host syntax; no network."""
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise _invalid_url() from None
    scheme = parsed.scheme.lower()
    if scheme not in ("http", "https"):
        raise _not_allowed("only http and https image URLs are fetched")
    if parsed.userinfo:
        raise _not_allowed("credentials in image URLs are not accepted")
    host = _host(parsed)
    port = parsed.port or (443 if scheme == "https" else 80)
    literal = _ipv6_literal(host) if ":" in host or "%" in host else _ipv4_literal(host)
    return Target(parsed, scheme, host, port, literal)


def _host(parsed: httpx.URL) -> str:
    """The URL's host in lower-case ASCII without a trailing dot; a URL without one is invalid."""
    try:
        host = parsed.raw_host.decode("ascii").lower().rstrip(".")
    except UnicodeDecodeError:
        raise _invalid_url() from None
    if not host:
        raise _invalid_url("the URL has no host")
    return host


def _ipv6_literal(host: str) -> ipaddress.IPv6Address:
    if "%" in host:  # a zone id names an interface of this machine
        raise _not_allowed()
    try:
        return ipaddress.IPv6Address(host)
    except ValueError:
        raise _invalid_url() from None


def _ipv4_literal(host: str) -> ipaddress.IPv4Address | None:
    """A dotted-quad host as its address, a host name as None; other numeric forms are refused."""
    labels = host.split(".")
    last = labels[-1]
    if last.isdigit() or last.startswith("0x"):  # a numeric host (the URL standard's IPv4 rule)
        try:
            return ipaddress.IPv4Address(host)
        except ValueError:  # decimal, hex, octal or short forms: ambiguous, refused
            raise _not_allowed() from None
    if not all(_HOST_LABEL.match(label) for label in labels):
        raise _invalid_url("the URL's host name is not valid")
    return None


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (one lookup, through the event loop's executor)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True)
class FetchedImage:
    media_type: str
    data: bytes | bytearray

    def data_uri(self) -> str:
        return (b"data:" + self.media_type.encode("ascii") + b";base64," + base64.b64encode(self.data)).decode("ascii")


class ImageBudget:
    """The decoded image bytes one request may still bring in, shared by its concurrent fetches."""

    def __init__(self, limit: int, used: int = 0) -> None:
        self.limit = limit
        self.used = used

    def charge(self, size: int) -> None:
        if self.used + size > self.limit:
            raise ImageFetchError("images_too_large", f"the images of this request add up to more than "
                                  f"{self.limit} bytes (MAX_TOTAL_IMAGE_BYTES)")
        self.used += size


def sniff_image_type(data: bytes) -> str | None:
    """The image type the first bytes announce, among the four allowed ones."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


@dataclass
class ImageFetcher:
    """Fetches one image URL under the rules in the module docstring."""

    max_bytes: int
    timeout_seconds: float
    max_redirects: int = MAX_REDIRECTS
    resolver: Resolver = system_resolver
    allow_loopback: bool = False  # test suite only: lets a local server serve images
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False)  # test suite only: trust a test CA

    @classmethod
    def from_settings(cls, settings: Settings) -> "ImageFetcher":
        """The fetcher the settings describe; the byte cap also honours the per-image limit (``MAX_IMAGE_BYTES``)."""
        limit = settings.image_url_max_bytes
        per_image = getattr(settings, "max_image_bytes", None)
        if isinstance(per_image, int) and per_image > 0:
            limit = min(limit, per_image)
        return cls(max_bytes=limit, timeout_seconds=settings.image_url_timeout_seconds)

    async def fetch(self, url: str, budget: ImageBudget | None = None) -> FetchedImage:
        """The image at ``url``; its bytes are charged to ``budget`` (shared by one request's images)."""
        try:
            async with asyncio.timeout(self.timeout_seconds):
                return await self._follow(url, budget or ImageBudget(self.max_bytes))
        except TimeoutError:
            raise ImageFetchError("image_fetch_timeout",
                                  f"the image did not arrive within {self.timeout_seconds:g} s") from None

    async def _follow(self, url: str, budget: ImageBudget) -> FetchedImage:
        current = parse_target(url)
        location = ""
        for hop in range(self.max_redirects + 1):
            try:
                if hop:  # a redirect: a new URL, checked from scratch
                    current = parse_target(current.url.join(location))
                address = await self._resolve(current)
            except ImageFetchError as exc:
                if hop and exc.code == "image_url_not_allowed":
                    raise _not_allowed(f"redirected to a URL that is not allowed ({exc.message})") from None
                raise
            result = await self._get(current, address, budget)
            if isinstance(result, FetchedImage):
                return result
            location = result
        raise ImageFetchError("image_fetch_failed", f"more than {self.max_redirects} redirects")

    async def _resolve(self, target: Target) -> IPAddress:
        """The one address to connect to; every address the name has must be allowed."""
        if target.ip_literal is not None:
            addresses: list[IPAddress] = [target.ip_literal]
        else:
            try:
                raw = await self.resolver(target.host, target.port)
            except (OSError, UnicodeError):
                raise ImageFetchError("image_fetch_failed", "the image host name could not be resolved") from None
            addresses = []
            for value in raw:
                try:
                    addresses.append(ipaddress.ip_address(value))
                except ValueError:  # a scoped IPv6 address ("fe80::1%eth0") and the like
                    raise _not_allowed() from None
            if not addresses:
                raise ImageFetchError("image_fetch_failed", "the image host name could not be resolved")
        if not all(address_allowed(a, allow_loopback=self.allow_loopback) for a in addresses):
            logs.log_event("image_fetch_refused", logging.INFO, reason="address")
            raise _not_allowed()
        return addresses[0]

    async def _get(self, target: Target, address: IPAddress, budget: ImageBudget) -> FetchedImage | str:
        """One GET pinned to ``address``: the image, or a redirect's Location."""
        pinned = httpx.URL(scheme=target.scheme, host=str(address), port=target.port, raw_path=target.url.raw_path)
        headers = {"host": target.url.netloc.decode("ascii"), "user-agent": USER_AGENT, "accept": ", ".join(ALLOWED_TYPES),
                   "accept-encoding": "identity"}
        extensions = {"sni_hostname": target.host} if target.scheme == "https" and target.ip_literal is None else {}
        verify: ssl.SSLContext | bool = self.ssl_context if self.ssl_context is not None else True
        try:
            async with httpx.AsyncClient(trust_env=False, follow_redirects=False, verify=verify,
                                         timeout=httpx.Timeout(self.timeout_seconds)) as client:
                request = client.build_request("GET", pinned, headers=headers, extensions=extensions)
                response = await client.send(request, stream=True)
                try:
                    return await self._read(response, budget)
                finally:
                    await response.aclose()
        except httpx.TimeoutException:
            raise TimeoutError from None
        except httpx.HTTPError as exc:
            raise ImageFetchError("image_fetch_failed",
                                  f"could not fetch the image ({_transport_reason(exc)})") from None

    async def _read(self, response: httpx.Response, budget: ImageBudget) -> FetchedImage | str:
        status = response.status_code
        if status in REDIRECT_STATUSES:
            location = response.headers.get("location")
            if not location:
                raise ImageFetchError("image_fetch_failed", f"the image server answered HTTP {status} "
                                      "without a Location")
            return location
        if status != 200:
            raise ImageFetchError("image_fetch_failed", f"the image server answered HTTP {status}")
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise ImageFetchError("invalid_image", "compressed (content-encoded) images are not accepted")
        media_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type not in ALLOWED_TYPES:
            shown = media_type[:60] or "none"
            raise ImageFetchError("invalid_image", f"the URL's content type is {shown}, not one of "
                                  f"{', '.join(ALLOWED_TYPES)}")
        data = await self._body(response, budget)
        sniffed = sniff_image_type(bytes(data[:16]))
        if sniffed is None:
            raise ImageFetchError("invalid_image", "the URL's content is not a PNG, JPEG, GIF or WebP image")
        return FetchedImage(sniffed, data)

    async def _body(self, response: httpx.Response, budget: ImageBudget) -> bytearray:
        """The body in one buffer, charged to ``budget``: a declared length before reading, the rest as it comes."""
        raw = response.headers.get("content-length", "")
        declared = int(raw) if raw.isdigit() else None
        if declared is not None and declared > self.max_bytes:
            raise _too_large(self.max_bytes)
        if declared is not None:
            budget.charge(declared)  # h11 never reads past a declared length
        data = bytearray()
        async for chunk in response.aiter_raw():
            data += chunk
            if len(data) > self.max_bytes:
                raise _too_large(self.max_bytes)
            if declared is None:
                budget.charge(len(chunk))
        return data


def _too_large(limit: int) -> ImageFetchError:
    return ImageFetchError("image_too_large", f"the image is larger than {limit} bytes")


def _transport_reason(exc: httpx.HTTPError) -> str:
    """A caller-safe summary: the kind of failure, never an address."""
    if isinstance(exc, httpx.ConnectError):
        return "connection failed"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "invalid HTTP response"
    return type(exc).__name__


async def inline_images(request: ChatRequest, settings: Settings, *,
                        fetcher: ImageFetcher | None = None) -> ChatRequest:
    """The request with every http(s) image URL replaced by the fetched image as a ``data:`` URI.

    Call only when ``IMAGE_URL_FETCH`` is on; a request without image URLs comes back as is.
    A URL that cannot be used is a 400 whose ``param`` points at the image part.
    """
    found = list(image_url_parts(request))
    if not found:
        return request
    fetcher = fetcher or ImageFetcher.from_settings(settings)
    budget = ImageBudget(settings.max_total_image_bytes, used=_inline_image_bytes(request))
    fetched = await _fetch_all(list(dict.fromkeys(url for _, _, url in found)), fetcher, budget)
    for i, j, url in found:  # the first failing part, in request order, names the error
        outcome = fetched[url]
        if isinstance(outcome, ImageFetchError):
            logs.log_event("image_fetch_failed", logging.INFO, code=outcome.code)
            raise _api_error(outcome, f"messages[{i}].content[{j}].image_url.url")
        if isinstance(outcome, BaseException):
            raise outcome
    by_url = {url: outcome for url, outcome in fetched.items() if isinstance(outcome, str)}
    messages = list(request.messages)
    for i, j, url in found:
        data_uri = by_url[url]
        assert isinstance(data_uri, str)
        parts = list(messages[i].parts)
        parts[j] = replace(parts[j], url=data_uri)
        messages[i] = replace(messages[i], parts=tuple(parts))
    return replace(request, messages=tuple(messages))


async def _fetch_all(urls: list[str], fetcher: ImageFetcher,
                     budget: ImageBudget) -> dict[str, str | BaseException | None]:
    """Each URL's data URI or failure, fetched concurrently; the first failure cancels the rest (None)."""
    gate = asyncio.Semaphore(MAX_CONCURRENT_FETCHES)

    async def one(url: str) -> str:
        async with gate:
            image = await fetcher.fetch(url, budget)
        return image.data_uri()  # the raw bytes are dropped here: one copy per image is kept, its base64

    tasks = {url: asyncio.ensure_future(one(url)) for url in urls}
    try:
        await asyncio.wait(tasks.values(), return_when=asyncio.FIRST_EXCEPTION)
    finally:
        for task in tasks.values():  # after a failure (or our own cancellation) the others are not needed
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
    return {url: None if task.cancelled() else (task.exception() or task.result()) for url, task in tasks.items()}


def _inline_image_bytes(request: ChatRequest) -> int:
    """Decoded bytes of the request's ``data:`` images (already within the total, :mod:`core.chat.limits`)."""
    return sum(data_uri_size(p.url) or 0 for m in request.messages for p in m.parts if p.type == "image")


def _api_error(error: ImageFetchError, param: str) -> APIError:
    return invalid_request(f"Invalid image URL in '{param}': {error.message}.", param=param, code=error.code)


__all__ = [
    "FetchedImage", "ImageBudget", "ImageFetchError", "ImageFetcher", "address_allowed", "inline_images", "parse_target",
    "sniff_image_type",
]
