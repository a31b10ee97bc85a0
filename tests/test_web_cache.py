"""The web's page cache: entries expire, the least recently used go first, bytes are bounded."""

from __future__ import annotations

from bot.web.cache import Cached, PageCache


def entry(size: int, expires: float = 100.0) -> Cached:
    return Cached(b"x" * size, "text/html", "utf-8", expires)


def test_an_entry_is_served_until_it_expires() -> None:
    cache = PageCache(1000)
    cache.put("/a", entry(10, expires=5.0))
    assert cache.get("/a", 4.9) == entry(10, expires=5.0)
    assert cache.get("/a", 5.0) is None
    assert len(cache) == 0


def test_the_least_recently_used_go_first_and_bytes_stay_bounded() -> None:
    cache = PageCache(1000)
    for n in range(8):
        cache.put(f"/{n}", entry(100))
    assert cache.get("/0", 0.0) is not None  # /0 is now the most recently used
    cache.put("/new", entry(120))
    cache.put("/newer", entry(120))
    assert cache.get("/1", 0.0) is None  # the oldest unused one made room: 1,040 > 1,000
    assert all(cache.get(key, 0.0) is not None for key in ("/0", "/2", "/3"))
    assert sum(len(cache.get(k, 0.0).body) for k in ("/0", "/3", "/new")) == 320  # type: ignore[union-attr]
    assert cache.fits(125) and not cache.fits(126)
    cache.put("/huge", entry(126))  # more than an eighth of the whole: never kept
    assert cache.get("/huge", 0.0) is None and len(cache) == 9
    cache.put("/0", entry(5))
    assert cache.get("/0", 0.0) == entry(5)


def test_the_compressed_copy_counts_towards_the_bound() -> None:
    cache = PageCache(1200)
    both = Cached(b"x" * 100, "text/html", "utf-8", 100.0, b"z" * 30)
    assert both.size == 130
    for n in range(10):
        cache.put(f"/{n}", both)
    assert len(cache) == 9 and cache.get("/0", 0.0) is None  # 10 x 130 = 1,300 > 1,200
    cache.put("/huge", Cached(b"x" * 100, "text/html", "utf-8", 100.0, b"z" * 60))
    assert cache.get("/huge", 0.0) is None  # 160 > an eighth, though its body alone is not


def test_an_entry_past_its_time_is_stale_for_its_grace_then_gone() -> None:
    cache = PageCache(1000)
    kept = Cached(b"x", "text/html", "utf-8", 5.0, None, 2.0)
    cache.put("/a", kept)
    assert (cache.get("/a", 4.9), cache.stale("/a", 4.9)) == (kept, None)
    assert (cache.get("/a", 5.0), cache.stale("/a", 6.9)) == (None, kept)
    assert cache.stale("/a", 7.0) is None
    assert len(cache) == 0
