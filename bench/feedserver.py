"""A loopback feed server for the poll benchmark (bench/poll.py).

Serves N generated, news-like RSS 2.0 feeds of M entries each at /feed/<i>.xml, from bytes built in
memory (deterministic for a given seed). Run it in its own process so its CPU is not counted
against the poller being measured:

    python bench/feedserver.py --feeds 1000 --entries 50 [--port 0]

It prints ``PORT <n>`` on stdout once it listens and exits when its stdin closes (so it dies with
the benchmark that started it). Control and counters:

    POST /control?validators=on|off&generation=K   switch validators / move every feed forward
    GET  /control                                   current state (JSON)
    GET  /stats[?reset=1]                           requests served by status since the last reset

Validators on: ETag and Last-Modified are sent and If-None-Match / If-Modified-Since answer 304.
Validators off: neither header is sent and every request gets a 200 with the full body.
Generation K: every feed has gained 2 new entries per generation at the top; it keeps M entries,
so the oldest drop off.

--html light (default): two short paragraphs and one link (~60 words). --html heavy: descriptions
of real size, 500–2,000 characters of HTML as news sites publish them: a figure with an image and
caption, several paragraphs with links, bold and italics, sometimes a list or a quote.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import random
import sys
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from xml.sax.saxutils import escape

from aiohttp import web

NEW_PER_GENERATION = 2
BASE_TIME = datetime(2025, 1, 6, 6, 0, tzinfo=UTC)
STEP = timedelta(minutes=37)  # between consecutive entries of one feed

COMPANIES = (
    "Nvidia", "AMD", "Intel", "TSMC", "Huawei", "SMIC", "Cambricon", "Alibaba", "Ant Group",
    "DeepSeek", "Samsung", "SK Hynix", "Micron", "Broadcom", "Marvell", "Qualcomm", "Arm",
    "Google", "Amazon", "Microsoft", "Meta", "Cerebras", "Groq", "Tenstorrent", "Graphcore",
)  # fmt: skip
NOUNS = (
    "accelerator", "GPU", "chip", "wafer", "foundry", "node", "packaging", "HBM", "datacenter",
    "cluster", "supply", "export", "license", "roadmap", "inference", "training", "model",
    "interconnect", "substrate", "yield", "capacity", "order", "shipment", "revenue", "margin",
    "startup", "fab", "lithography", "memory", "server", "rack", "network", "software", "compiler",
    "benchmark", "tariff", "regulator", "investor", "partner", "customer", "analyst", "market",
)  # fmt: skip
VERBS = (
    "unveils", "ships", "delays", "expands", "cuts", "raises", "wins", "loses", "tests", "doubles",
    "signs", "targets", "challenges", "reports", "plans", "confirms", "denies", "halts", "boosts",
)  # fmt: skip
# General English, unrelated to chips; function words make up about half of real running text.
FUNCTION = (
    "the", "the", "the", "a", "a", "an", "of", "of", "to", "to", "in", "in", "and", "and", "for",
    "on", "at", "by", "with", "from", "as", "that", "this", "it", "its", "is", "was", "were", "be",
    "been", "has", "have", "had", "will", "would", "could", "may", "not", "but", "or", "if", "than",
    "more", "most", "about", "after", "before", "over", "under", "into", "while", "which", "who",
    "their", "they", "he", "she", "we", "our", "his", "her", "some", "all", "any", "other", "such",
    "also", "only", "so", "just", "still", "since", "when", "where", "both", "each", "very",
)  # fmt: skip
GENERAL = (
    # nouns
    "people", "time", "year", "week", "month", "day", "morning", "evening", "city", "country",
    "government", "company", "group", "official", "officials", "statement", "report", "plan",
    "decision", "meeting", "talks", "deal", "agreement", "team", "board", "office", "job", "jobs",
    "worker", "workers", "staff", "family", "home", "school", "student", "teacher", "price",
    "prices", "cost", "costs", "money", "budget", "tax", "bank", "loan", "shares", "stock",
    "sales", "profit", "quarter", "forecast", "growth", "economy", "industry", "business", "change",
    "question", "problem", "issue", "effort", "result", "results", "record", "number", "figure",
    "part", "point", "side", "end", "start", "case", "court", "judge", "law", "rule", "rules",
    "policy", "leader", "minister", "president", "spokesperson", "interview", "letter", "document",
    "view", "idea", "story", "news", "event", "conference", "visit", "trip", "road", "building",
    "project", "program", "service", "product", "products", "system", "step", "level", "rate",
    "share", "demand", "pressure", "risk", "concern", "concerns", "weather", "summer", "winter",
    "spring", "autumn", "election", "vote", "campaign", "lawmakers", "committee", "union", "strike",
    "protest", "crowd", "audience", "reporter", "newspaper", "website", "email", "phone", "car",
    "train", "flight", "airport", "port", "river", "area", "region", "border", "coast", "town",
    "village", "street", "hospital", "doctor", "patient", "health", "food", "water", "weekend",
    "holiday", "season", "history", "future", "moment", "period",
    # verbs
    "said", "says", "told", "added", "noted", "according", "expects", "expected", "wants", "needs",
    "makes", "made", "takes", "took", "gives", "gave", "comes", "came", "goes", "went", "sees",
    "saw", "looks", "looked", "keeps", "kept", "leaves", "left", "started", "ended", "shows",
    "showed", "hopes", "believes", "thinks", "agreed", "announced", "declined", "refused", "asked",
    "answered", "called", "described", "explained", "warned", "argued", "suggested", "pointed",
    "reached", "moved", "opened", "closed", "turned", "helped", "tried", "worked", "remained",
    "became", "seemed", "happened", "increased", "fell", "rose", "grew", "dropped", "gained",
    "lost", "paid", "spent", "bought", "sold", "built", "hired", "met", "joined", "visited",
    "returned", "received", "offered", "include", "including", "comment", "respond", "decide",
    "continue", "consider", "follow",
    # adjectives and adverbs
    "new", "old", "big", "small", "large", "long", "short", "high", "low", "early", "late", "good",
    "bad", "best", "better", "major", "minor", "key", "main", "local", "national", "public",
    "private", "former", "recent", "latest", "current", "next", "last", "first", "second", "third",
    "several", "many", "few", "much", "little", "strong", "weak", "clear", "likely", "possible",
    "important", "different", "similar", "special", "simple", "difficult", "easy", "open", "full",
    "free", "real", "true", "final", "annual", "monthly", "weekly", "daily", "already", "again",
    "later", "soon", "now", "then", "today", "yesterday", "recently", "never", "always", "often",
    "sometimes", "perhaps", "quickly", "slowly", "nearly", "almost", "around", "together",
    "however", "meanwhile", "instead", "otherwise", "earlier", "ahead",
)  # fmt: skip
AUTHORS = ("Ana Ruiz", "Wei Zhang", "Marco Bianchi", "Priya Nair", "John Park", "Lena Vogel")


def _filler(rng: random.Random) -> str:
    return rng.choice(FUNCTION) if rng.random() < 0.45 else rng.choice(GENERAL)


def _words(rng: random.Random, count: int, company: str, mentions: int, topics: int) -> list[str]:
    """`count` general-English words, `mentions` of them the company, `topics` topic nouns."""
    words = [_filler(rng) for _ in range(count)]
    specials = [company] * mentions + [rng.choice(NOUNS) for _ in range(topics)]
    for slot, word in zip(rng.sample(range(count), len(specials)), specials, strict=True):
        words[slot] = word
    return words


def _sentences(rng: random.Random, words: list[str]) -> str:
    """Words into sentences of 8-16 words: capital first letter, a comma now and then, stops."""
    out: list[str] = []
    left = 0
    for index, word in enumerate(words):
        if left == 0 and len(words) - index < 5:
            left = 5  # no 1-4 word sentence at the end: run on
        if left == 0:
            if out:
                out[-1] += "."
            word = word[0].upper() + word[1:]
            left = rng.randint(8, 16)
        elif index + 1 < len(words) and left > 2 and rng.random() < 0.06:
            word += ","
        out.append(word)
        left -= 1
    return " ".join(out)


HEAVY_MIN, HEAVY_MAX = 500, 2_000


def _heavy_html(rng: random.Random, company: str, serial: int) -> str:
    """A description of real size: 500–2,000 characters of markup-rich HTML."""
    host = company.lower().replace(" ", "") + ".example.com"
    target = rng.randint(HEAVY_MIN, HEAVY_MAX - 300)
    parts = [
        f'<figure><img src="https://cdn.{host}/img/{serial}-{rng.randint(1, 999)}.jpg" '
        f'alt="{company} {rng.choice(NOUNS)}" width="{rng.choice((640, 800, 1200))}" height="450" '
        f'loading="lazy"><figcaption>{escape(_sentences(rng, _words(rng, 8, company, 1, 1)))}'
        "</figcaption></figure>"
    ]
    while sum(map(len, parts)) < target:
        words = _words(rng, rng.randint(18, 30), company, rng.randint(0, 1), rng.randint(0, 2))
        words[rng.randrange(len(words))] = f"<strong>{words[0]}</strong>"
        anchor = " ".join(_filler(rng) for _ in range(rng.randint(2, 4)))
        link = f'<a href="https://{host}/news/{serial}/{rng.randint(1, 99)}" rel="noopener">'
        text = _sentences(rng, words)
        cut = text.find(" ", len(text) // 2)
        kind = rng.random()
        if kind < 0.15:
            items = "".join(f"<li>{_filler(rng)} {rng.choice(NOUNS)}</li>" for _ in range(3))
            parts.append(f"<ul>{items}</ul>")
        elif kind < 0.25:
            parts.append(f"<blockquote><p><em>{text}.</em></p></blockquote>")
        else:
            parts.append(f"<p>{text[:cut]} {link}{anchor}</a>{text[cut:]}.</p>")
    return "".join(parts)


def entry_xml(seed: int, feed: int, serial: int, heavy: bool = False) -> str:
    """One <item>: a pure function of (seed, feed, serial), so old entries never change."""
    rng = random.Random(seed * 1_000_003_000_000 + feed * 1_000_003 + serial)
    company = rng.choice(COMPANIES)
    # title: 8-12 words naming the company (another one a quarter of the time), 1-2 topic nouns
    other = rng.choice(COMPANIES)
    rest = _words(rng, rng.randint(6, 10), other, int(rng.random() < 0.25), rng.randint(1, 2))
    title_words = [company, rng.choice(VERBS), *rest]
    title = " ".join(title_words)
    title = title[0].upper() + title[1:]
    slug = "-".join(w.lower() for w in title_words[:6]).replace(" ", "-")
    link = f"https://news{feed % 97}.example.com/{2025 + serial // 5000}/{feed}/{serial}/{slug}"
    # two paragraphs of 25-35 words (the first counts "R&D" and a 3-word link): the company once
    # or twice and at most 2-3 topic nouns each, the rest general English
    para_one = _words(rng, rng.randint(21, 31), company, rng.randint(1, 2), rng.randint(0, 2))
    anchor = " ".join(_filler(rng) for _ in range(3))
    para_two = _words(rng, rng.randint(25, 35), company, rng.randint(1, 2), rng.randint(1, 3))
    html = (
        f'<p>{_sentences(rng, para_one)} R&amp;D <a href="https://'
        f'{company.lower().replace(" ", "")}.example.com/press/{serial}">{anchor}</a>.</p>'
        f"<p>{_sentences(rng, para_two)}.</p>"
    )
    if heavy:
        html = _heavy_html(rng, company, serial)
    when = format_datetime(BASE_TIME + serial * STEP)
    if serial % 3 == 0:
        guid = f'<guid isPermaLink="true">{escape(link)}</guid>'
    else:
        guid = f'<guid isPermaLink="false">bench-{feed}-{serial}</guid>'
    parts = [
        "<item>",
        f"<title>{escape(title)}</title>",
        f"<link>{escape(link)}</link>",
        guid,
        f"<pubDate>{when}</pubDate>",
    ]
    if serial % 4 == 1:
        parts.append(f"<dc:creator>{escape(rng.choice(AUTHORS))}</dc:creator>")
    if feed % 2:
        parts.append(f"<description>{escape(html)}</description>")
    else:
        parts.append(f"<description><![CDATA[{html}]]></description>")
    parts.append("</item>")
    return "".join(parts)


class FeedSet:
    """The feeds' bytes and validators for the current generation, built in memory."""

    def __init__(self, feeds: int, entries: int, seed: int, heavy: bool = False) -> None:
        self.heavy = heavy
        self.feeds = feeds
        self.entries = entries
        self.seed = seed
        self.generation = -1
        self.validators = True
        self._items: dict[tuple[int, int], str] = {}
        self.bodies: list[bytes] = []
        self.etags: list[str] = []
        self.last_modified: list[str] = []
        self.last_modified_at: datetime = BASE_TIME
        self.build(0)

    def _item(self, feed: int, serial: int) -> str:
        key = (feed, serial)
        item = self._items.get(key)
        if item is None:
            item = self._items[key] = entry_xml(self.seed, feed, serial, self.heavy)
        return item

    def build(self, generation: int) -> None:
        if generation == self.generation:
            return
        first = generation * NEW_PER_GENERATION  # oldest serial still in the feed
        newest = first + self.entries - 1
        self.last_modified_at = BASE_TIME + newest * STEP
        stamp = format_datetime(self.last_modified_at, usegmt=True)
        bodies, etags = [], []
        for feed in range(self.feeds):
            items = "".join(self._item(feed, s) for s in range(newest, first - 1, -1))
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">'
                f"<channel><title>Bench Chip News {feed}</title>"
                f"<link>https://news{feed % 97}.example.com/</link>"
                f"<description>Generated AI-chip news, feed {feed}</description>"
                f"<language>en</language><lastBuildDate>{stamp}</lastBuildDate>"
                f"{items}</channel></rss>\n"
            ).encode()
            bodies.append(body)
            etags.append('"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"')
        # drop items that fell off every feed so memory stays flat across generations
        self._items = {k: v for k, v in self._items.items() if k[1] >= first}
        self.bodies, self.etags = bodies, etags
        self.last_modified = [stamp] * self.feeds
        self.generation = generation

    def state(self) -> dict[str, object]:
        sizes = [len(b) for b in self.bodies]
        return {
            "feeds": self.feeds,
            "entries": self.entries,
            "generation": self.generation,
            "validators": self.validators,
            "html": "heavy" if self.heavy else "light",
            "bytes_total": sum(sizes),
            "bytes_mean": round(sum(sizes) / max(1, len(sizes))),
        }


def _not_modified(request: web.Request, etag: str, last_modified: datetime) -> bool:
    match = request.headers.get("If-None-Match")
    if match is not None:  # RFC 9110: If-None-Match wins over If-Modified-Since
        tags = [t.strip().removeprefix("W/") for t in match.split(",")]
        return "*" in tags or etag in tags
    since = request.headers.get("If-Modified-Since")
    if since is not None:
        try:
            return parsedate_to_datetime(since) >= last_modified
        except (TypeError, ValueError):
            return False
    return False


def make_app(feeds: FeedSet) -> web.Application:
    stats: Counter[str] = Counter()

    async def feed(request: web.Request) -> web.Response:
        try:
            index = int(request.match_info["index"])
            body = feeds.bodies[index]
        except (ValueError, IndexError):
            stats["404"] += 1
            raise web.HTTPNotFound() from None
        headers = {}
        if feeds.validators:
            etag = feeds.etags[index]
            headers = {"ETag": etag, "Last-Modified": feeds.last_modified[index]}
            if _not_modified(request, etag, feeds.last_modified_at):
                stats["304"] += 1
                return web.Response(status=304, headers=headers)
        stats["200"] += 1
        stats["bytes"] += len(body)
        return web.Response(
            body=body, headers=headers, content_type="application/rss+xml", charset="utf-8"
        )

    async def control(request: web.Request) -> web.Response:
        if request.method == "POST":
            query = request.query
            if "validators" in query:
                if query["validators"] not in ("on", "off"):
                    raise web.HTTPBadRequest(text="validators must be on or off\n")
                feeds.validators = query["validators"] == "on"
            if "generation" in query:
                try:
                    generation = int(query["generation"])
                except ValueError:
                    raise web.HTTPBadRequest(text="generation must be an integer\n") from None
                if generation < 0:
                    raise web.HTTPBadRequest(text="generation must be >= 0\n")
                await asyncio.to_thread(feeds.build, generation)
        return web.json_response(feeds.state())

    async def stats_view(request: web.Request) -> web.Response:
        answer = {"200": stats["200"], "304": stats["304"], "404": stats["404"]}
        answer["bytes"] = stats["bytes"]
        if request.query.get("reset") in ("1", "true", "yes"):
            stats.clear()
        return web.json_response(answer)

    app = web.Application()
    app.router.add_get("/feed/{index}.xml", feed)
    app.router.add_route("*", "/control", control)
    app.router.add_get("/stats", stats_view)
    return app


def _exit_when_stdin_closes(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    def watch() -> None:
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except (OSError, ValueError):
            pass
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=watch, name="stdin-watch", daemon=True).start()


async def serve(args: argparse.Namespace) -> None:
    feeds = FeedSet(args.feeds, args.entries, args.seed, heavy=args.html == "heavy")
    runner = web.AppRunner(make_app(feeds), access_log=None, handle_signals=True)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port, backlog=1024)
    await site.start()
    port = runner.addresses[0][1]
    state = json.dumps(feeds.state())
    print(f"PORT {port}", flush=True)
    print(f"STATE {state}", flush=True)
    stop = asyncio.Event()
    if not args.ignore_stdin:
        _exit_when_stdin_closes(asyncio.get_running_loop(), stop)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=1000, help="number of feeds (default 1000)")
    parser.add_argument("--entries", type=int, default=50, help="entries per feed (default 50)")
    parser.add_argument("--seed", type=int, default=20250106, help="generator seed")
    parser.add_argument(
        "--html", choices=("light", "heavy"), default="light", help="description size (light)"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument(
        "--ignore-stdin", action="store_true", help="keep running when stdin closes"
    )
    args = parser.parse_args(argv)
    if args.feeds < 1 or args.entries < 1:
        parser.error("--feeds and --entries must be at least 1")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
