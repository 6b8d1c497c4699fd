"""The pure alert evaluator, driven with metric sequences (no database, no clock)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from app.services.alerts import AlertState, Metrics, StockLevel, Thresholds, evaluate


def run(points: Iterable[Metrics], th: Thresholds | None = None) -> list[tuple[float, str, str]]:
    """Feed the points in order; return (ts, "raise"/"clear", key) for every change."""
    th = th or Thresholds()
    state, prev, out = AlertState(), None, []
    for m in points:
        result = evaluate(prev, m, state, th)
        out += [(m.ts, "raise", a.key) for a in result.raised]
        out += [(m.ts, "clear", k) for k in result.cleared]
        state, prev = result.state, m
    return out


def test_online_drop_fires_once_per_episode_and_again_after_recovery() -> None:
    seq = [Metrics(ts=t, online=100) for t in range(0, 30, 5)]
    seq += [Metrics(ts=30, online=65), Metrics(ts=31, online=60), Metrics(ts=40, online=60)]
    seq += [Metrics(ts=t, online=60) for t in range(45, 100, 5)]  # the peak leaves the window
    seq += [Metrics(ts=100, online=60), Metrics(ts=110, online=35)]
    assert run(seq) == [
        (30, "raise", "online_drop"),
        (90, "clear", "online_drop"),
        (110, "raise", "online_drop"),
    ]


def test_online_drop_ignores_small_rooms_slow_declines_and_off_switch() -> None:
    assert run([Metrics(ts=0, online=10), Metrics(ts=5, online=2)]) == []
    slow = [Metrics(ts=t * 30, online=100 - t * 3) for t in range(20)]  # -3 per 30 s
    assert run(slow) == []
    drop = [Metrics(ts=0, online=100), Metrics(ts=5, online=10)]
    assert run(drop, Thresholds(online_drop_pct=0)) == []
    assert run(drop, Thresholds(online_drop_pct=95)) == []
    assert run(drop, Thresholds(online_drop_pct=90)) == [(5, "raise", "online_drop")]


def test_click_spike_only_while_explaining_and_relative_to_the_minute_before() -> None:
    # steady 1 click/s on product 7 for a minute while it is explained: no spike
    seq = [Metrics(ts=t, explaining_product_id=7, product_clicks={7: t}) for t in range(61)]
    assert run(seq) == []
    burst = [
        *seq,
        Metrics(ts=65, explaining_product_id=7, product_clicks={7: 60 + 40}),
        Metrics(ts=66, explaining_product_id=7, product_clicks={7: 100 + 2}),
    ]
    assert run(burst) == [(65, "raise", "click_spike:7")]
    # the same burst on a product that is not explained raises nothing
    quiet = [replace(m, explaining_product_id=None) for m in burst]
    assert run(quiet) == []
    # switching the explained product starts its history afresh and ends the episode
    switched = [*burst, Metrics(ts=67, explaining_product_id=8, product_clicks={7: 102, 8: 500})]
    assert run(switched) == [(65, "raise", "click_spike:7"), (67, "clear", "click_spike:7")]
    # a burst below the minimum count is not a spike
    small = [
        Metrics(ts=0, explaining_product_id=7, product_clicks={7: 0}),
        Metrics(ts=5, explaining_product_id=7, product_clicks={7: 15}),
    ]
    assert run(small) == []
    assert run(small, Thresholds(click_spike_min_clicks=10)) == [(5, "raise", "click_spike:7")]


def test_stock_low_then_sold_out_then_restocked() -> None:
    def at(ts: float, left: int) -> Metrics:
        return Metrics(ts=ts, stock={3: StockLevel(left, 200), 4: StockLevel(150, 200)})

    seq = [at(0, 50), at(1, 21), at(2, 20), at(3, 12), at(4, 0), at(5, 0), at(6, 100)]
    # 20 ≤ 10 % of 200 → low; 0 → sold out (low stays the same episode); restock clears
    assert run(seq) == [
        (2, "raise", "stock_low:3"),
        (4, "raise", "sold_out:3"),
        (6, "clear", "sold_out:3"),
        (6, "clear", "stock_low:3"),
    ]
    units_only = Thresholds(stock_low_pct=0, stock_low_units=5)
    assert run(seq, units_only)[0] == (4, "raise", "stock_low:3")


def test_negative_comment_spike_and_waiting_questions() -> None:
    trickle = [Metrics(ts=t * 10, negative_comments=t) for t in range(30)]  # 1 per 10 s
    assert run(trickle) == []
    storm = [*trickle, Metrics(ts=295, negative_comments=29 + 10)]
    assert run(storm) == [(295, "raise", "negative_spike")]
    waits = [
        Metrics(ts=0, oldest_question_wait_seconds=None),
        Metrics(ts=1, oldest_question_wait_seconds=119),
        Metrics(ts=2, oldest_question_wait_seconds=121),
        Metrics(ts=3, oldest_question_wait_seconds=130),
        Metrics(ts=4, oldest_question_wait_seconds=5),
    ]
    assert run(waits) == [(2, "raise", "question_wait"), (4, "clear", "question_wait")]
    assert run(waits, Thresholds(question_wait_seconds=0)) == []


def test_disabling_alerts_clears_open_episodes_and_out_of_order_points_are_ignored() -> None:
    th = Thresholds()
    m1 = Metrics(ts=0, oldest_question_wait_seconds=500)
    first = evaluate(None, m1, AlertState(), th)
    assert [a.key for a in first.raised] == ["question_wait"]
    m2 = Metrics(ts=1, oldest_question_wait_seconds=600)
    off = evaluate(m1, m2, first.state, replace(th, enabled=False))
    assert off.raised == [] and off.cleared == ["question_wait"]
    stale = evaluate(m2, Metrics(ts=0.5), off.state, th)
    assert stale.raised == [] and stale.cleared == [] and stale.state == off.state
