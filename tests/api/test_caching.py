"""The answers kept at the index head (`kpchain.api.caching`), on their own: the index's head,
version and clock are plain values these tests move by hand (the API tests in test_verify.py
run the same cache against anvil, the indexer and a database)."""

from __future__ import annotations

import re
from collections.abc import Hashable

import anyio
import pytest

from kpchain.api.caching import UNKNOWN, CachedAnswer, HeadCache, etag_of, matches

KEY = ("/v1/verify/BW-2026-000001", b"")
OTHER = ("/v1/verify/BW-2026-000002", b"doc_hash=0x" + b"ab" * 32)


class Index:
    """A stand-in index: its head, its version and the clock, set by the test."""

    def __init__(self) -> None:
        self.head: Hashable = (10, "0xa")
        self.version: Hashable = (9, "0x9", 0)
        self.now = 1_000
        self.version_reads = 0

    def read_version(self) -> Hashable:
        self.version_reads += 1
        return self.version


def _bound(index: Index, **options: int) -> HeadCache:
    cache = HeadCache(**options)
    cache.bind(head=lambda: index.head, version=index.read_version, clock=lambda: index.now)
    anyio.run(cache.revalidate)
    return cache


def _put(cache: HeadCache, index: Index, key: tuple[str, bytes], body: bytes) -> CachedAnswer:
    answer = CachedAnswer.of(body)
    cache.put(key, answer, head=index.head, version=index.version)
    return answer


def test_cache_keeps_an_answer_while_the_head_stays() -> None:
    index = Index()
    cache = _bound(index)

    answer = _put(cache, index, KEY, b'{"found": false}')

    assert cache.get(KEY) is answer
    assert cache.get(OTHER) is None
    assert not cache.moved()


def test_cache_keeps_answers_across_a_head_move_when_the_version_stays() -> None:
    index = Index()
    cache = _bound(index)
    answer = _put(cache, index, KEY, b"{}")

    index.head = (11, "0xb")  # an empty block
    assert cache.moved()
    assert cache.get(KEY) is None  # not before the version is read again
    anyio.run(cache.revalidate)

    assert cache.get(KEY) is answer
    assert not cache.moved()


def test_cache_drops_answers_when_the_version_changes() -> None:
    index = Index()
    cache = _bound(index)
    _put(cache, index, KEY, b"{}")

    index.head, index.version = (11, "0xb"), (11, "0xb", 0)  # a block with an event
    anyio.run(cache.revalidate)

    assert cache.get(KEY) is None
    assert len(cache) == 0


def test_cache_drops_answers_when_a_reorg_replaces_the_head_at_the_same_height() -> None:
    index = Index()
    cache = _bound(index)
    _put(cache, index, KEY, b"{}")

    index.head, index.version = (10, "0xc"), (10, "0xc", 0)

    assert cache.moved()
    anyio.run(cache.revalidate)
    assert cache.get(KEY) is None


def test_cache_does_not_keep_an_answer_read_before_the_head_moved() -> None:
    index = Index()
    cache = _bound(index)
    head, version = cache.head(), index.version

    index.head = (11, "0xb")  # the index moved while the answer was being read
    cache.put(KEY, CachedAnswer.of(b"{}"), head=head, version=version)
    anyio.run(cache.revalidate)

    assert cache.get(KEY) is None


def test_cache_does_not_keep_an_answer_of_another_version_than_the_one_checked() -> None:
    index = Index()
    cache = _bound(index)

    cache.put(KEY, CachedAnswer.of(b"{}"), head=index.head, version=(12, "0xd", 3))

    assert cache.get(KEY) is None


def test_cache_keeps_nothing_while_the_head_is_unknown() -> None:
    index = Index()
    cache = _bound(index)
    index.head = UNKNOWN

    anyio.run(cache.revalidate)
    cache.put(KEY, CachedAnswer.of(b"{}"), head=UNKNOWN, version=index.version)

    assert cache.get(KEY) is None
    assert not cache.moved()


def test_cache_keeps_nothing_before_it_is_bound() -> None:
    cache = HeadCache()

    anyio.run(cache.revalidate)
    cache.put(KEY, CachedAnswer.of(b"{}"), head=(10, "0xa"), version=None)

    assert cache.get(KEY) is None


def test_cache_answer_of_a_valid_certificate_holds_until_its_expiry() -> None:
    index = Index()
    cache = _bound(index)
    answer = CachedAnswer.of(b'{"status": "issued"}', holds_until=2_000)
    cache.put(KEY, answer, head=index.head, version=index.version)

    index.now = 2_000
    assert cache.get(KEY) is answer  # expired only once the clock is past it
    index.now = 2_001
    assert cache.get(KEY) is None


def test_cache_drops_the_least_recently_used_answer_beyond_its_size() -> None:
    index = Index()
    cache = _bound(index, max_entries=2)
    first = _put(cache, index, KEY, b"1")
    _put(cache, index, OTHER, b"2")

    assert cache.get(KEY) is first  # now the most recently used
    third = ("/v1/verify/BW-2026-000003", b"")
    _put(cache, index, third, b"3")

    assert cache.get(KEY) is first
    assert cache.get(OTHER) is None
    assert len(cache) == 2


def test_cache_revalidation_reads_the_version_once_for_all_waiting_requests() -> None:
    index = Index()
    cache = _bound(index)
    reads = index.version_reads
    index.head = (11, "0xb")

    async def crowd() -> None:
        async with anyio.create_task_group() as group:
            for _ in range(20):
                group.start_soon(cache.revalidate)

    anyio.run(crowd)

    assert index.version_reads == reads + 1


def test_cache_refuses_a_size_below_one() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        HeadCache(max_entries=0)


# --- validators ------------------------------------------------------------------------------


def test_etag_is_strong_and_follows_every_byte_of_the_body() -> None:
    tag = etag_of(b'{"found": true}')

    assert re.fullmatch(r'"[0-9a-f]{32}"', tag)  # quoted, without W/
    assert etag_of(b'{"found": true}') == tag
    assert etag_of(b'{"found": true} ') != tag


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('"abc"', True),
        ('W/"abc"', True),  # If-None-Match compares weakly
        ('"x", "abc"', True),
        ("*", True),
        ('"abcd"', False),
        ("abc", False),  # not quoted: not this tag
        ("", False),
        (None, False),
    ],
)
def test_if_none_match_names_the_tag(header: str | None, expected: bool) -> None:
    assert matches(header, '"abc"') is expected


def test_cached_answer_answers_304_without_body_to_its_own_tag() -> None:
    answer = CachedAnswer.of(b'{"found": false}')

    not_modified = answer.response(answer.etag)
    full = answer.response('"other"')

    assert not_modified.status_code == 304
    assert not_modified.body == b""
    assert not_modified.headers["etag"] == answer.etag
    assert not_modified.headers["cache-control"] == "public, no-cache"
    assert full.status_code == 200
    assert full.body == b'{"found": false}'
    assert full.headers["content-type"] == "application/json"
