"""Answers of public reads kept while the index holds what they were read from, with HTTP
validators: a strong `ETag`, `Cache-Control`, and 304 Not Modified to a matching
`If-None-Match`.

A verification report changes only when the index moves (events indexed, a reorg repaired, a
rebuild) or when the clock passes a certificate's expiry. `HeadCache` keeps answers while the
index head (its checkpoint, block number and hash) stays where they were checked; when it moves,
one database read of the index's version (its newest event) tells whether they still hold: after
a block without events they do, otherwise they are dropped. A valid certificate's answer holds
only until its expiry besides. The service's indexer moves the head within one poll interval of
a new block, and a write moves it before it answers; so no answer, a NOT FOUND included, is
older than one poll interval.

`CachedAnswersMiddleware` serves a kept answer in the event loop: no worker thread, no database
session, no FastAPI request handling. It sits inside the metrics and security-header
middlewares, so a cached answer is counted, timed and headed like every other.

Clients are told `Cache-Control: public, no-cache`: anyone may store the answer (it never holds an
identity) but must revalidate it before each use. A max-age would add its seconds to the poll
interval by which a certificate issued (or cancelled) a moment ago may already be read late; a
revalidation costs a 304 without a body.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Final

import anyio
from anyio import to_thread
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from kpchain.indexer.indexer import Indexer
from kpchain.runtime import Runtime
from kpchain.verification.verify import index_version

logger = logging.getLogger(__name__)

CACHE_CONTROL: Final = "public, no-cache"
MAX_ENTRIES: Final = 8192
"""Answers kept: the requests' numbers, hashes and signatures are the caller's to invent, so the
cache is bounded (least recently used first out; about 2 KB an answer)."""


class _Unknown:
    """The head when it is not known without I/O (before the index's first read)."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final = _Unknown()

CacheKey = tuple[str, bytes]
"""What an answer is kept under: the request's path and its raw query string. Only the route
stores answers, after validating the request, so a request matches a kept answer only when it
is byte for byte one the route has answered."""


def cache_key(scope: Scope) -> CacheKey:
    """The key of a request (its ASGI scope)."""
    return (str(scope["path"]), bytes(scope.get("query_string", b"")))


def index_head(indexer: Indexer) -> Hashable:
    """The checkpoint of `indexer` (block number and hash) as its process last wrote or read it,
    without I/O; `UNKNOWN` before it has read it once.

    It moves only after the store has committed the blocks up to it (the indexer remembers a
    checkpoint once written), so data read after reading the head is at least that fresh. The
    indexer has no public, I/O-free view of it (`Indexer.head` is the number alone and reads the
    database when it holds none), hence the private fields.
    """
    if not indexer._known_loaded:
        return UNKNOWN
    return indexer._known


def follow_index(cache: HeadCache, runtime: Runtime) -> None:
    """Binds `cache` to the service's index: its head, its version (`index_version`) and the
    clock statuses are read at."""

    def version() -> Hashable:
        with runtime.sessions() as session:
            return index_version(session)

    cache.bind(
        head=lambda: index_head(runtime.indexer), version=version, clock=runtime.authority.now
    )


def etag_of(body: bytes) -> str:
    """A strong entity tag of `body`: equal bodies, equal tags; any change of byte, another."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an `If-None-Match` header names `etag` (weak comparison, as RFC 9110 13.1.2
    asks for this header: `W/"x"` matches `"x"`), or is `*`."""
    if not if_none_match:
        return False
    for tag in if_none_match.split(","):
        tag = tag.strip()
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False


@dataclass(frozen=True)
class CachedAnswer:
    """A JSON answer with its validators, ready to send again.

    Attributes:
        body: the JSON body.
        etag: its strong entity tag.
        holds_until: the Unix time after which the answer may read otherwise at the same head
            (a valid certificate's expiry); None when only the index can change it.
    """

    body: bytes
    etag: str
    holds_until: int | None = None
    _headers: list[tuple[bytes, bytes]] = field(init=False, repr=False, compare=False)
    _validators: list[tuple[bytes, bytes]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        validators = [(b"etag", self.etag.encode()), (b"cache-control", CACHE_CONTROL.encode())]
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(self.body)).encode()),
            *validators,
        ]
        object.__setattr__(self, "_validators", validators)
        object.__setattr__(self, "_headers", headers)

    @classmethod
    def of(cls, body: bytes, *, holds_until: int | None = None) -> CachedAnswer:
        """The answer `body`, tagged."""
        return cls(body=body, etag=etag_of(body), holds_until=holds_until)

    def holds_at(self, now: int) -> bool:
        """Whether the answer still holds at Unix time `now` (the index unmoved)."""
        return self.holds_until is None or now <= self.holds_until

    def response(self, if_none_match: str | None) -> Response:
        """The answer as a response: 304 without a body when `if_none_match` names it."""
        if matches(if_none_match, self.etag):
            return Response(status_code=304, headers=self._header_dict(self._validators))
        return Response(
            content=self.body,
            media_type="application/json",
            headers=self._header_dict(self._validators),
        )

    async def send(self, scope: Scope, send: Send) -> None:
        """Sends the answer straight to the ASGI server: 304 when the request's
        `If-None-Match` names it."""
        if matches(_header(scope, b"if-none-match"), self.etag):
            await send({"type": "http.response.start", "status": 304, "headers": self._validators})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": 200, "headers": self._headers})
        await send({"type": "http.response.body", "body": self.body})

    @staticmethod
    def _header_dict(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
        return {name.decode(): value.decode() for name, value in headers}


class HeadCache:
    """Answers kept while the index holds what they were read from.

    Two values say where the index is. The *head* (`index_head`: the checkpoint in memory,
    read without I/O) says whether the index may have moved since the answers were checked; the
    *version* (a database read, e.g. `kpchain.verification.verify.index_version`: the newest
    event indexed) says whether what they were read from changed. When the head moves, one
    revalidation reads the version again: an empty block (QBFT and the devnet seal one every
    couple of seconds) keeps every answer, a block with events drops them all. Each answer is
    kept with the version read in the same database transaction as its data, and only while
    that is the version in force; a valid certificate's answer also only until its expiry.

    Thread-safe: the route stores answers from worker threads, the middleware reads them in the
    event loop. Until `bind` gives it the index's head, version and clock, it keeps nothing.

    Args:
        max_entries: answers kept at most (least recently used first out).
    """

    def __init__(self, *, max_entries: int = MAX_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be >= 1")
        self._max_entries = max_entries
        self._entries: OrderedDict[CacheKey, CachedAnswer] = OrderedDict()
        self._head_of: Callable[[], Hashable] = lambda: UNKNOWN
        self._version_of: Callable[[], Hashable] = lambda: UNKNOWN
        self._clock: Callable[[], int] = lambda: 0
        self._head: Hashable = UNKNOWN  # the head the entries were last checked at
        self._version: Hashable = UNKNOWN  # the version they were read at
        self._lock = threading.Lock()
        self._revalidating: anyio.Event | None = None  # set once the revalidation in hand ends

    def bind(
        self,
        *,
        head: Callable[[], Hashable],
        version: Callable[[], Hashable],
        clock: Callable[[], int],
    ) -> None:
        """Follows the index: `head` (without I/O; `UNKNOWN` when it cannot tell), `version`
        (read from the database, in a transaction of its own), and judges expiries by `clock`
        (Unix seconds, the clock statuses are read at)."""
        with self._lock:
            self._head_of, self._version_of, self._clock = head, version, clock
            self._entries.clear()
            self._head = self._version = UNKNOWN

    def head(self) -> Hashable:
        """The index head now. Read it *before* the data of an answer, and `put` the answer
        with it."""
        return self._head_of()

    def get(self, key: CacheKey) -> CachedAnswer | None:
        """The answer kept under `key`, if the index has not moved since it was checked and the
        answer still holds."""
        head = self._head_of()
        with self._lock:
            if head is UNKNOWN or head != self._head:
                return None
            answer = self._entries.get(key)
            if answer is None:
                return None
            self._entries.move_to_end(key)
        return answer if answer.holds_at(self._clock()) else None

    def moved(self) -> bool:
        """Whether the index head moved since the answers were last checked."""
        head = self._head_of()
        return head is not UNKNOWN and head != self._head

    async def revalidate(self) -> None:
        """Checks the answers against the index's version once the head moved: one database
        read in a worker thread, however many requests wait for it meanwhile."""
        pending = self._revalidating
        if pending is not None:
            await pending.wait()
            return
        done = self._revalidating = anyio.Event()
        try:
            await to_thread.run_sync(self._revalidate)
        finally:
            self._revalidating = None
            done.set()

    def _revalidate(self) -> None:
        head = self._head_of()  # first: the version read next is at least as new
        if head is UNKNOWN:
            return
        version = self._version_of()
        with self._lock:
            if version != self._version:
                self._entries.clear()
                self._version = version
            self._head = head

    def put(
        self, key: CacheKey, answer: CachedAnswer, *, head: Hashable, version: Hashable
    ) -> None:
        """Keeps `answer`, whose data was read after the head was `head` (see `head`), in the
        transaction that read the index's version `version`; kept only while both are the ones
        the answers were last checked at."""
        with self._lock:
            if head is UNKNOWN or head != self._head or version != self._version:
                return
            if head != self._head_of():
                return  # moved meanwhile: the next revalidation decides
            self._entries[key] = answer
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class CachedAnswersMiddleware:
    """Serves GET requests under `prefix` from `cache` when it holds their answer, as `route`
    would (the metrics label them with its template); every other request goes on to the app.

    Args:
        app: the application behind it.
        cache: the answers, stored by the route.
        prefix: the paths it looks at (the route's, up to its first parameter).
        route: the route whose answers they are.
    """

    def __init__(self, app: ASGIApp, *, cache: HeadCache, prefix: str, route: BaseRoute) -> None:
        self.app = app
        self.cache = cache
        self.prefix = prefix
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and str(scope["path"]).startswith(self.prefix)
        ):
            key = cache_key(scope)
            answer = self.cache.get(key)
            if answer is None and self.cache.moved():
                await self._revalidate()
                answer = self.cache.get(key)
            if answer is not None:
                scope["route"] = self.route
                await answer.send(scope, send)
                return
        await self.app(scope, receive, send)

    async def _revalidate(self) -> None:
        try:
            await self.cache.revalidate()
        except Exception:
            # The database failed to answer: the route will, and answers its error as every
            # route does; nothing is served from the cache meanwhile.
            logger.debug("answers not revalidated", exc_info=True)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None
