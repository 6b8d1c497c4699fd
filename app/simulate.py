"""`controlroom simulate STREAM`: a realistic audience against a running server.

Viewers arrive from traffic sources (feed, short video, follow, search, ads, ...),
stay a while and leave; they like, share, follow and comment in Chinese (questions,
purchase shouts, chatter, some spam); they click the product being explained far more
than the others, put some in the cart, order some of those and pay for most orders.
Products come from the public storefront (what is listed, what is explained, the
stock left), re-read every few seconds, so the audience follows the control room.

Orders are reported as a platform connector does (order events with the platform's
`order_id`), so each becomes an order in the order book and takes its stock.

While a lucky bag (福袋) with a comment keyword is open (the storefront lists it), a
share of the audience comments its keyword to enter.

Everything goes through the ingest API with the stream's key, in batches, so it serves
the demo, rehearsals (模拟直播) and the benchmarks alike. `comment_share` turns it into
a comment flood (e.g. 1.0: every event a comment, from a pool of `viewers` commenters)
for load tests of the service queue; the summary then says how many of each question
were sent (`question_texts`) and how long the server took per batch.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import statistics
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

SOURCES = (
    ("feed", 45),
    ("short_video", 20),
    ("follow", 14),
    ("search", 8),
    ("ads", 8),
    ("private", 3),
    ("other", 2),
)
QUESTIONS = (
    "有没有S码？",
    "什么时候发货？",
    "这个颜色还有吗",
    "多少钱呀",
    "敏感肌能用吗",
    "能便宜点吗",
    "包邮吗？",
    "尺码怎么选",
    "和上次的有什么区别",
    "保质期多久",
)
PURCHASES = ("已拍", "拍了拍了", "买了两件", "下单了", "已付款，快发货", "冲冲冲")
CHATTER = ("主播好美", "来了来了", "666", "哈哈哈哈", "声音好好听", "第一次来", "支持主播", "❤❤❤")
SPAM = ("加V看更多福利", "免费领取 私我", "低价代购 加微信", "点我主页有惊喜")
# Actions of a present viewer per tick, with weights (the funnel steps come later).
ACTIONS = (("like", 40), ("comment", 16), ("click", 10), ("share", 3), ("follow", 3))


@dataclass
class Product:
    product_id: int
    price: Decimal
    stock_left: int
    explaining: bool
    flash_price: Decimal | None = None  # a running flash sale's price (秒杀)
    flash_left: int = 0


@dataclass
class Audience:
    """The simulated room: who is present and where each viewer is in the funnel."""

    rng: random.Random
    viewers: int
    comment_share: float | None = None
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    online: set[str] = field(default_factory=set)
    ids: itertools.count[int] = field(default_factory=itertools.count)
    seq: itertools.count[int] = field(default_factory=itertools.count)
    clicked: dict[str, int] = field(default_factory=dict)
    carted: dict[str, int] = field(default_factory=dict)
    pending: dict[str, tuple[int, int, Decimal, str]] = field(default_factory=dict)
    products: list[Product] = field(default_factory=list)
    lottery_keywords: list[str] = field(default_factory=list)
    totals: dict[str, int] = field(
        default_factory=lambda: {"events": 0, "orders": 0, "paid": 0, "comments": 0}
    )
    gmv: Decimal = Decimal("0")
    question_texts: dict[str, int] = field(default_factory=dict)
    keyword_comments: int = 0

    def _event(self, kind: str, viewer: str, **extra: Any) -> dict[str, Any]:
        self.totals["events"] += 1
        return {
            "type": kind,
            "user_id": viewer,
            "event_id": f"sim-{self.run}-{next(self.seq)}",
            "ts": datetime.now(UTC).isoformat(),
            **extra,
        }

    def _pick_product(self) -> Product | None:
        on_sale = [p for p in self.products if p.stock_left > 0]
        if not on_sale:
            return None
        weights = [8 if p.explaining else 1 for p in on_sale]
        return self.rng.choices(on_sale, weights)[0]

    def _comment(self) -> str:
        if self.lottery_keywords and self.rng.random() < 0.3:  # entering the lucky bag
            self.keyword_comments += 1
            return self.rng.choice(self.lottery_keywords)
        kind = self.rng.choices(("q", "buy", "chat", "spam"), (35, 15, 45, 5))[0]
        pool = {"q": QUESTIONS, "buy": PURCHASES, "chat": CHATTER, "spam": SPAM}[kind]
        text = self.rng.choice(pool)
        if kind == "q":
            self.question_texts[text] = self.question_texts.get(text, 0) + 1
        return text

    def _flood_comment(self) -> dict[str, Any]:
        """A comment from one of `viewers` commenters (flood mode: no join needed)."""
        self.totals["comments"] += 1
        viewer = f"u{self.run}c{self.rng.randrange(max(1, self.viewers))}"
        return self._event("comment", viewer, text=self._comment())

    def tick(self, n: int) -> list[dict[str, Any]]:
        """About `n` events for one interval."""
        out: list[dict[str, Any]] = []
        rng = self.rng
        for _ in range(n):
            if self.comment_share is not None and rng.random() < self.comment_share:
                out.append(self._flood_comment())
                continue
            fill = len(self.online) / max(1, self.viewers)
            roll = rng.random()
            if roll < 0.12 * (1.2 - fill) or not self.online:
                viewer = f"u{self.run}{next(self.ids)}"
                if rng.random() < 0.15 and self.clicked:  # a returning viewer
                    viewer = rng.choice(list(self.clicked))
                source = rng.choices([s for s, _ in SOURCES], [w for _, w in SOURCES])[0]
                self.online.add(viewer)
                out.append(self._event("viewer_join", viewer, source=source))
                continue
            viewer = rng.choice(tuple(self.online))
            if roll < 0.12 * (1.2 - fill) + 0.05 * fill:
                self.online.discard(viewer)
                out.append(self._event("viewer_leave", viewer))
                continue
            out.extend(self._funnel_or_action(viewer))
        return out

    def _funnel_or_action(self, viewer: str) -> list[dict[str, Any]]:
        rng = self.rng
        if viewer in self.pending and rng.random() < 0.6:
            pid, qty, amount, order_id = self.pending.pop(viewer)
            if rng.random() < 0.88:
                self.totals["paid"] += 1
                self.gmv += amount
                return [
                    self._event(
                        "order_paid",
                        viewer,
                        product_id=pid,
                        quantity=qty,
                        amount=str(amount),
                        order_id=order_id,
                    )
                ]
            return [
                self._event(
                    "order_cancelled", viewer, product_id=pid, quantity=qty, order_id=order_id
                )
            ]
        if viewer in self.carted and rng.random() < 0.5:
            pid = self.carted.pop(viewer)
            product = next((p for p in self.products if p.product_id == pid), None)
            if product is None or product.stock_left <= 0:
                return []
            qty = rng.choices((1, 2, 3), (80, 15, 5))[0]
            qty = min(qty, product.stock_left)
            product.stock_left -= qty
            price = product.price
            if product.flash_price is not None and product.flash_left >= qty:
                price = product.flash_price  # bought in the flash sale: its remaining moves
                product.flash_left -= qty
            amount = price * qty
            # The platform's order id: the sale is an order in the order book.
            order_id = f"sim-{self.run}-o{self.totals['orders']}"
            self.pending[viewer] = (pid, qty, amount, order_id)
            self.totals["orders"] += 1
            return [
                self._event(
                    "order_created",
                    viewer,
                    product_id=pid,
                    quantity=qty,
                    amount=str(amount),
                    order_id=order_id,
                )
            ]
        if viewer in self.clicked and rng.random() < 0.3:
            pid = self.clicked.pop(viewer)
            if rng.random() < 0.45:
                self.carted[viewer] = pid
                return [self._event("add_to_cart", viewer, product_id=pid)]
            return []
        action = rng.choices([a for a, _ in ACTIONS], [w for _, w in ACTIONS])[0]
        if action == "comment":
            self.totals["comments"] += 1
            return [self._event("comment", viewer, text=self._comment())]
        if action == "click":
            picked = self._pick_product()
            if picked is None:
                return [self._event("like", viewer)]
            self.clicked[viewer] = picked.product_id
            return [self._event("product_click", viewer, product_id=picked.product_id)]
        return [self._event(action, viewer)]


async def _refresh_products(client: httpx.AsyncClient, url: str, audience: Audience) -> None:
    try:
        r = await client.get(url)
        if r.status_code == 200:
            body = r.json()
            flash = {f["product_id"]: f for f in body.get("flash_sales", [])}
            audience.products = [
                Product(
                    p["product_id"],
                    Decimal(str(p["live_price"])),
                    p["stock_left"],
                    p["explaining"],
                    Decimal(str(flash[p["product_id"]]["price"]))
                    if p["product_id"] in flash
                    else None,
                    int(flash[p["product_id"]]["remaining"]) if p["product_id"] in flash else 0,
                )
                for p in body.get("products", [])
            ]
            audience.lottery_keywords = [
                x["keyword"]
                for x in body.get("lotteries", [])
                if x.get("condition") == "comment" and x.get("keyword")
            ]
    except httpx.HTTPError:
        pass  # keep the last known lineup


class SimulationError(Exception):
    """The server could not be reached (or kept failing): one line for the terminal."""


async def require_rehearsal(url: str, stream_id: int, key: str) -> None:
    """Refuse a real stream (issue 18): simulated sales would enter its figures. Asks the
    server what the key feeds (GET .../ingest-check); `--i-know` skips this."""
    check = f"{url.rstrip('/')}/api/v1/streams/{stream_id}/ingest-check"
    try:
        async with httpx.AsyncClient(timeout=10, headers={"X-Ingest-Key": key}) as client:
            r = await client.get(check)
    except httpx.HTTPError as exc:
        raise SimulationError(f"cannot reach {url} ({type(exc).__name__})") from None
    if r.status_code != 200:
        raise SimulationError(f"{check} answered {r.status_code}: {r.text[:200]}")
    if not r.json().get("is_rehearsal"):
        raise SimulationError(
            f"stream {stream_id} is a real stream, not a rehearsal (彩排): simulated sales "
            f"would enter its figures. Make a rehearsal copy (control console, or POST "
            f"/api/v1/streams/{stream_id}/rehearsals) and simulate that, or pass --i-know"
        )


RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)  # seconds between tries: ~15 s in all


async def _post(
    client: httpx.AsyncClient, url: str, body: dict[str, Any], console: Console
) -> httpx.Response:
    """POST with retries and backoff on connection errors and 502/503/504 (a restarting
    or busy server); after the last try, a SimulationError saying what went wrong."""
    last = ""
    for attempt in range(len(RETRY_DELAYS) + 1):
        try:
            r = await client.post(url, json=body)
        except httpx.TransportError as exc:
            last = f"{type(exc).__name__}: {exc or 'no answer'}"
        else:
            if r.status_code not in (502, 503, 504):
                return r
            last = f"HTTP {r.status_code}"
        if attempt == len(RETRY_DELAYS):
            break
        delay = RETRY_DELAYS[attempt]
        console.print(f"[yellow]{last} — retrying in {delay:g} s")
        await asyncio.sleep(delay)
    tries = len(RETRY_DELAYS) + 1
    raise SimulationError(f"cannot send events to {url} ({last}) after {tries} tries")


async def run_simulation(
    stream_id: int,
    url: str,
    key: str,
    viewers: int,
    rate: float,
    duration: float,
    batch_interval: float = 0.5,
    seed: int | None = None,
    quiet: bool = False,
    comment_share: float | None = None,
) -> dict[str, Any]:
    """Send about `rate` events a second for `duration` seconds; returns the totals.

    `comment_share` (0–1): that fraction of the events are comments (a flood for load
    tests of the service queue); None keeps the realistic mix (about 1 in 8).
    """
    if comment_share is not None and not 0.0 <= comment_share <= 1.0:
        raise ValueError("comment_share must be between 0 and 1")
    audience = Audience(random.Random(seed), viewers, comment_share)
    base = url.rstrip("/")
    events_url = f"{base}/api/v1/streams/{stream_id}/events"
    store_url = f"{base}/api/v1/streams/{stream_id}/storefront"
    errors: dict[str, int] = {}
    accepted = duplicates = 0
    latencies: list[float] = []
    console = Console(quiet=quiet)
    progress = Progress(
        TextColumn("[bold]直播间模拟[/] stream {task.fields[stream]}"),
        BarColumn(),
        TimeElapsedColumn(),
        TextColumn(
            "在线 {task.fields[online]} · 事件 {task.fields[events]} · 订单 {task.fields[orders]}"
            " · 成交 {task.fields[paid]} · GMV ¥{task.fields[gmv]}"
        ),
        console=console,
        disable=quiet,
    )
    start = time.monotonic()
    async with httpx.AsyncClient(timeout=30, headers={"X-Ingest-Key": key}) as client:
        await _refresh_products(client, store_url, audience)
        refreshed = time.monotonic()
        with progress:
            task = progress.add_task(
                "sim",
                total=duration,
                stream=stream_id,
                online=0,
                events=0,
                orders=0,
                paid=0,
                gmv="0.00",
            )
            carry = 0.0
            next_at = start
            while (now := time.monotonic()) - start < duration:
                if now - refreshed > 3:
                    await _refresh_products(client, store_url, audience)
                    refreshed = now
                carry += rate * batch_interval
                n, carry = int(carry), carry - int(carry)
                events = audience.tick(n)
                for i in range(0, len(events), 1000):
                    sent_at = time.monotonic()
                    r = await _post(client, events_url, {"events": events[i : i + 1000]}, console)
                    latencies.append(time.monotonic() - sent_at)
                    if r.status_code == 202:
                        accepted += r.json()["accepted"]
                        duplicates += r.json()["duplicates"]
                    else:
                        errors[str(r.status_code)] = errors.get(str(r.status_code), 0) + 1
                        if r.status_code in (401, 404, 409):
                            console.print(f"[red]server answered {r.status_code}: {r.text}")
                            return _summary(
                                audience, accepted, duplicates, errors, start, latencies
                            )
                progress.update(
                    task,
                    completed=min(duration, time.monotonic() - start),
                    online=len(audience.online),
                    events=audience.totals["events"],
                    orders=audience.totals["orders"],
                    paid=audience.totals["paid"],
                    gmv=f"{audience.gmv:.2f}",
                )
                next_at += batch_interval
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    return _summary(audience, accepted, duplicates, errors, start, latencies)


def _summary(
    audience: Audience,
    accepted: int,
    duplicates: int,
    errors: dict[str, int],
    start: float,
    latencies: list[float],
) -> dict[str, Any]:
    ms = sorted(x * 1000 for x in latencies)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))] if ms else 0.0
    return {
        "events": audience.totals["events"],
        "accepted": accepted,
        "duplicates": duplicates,
        "errors": errors,
        "online": len(audience.online),
        "orders": audience.totals["orders"],
        "paid_orders": audience.totals["paid"],
        "comments": audience.totals["comments"],
        "gmv": f"{audience.gmv:.2f}",
        "seconds": round(time.monotonic() - start, 1),
        "questions": sum(audience.question_texts.values()),
        "question_texts": dict(sorted(audience.question_texts.items())),
        "lottery_keyword_comments": audience.keyword_comments,
        "batches": len(ms),
        "batch_ms_p50": round(statistics.median(ms), 1) if ms else 0.0,
        "batch_ms_p95": round(p95, 1),
        "batch_ms_max": round(ms[-1], 1) if ms else 0.0,
    }
