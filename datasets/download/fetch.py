"""Fetch one URL politely and safely: per-host limits, timeouts, bounded retries, a size cap.

Pure Python (requests + urllib3), no Django. `Fetcher.fetch(url)` never raises for network
trouble: it returns a `Fetched` with the body, or with a short failure `reason` and a `detail`.

Safety: a public manifest must not make the server probe its own network, so hosts resolving to
loopback, private, link-local, multicast or reserved addresses are refused before connecting, and
every new connection checks its peer address again (a DNS answer may change between the two).
"""

from __future__ import annotations

import email.utils
import ipaddress
import random
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

USER_AGENT = "cansite-downloader/1.0 (+research dataset builder)"
CHUNK = 256 * 1024
MAX_BACKOFF_S = 60.0


@dataclass(frozen=True)
class FetchSettings:
    timeout: float = 30.0
    retries: int = 3
    max_bytes: int = 30 * 1024 * 1024
    max_redirects: int = 5
    per_host: int = 4
    allow_private: bool = False
    backoff_base: float = 0.5


@dataclass
class Fetched:
    url: str
    body: bytes | None = None
    http_status: int | None = None
    attempts: int = 0
    elapsed_s: float = 0.0
    reason: str = ""
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.body is not None


class Refused(Exception):
    """A failure that is final for this URL (no retry): carries the reason code."""

    def __init__(self, reason: str, detail: str, http_status: int | None = None):
        super().__init__(detail)
        self.reason, self.detail, self.http_status = reason, detail, http_status


class Retryable(Exception):
    def __init__(self, reason: str, detail: str, http_status: int | None = None, wait: float | None = None):
        super().__init__(detail)
        self.reason, self.detail, self.http_status, self.wait = reason, detail, http_status, wait


class PrivateAddress(Exception):
    """Raised inside urllib3 when a connection's peer is not a public address."""


def is_public(ip: str) -> bool:
    address = ipaddress.ip_address(ip.split("%")[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def check_host_is_public(host: str, port: int) -> None:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Retryable("connection-error", f"cannot resolve {host}: {exc}") from None
    for *_, sockaddr in infos:
        if not is_public(sockaddr[0]):
            raise Refused("private-address", f"{host} resolves to {sockaddr[0]}")


class _PeerCheck:
    def _new_conn(self):
        sock = super()._new_conn()
        peer = sock.getpeername()[0]
        if not is_public(peer):
            sock.close()
            raise PrivateAddress(f"{self.host} connected to {peer}")
        return sock


class _GuardedHTTPConnection(_PeerCheck, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_PeerCheck, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After is either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # str.isdigit() also passes '²', which float() refuses
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class HostLimiter:
    """At most `per_host` connections at once to each host:port."""

    def __init__(self, per_host: int):
        self.per_host = per_host
        self._lock = threading.Lock()
        self._semaphores: dict[str, threading.BoundedSemaphore] = {}

    def __call__(self, url: str) -> threading.BoundedSemaphore:
        parts = urlsplit(url)
        key = f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
        with self._lock:
            if key not in self._semaphores:
                self._semaphores[key] = threading.BoundedSemaphore(self.per_host)
            return self._semaphores[key]


class Fetcher:
    def __init__(self, settings: FetchSettings, pool_size: int = 64):
        self.settings = settings
        self.limit = HostLimiter(settings.per_host)
        self.session = requests.Session()
        self.session.headers.update({"User-Agent": USER_AGENT, "Accept": "image/*,*/*;q=0.8"})
        adapter_cls = HTTPAdapter if settings.allow_private else _GuardedAdapter
        adapter = adapter_cls(pool_connections=pool_size, pool_maxsize=max(settings.per_host, 1), max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def close(self) -> None:
        self.session.close()

    def fetch(self, url: str) -> Fetched:
        result = Fetched(url=url)
        started = time.monotonic()
        try:
            while True:
                result.attempts += 1
                try:
                    result.body, result.http_status = self._follow_redirects(url)
                    break
                except Retryable as exc:
                    result.http_status = exc.http_status or result.http_status
                    if result.attempts > self.settings.retries:
                        result.reason, result.detail = exc.reason, exc.detail
                        break
                    time.sleep(self._backoff(result.attempts, exc.wait))
        except Refused as exc:
            result.reason, result.detail = exc.reason, exc.detail
            result.http_status = exc.http_status or result.http_status
        result.elapsed_s = time.monotonic() - started
        return result

    def _backoff(self, attempt: int, server_wait: float | None) -> float:
        if server_wait is not None:
            return min(server_wait, MAX_BACKOFF_S)
        # Exponential with jitter, so that many workers do not retry one host in lockstep.
        return min(self.settings.backoff_base * 2 ** (attempt - 1) * (0.5 + random.random()), MAX_BACKOFF_S)

    def _follow_redirects(self, url: str) -> tuple[bytes, int]:
        for _hop in range(self.settings.max_redirects + 1):
            try:  # a manifest or a Location header may hold https://[::1 or a port of 99999
                parts = urlsplit(url)
                port = parts.port or (443 if parts.scheme == "https" else 80)
            except ValueError as exc:
                raise Refused("bad-url", f"cannot fetch {url[:200]!r}: {exc}") from None
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise Refused("bad-url", f"cannot fetch {url[:200]!r}")
            if not self.settings.allow_private:
                check_host_is_public(parts.hostname, port)
            with self.limit(url):
                outcome = self._get_once(url)
            if isinstance(outcome, str):
                url = outcome
                continue
            return outcome
        raise Refused("too-many-redirects", f"more than {self.settings.max_redirects} redirects")

    def _get_once(self, url: str) -> tuple[bytes, int] | str:
        """One GET: the body and status, or the next URL of a redirect."""
        timeout = self.settings.timeout
        try:
            with self.session.get(url, stream=True, timeout=(timeout, timeout), allow_redirects=False) as response:
                status = response.status_code
                if status in (301, 302, 303, 307, 308) and response.headers.get("Location"):
                    return urljoin(url, response.headers["Location"])
                check_status(status, response.headers)
                return self._read_body(response, time.monotonic() + timeout), status
        except PrivateAddress as exc:
            raise Refused("private-address", str(exc)) from None
        except requests.exceptions.ConnectionError as exc:
            if isinstance(exc.__context__, PrivateAddress) or "PrivateAddress" in str(exc):
                raise Refused("private-address", str(exc)) from None
            if isinstance(exc, requests.exceptions.ConnectTimeout) or "timed out" in str(exc):
                raise Retryable("timeout", f"connect timed out after {timeout}s") from None
            raise Retryable("connection-error", short(exc)) from None
        except requests.exceptions.Timeout:
            raise Retryable("timeout", f"no response within {timeout}s") from None
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
            raise Retryable("connection-error", short(exc)) from None
        except requests.exceptions.InvalidURL as exc:
            raise Refused("bad-url", short(exc)) from None
        except requests.exceptions.RequestException as exc:
            raise Retryable("connection-error", short(exc)) from None
        except ValueError as exc:  # requests parses a redirect's Location even when it does not follow it
            raise Refused("bad-url", short(exc)) from None

    def _read_body(self, response: requests.Response, deadline: float) -> bytes:
        cap = self.settings.max_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            raise Refused("too-large", f"Content-Length {declared} exceeds {cap} bytes")
        body = bytearray()
        for chunk in response.iter_content(CHUNK):
            body += chunk
            if len(body) > cap:
                raise Refused("too-large", f"body exceeds {cap} bytes")
            # The read timeout bounds each wait; this bounds a body that trickles in forever.
            if time.monotonic() > deadline:
                raise Retryable("timeout", f"body not complete within {self.settings.timeout}s")
        if declared.isdigit() and len(body) < int(declared):
            raise Retryable("connection-error", f"body ended at {len(body)} of {declared} bytes")
        return bytes(body)


def check_status(status: int, headers) -> None:
    if status == 429:
        raise Retryable("http-429", "429 Too Many Requests", 429, retry_after_seconds(headers.get("Retry-After")))
    if status >= 500:
        raise Retryable("http-5xx", f"HTTP {status}", status, retry_after_seconds(headers.get("Retry-After")))
    if status >= 400:
        raise Refused(f"http-{status}" if status in (403, 404, 410) else "http-4xx", f"HTTP {status}", status)
    if status != 200:
        raise Refused("http-status", f"unexpected HTTP {status}", status)


def short(exc: Exception, limit: int = 300) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= limit else text[: limit - 3] + "..."
