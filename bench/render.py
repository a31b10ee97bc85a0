"""Benchmark: render and write all five files of a large meeting, report time and memory.

A 20,000-line meeting with 500 items (several topics, every item kind, a vote) and 30
speakers is built in memory, then published into a temporary directory through
`bot.writers.publish`, as the engine does at `#endmeeting`. Targets: under 0.25 s of wall
time and under 45 MB peak RSS. Run: `.venv/bin/python bench/render.py`.
"""

from __future__ import annotations

import random
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.core.messages import vote_item_text
from bot.core.record import (
    LINE_ACTION,
    LINE_MESSAGE,
    Ballot,
    Chair,
    Item,
    LogLine,
    MeetingRecord,
    VoteRecord,
)
from bot.settings import OutputSettings
from bot.writers.publish import choose_base, write_meeting_files

LINES = 20_000
ITEMS = 500
SPEAKERS = 30
TOPICS = 12
TIME_LIMIT_S = 0.25
RSS_LIMIT_MB = 45.0

_SENTENCE = (
    "the patch needs another review before we can merge it into the stable branch and "
    "then backport the fix to the previous release once the gate is green again"
)
_WORDS = _SENTENCE.split(" ")
_ITEM_KINDS = ("info", "action", "idea", "help", "link", "agreed", "accepted", "rejected")


def _text(rng: random.Random, nicks: list[str], n: int) -> str:
    words = rng.sample(_WORDS, rng.randint(4, 14))
    roll = n % 10
    if roll == 0:
        words.append(f"https://review.example.org/{n}")
    elif roll == 1:
        words.insert(0, f"{rng.choice(nicks)}:")
    elif roll == 2:
        words[0] = f"\x02{words[0]}\x02"
    elif roll == 3:
        words.append("<b>&amp;</b>")
    elif roll == 4:
        # Non-ASCII text makes Python's strings wider, which is what memory is sensitive to.
        words.append(rng.choice(("naïve café", "Grüße – ok", "这个补丁", "ship it 🚀")))
    return " ".join(words)


def build_record() -> MeetingRecord:
    rng = random.Random(20130109)
    nicks = [f"person{i:02d}" for i in range(SPEAKERS - 1)] + ["meetbot"]
    start = datetime(2013, 1, 9, 20, 0, 0, tzinfo=UTC)
    item_every = LINES // ITEMS
    topic_every = ITEMS // TOPICS
    lines: list[LogLine] = []
    items: list[Item] = []
    for n in range(1, LINES + 1):
        moment = start + timedelta(milliseconds=300 * n)
        nick = nicks[rng.randrange(SPEAKERS)]
        text = _text(rng, nicks, n)
        kind = LINE_MESSAGE
        if n % item_every == 0 and len(items) < ITEMS - 1:
            number = len(items)
            item_kind = "topic" if number % topic_every == 0 else _ITEM_KINDS[number % 8]
            if item_kind == "action":
                text = f"{rng.choice(nicks)} to {text}"
            url = f"https://example.org/{n}" if item_kind == "link" else None
            if url:
                text = f"{url} {text}"
            items.append(Item(number + 1, item_kind, text, nick, moment, n, url))
            text = f"#{item_kind} {text}"
        elif n % 97 == 0:
            kind = LINE_ACTION
        lines.append(LogLine(n, moment, nick, kind, text))
    vote = VoteRecord(
        id=1,
        question="Release now?",
        options=("Yes", "No", "Abstain"),
        ballots=tuple(Ballot(nick, rng.choice(("Yes", "No"))) for nick in nicks[:20]),
        opened_by=nicks[0],
        opened_at=lines[-10].time,
        opened_line=LINES - 9,
        closed_at=lines[-2].time,
        closed_line=LINES - 1,
    )
    items.append(
        Item(
            ITEMS,
            "vote",
            vote_item_text(vote),
            nicks[0],
            lines[-2].time,
            LINES - 1,
        )
    )
    return MeetingRecord(
        id=1,
        network="bench",
        channel="#bench-meeting",
        name="bench",
        topic="Bench meeting",
        owner=nicks[0],
        chairs=(Chair(nicks[0]),),
        timezone="Europe/Berlin",
        start=start,
        end=lines[-1].time,
        length_minutes=60,
        info_url="http://wiki.debian.org/MeetBot",
        bot_nick="meetbot",
        casemapping="rfc1459",
        restricted=False,
        lurking=False,
        lines=tuple(lines),
        items=tuple(items),
        votes=(vote,),
        named=(),
        presence=(),
        gaps=(),
    )


def publish_once(record: MeetingRecord, root: Path) -> tuple[float, float]:
    """Wall and CPU seconds taken to choose the files' base and write all five files."""
    output = OutputSettings(dir=root, url_prefix="https://meetings.example.org/")
    wall, cpu = time.perf_counter(), time.process_time()
    write_meeting_files(record, output, choose_base(record, output))
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> int:
    record = build_record()
    with tempfile.TemporaryDirectory() as fresh, tempfile.TemporaryDirectory() as again:
        # A fresh directory first, then overwrites of the same files, as #save then #endmeeting.
        timings = [publish_once(record, Path(fresh if n == 0 else again)) for n in range(5)]
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        size = sum(p.stat().st_size for p in Path(again).rglob("*") if p.is_file())
        tracemalloc.start()
        publish_once(record, Path(again))
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    best = min(wall for wall, _ in timings)
    best_cpu = min(cpu for _, cpu in timings)
    print(f"lines={LINES} items={ITEMS} speakers={SPEAKERS} bytes written={size:,}")
    print(
        f"wall time: first {timings[0][0]:.3f} s, best of 5 {best:.3f} s "
        f"(target < {TIME_LIMIT_S} s); CPU time best of 5 {best_cpu:.3f} s"
    )
    print(f"tracemalloc peak during one publish: {traced_peak / 2**20:.1f} MB")
    print(f"peak RSS of the process (ru_maxrss): {rss_mb:.1f} MB (target < {RSS_LIMIT_MB} MB)")
    ok = best < TIME_LIMIT_S and rss_mb < RSS_LIMIT_MB
    print("OK" if ok else "OVER TARGET")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
