"""The metric dictionary: every figure of the review, with the formula behind it.

One list serves the endpoint (`GET /api/v1/metrics/dictionary`), `docs/metrics.md`
(a test checks they name the same figures) and the review itself (its keys are the
report's field names), so a number on the review page can be checked by hand.

Sources: `stream_events` (the durable log of accepted viewer events), its rollups
`stream_viewers` (one row per viewer) and `stream_minutes` (one row per minute), the
review's own rollups `stream_product_minutes` (per product per minute),
`stream_seconds` / `stream_product_seconds` (per second, for segments and explanation
windows) and `stream_presence` / `stream_viewer_presence` (online and watch time
replayed in log order), the service queue (top questions), and the planning tables
(targets, script segments).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Metric:
    key: str
    name: str
    name_zh: str
    unit: str  # count | money | seconds | ratio | time
    formula: str
    notes: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


METRICS: tuple[Metric, ...] = (
    # --- audience
    Metric(
        "viewers",
        "Unique viewers (UV)",
        "观看人数 UV",
        "count",
        "count of distinct user_id with at least one logged event in the stream",
        "Every event type counts, so a viewer who only ordered through a connector is a viewer.",
    ),
    Metric("entries", "Entries (PV)", "进入次数 PV", "count", "count of viewer_join events"),
    Metric(
        "peak_online",
        "Peak online",
        "最高在线",
        "count",
        "max over the log (in arrival order) of the number of viewers present, where a "
        "viewer_join makes a viewer present and a viewer_leave makes them absent",
        "A join while present and a leave while absent change nothing.",
    ),
    Metric(
        "avg_online",
        "Average online",
        "平均在线",
        "count",
        "total_watch_seconds ÷ stream duration in seconds (started_at → ended_at, or now "
        "while live), rounded to 2 places",
        "The time-average of the online curve.",
    ),
    Metric(
        "peak_online_at",
        "Time of the peak",
        "最高在线时间",
        "time",
        "ts of the viewer_join that first reached peak_online",
    ),
    Metric(
        "online_at_end",
        "Online at the end",
        "结束时在线",
        "count",
        "viewers present after the last logged join or leave (as peak_online)",
    ),
    Metric(
        "duration_seconds",
        "Stream duration",
        "直播时长",
        "seconds",
        "ended_at − started_at in whole seconds (now − started_at while live)",
    ),
    Metric(
        "total_watch_seconds",
        "Total watch time",
        "总观看时长",
        "seconds",
        "sum over viewers of (leave ts − join ts) for each join→leave session; a session "
        "still open is closed at the stream's end (or now while live)",
    ),
    Metric(
        "avg_watch_seconds",
        "Average watch time",
        "人均观看时长",
        "seconds",
        "total_watch_seconds ÷ viewers, rounded to 2 places",
    ),
    Metric("comments", "Comments", "评论数", "count", "count of comment events"),
    Metric("likes", "Likes", "点赞数", "count", "count of like events"),
    Metric("shares", "Shares", "分享数", "count", "count of share events"),
    Metric("follows", "Follows", "关注数", "count", "count of follow events"),
    Metric(
        "new_followers",
        "New followers",
        "新增粉丝",
        "count",
        "distinct viewers with at least one follow event",
    ),
    Metric(
        "interacting_viewers",
        "Interacting viewers",
        "互动人数",
        "count",
        "distinct viewers with at least one comment, like or share",
    ),
    Metric(
        "interaction_rate",
        "Interaction rate",
        "互动率",
        "ratio",
        "interacting_viewers ÷ viewers (4 places; 0 when there are no viewers)",
    ),
    Metric(
        "follower_conversion_rate",
        "Follower conversion (转粉率)",
        "转粉率",
        "ratio",
        "new_followers ÷ viewers (4 places; 0 when there are no viewers)",
    ),
    # --- sales
    Metric(
        "product_clicks", "Product clicks", "商品点击", "count", "count of product_click events"
    ),
    Metric("add_to_cart", "Add to cart", "加购", "count", "count of add_to_cart events"),
    Metric(
        "orders",
        "Orders",
        "下单数",
        "count",
        "count of order_created events (whatever happens to the order later)",
    ),
    Metric("paid_orders", "Paid orders", "成交订单", "count", "count of order_paid events (成交)"),
    Metric("cancelled_orders", "Cancelled orders", "取消订单", "count", "count of order_cancelled"),
    Metric("refunded_orders", "Refunded orders", "退款订单", "count", "count of order_refunded"),
    Metric(
        "units_sold",
        "Units sold",
        "成交件数",
        "count",
        "sum of quantity (1 when absent) over order_paid events",
    ),
    Metric(
        "gmv",
        "GMV (paid, before refunds)",
        "成交金额 GMV",
        "money",
        "sum of amount over order_paid events; refunds are NOT deducted",
    ),
    Metric("refunds", "Refunds", "退款金额", "money", "sum of amount over order_refunded events"),
    Metric("net_gmv", "Net GMV", "净成交金额", "money", "gmv − refunds"),
    Metric(
        "paying_customers",
        "Paying customers",
        "成交人数",
        "count",
        "distinct viewers with at least one order_paid event",
    ),
    Metric(
        "aov",
        "Average order value per customer (客单价)",
        "客单价 AOV",
        "money",
        "gmv ÷ paying_customers, rounded half-up to 0.01 (0.00 with no paying customer)",
    ),
    Metric(
        "gpm",
        "GMV per thousand viewers",
        "千次观看成交 GPM",
        "money",
        "gmv ÷ viewers × 1000, rounded half-up to 0.01 (0.00 with no viewers)",
    ),
    Metric(
        "conversion_rate",
        "Conversion rate",
        "成交转化率",
        "ratio",
        "paying_customers ÷ viewers (4 places); compared with the stream's target",
    ),
    Metric(
        "refund_rate",
        "Refund rate (amount)",
        "退款率",
        "ratio",
        "refunds ÷ gmv (4 places; 0 when gmv is 0)",
    ),
    Metric(
        "refund_order_rate",
        "Refund rate (orders)",
        "退款订单率",
        "ratio",
        "refunded_orders ÷ paid_orders (4 places; 0 when there is no paid order)",
    ),
    Metric(
        "payment_rate",
        "Payment rate",
        "支付率",
        "ratio",
        "paid_orders ÷ orders (4 places)",
    ),
    Metric(
        "funnel",
        "Conversion funnel",
        "转化漏斗",
        "count",
        "steps viewers → product_clicks → add_to_cart → orders → paid_orders; each step's "
        "`count` is the figure of that name above, `viewers` the distinct viewers who "
        "reached it, `rate` = count ÷ previous step's count (4 places)",
    ),
    # --- structure
    Metric(
        "traffic_sources",
        "Traffic sources",
        "流量来源",
        "count",
        "viewers grouped by the source of their first viewer_join that carried one "
        "(feed, short_video, follow, search, private, ads, other; `unknown` when none)",
    ),
    Metric(
        "new_viewers",
        "New viewers",
        "新观众",
        "count",
        "viewers − returning_viewers",
    ),
    Metric(
        "returning_viewers",
        "Returning viewers",
        "老观众",
        "count",
        "viewers of this stream whose user_id appears in the log of another stream that "
        "started earlier (any team)",
    ),
    Metric(
        "new_vs_returning",
        "New vs returning viewers",
        "新老观众",
        "count",
        "new_viewers, returning_viewers, returning_share = returning ÷ viewers (4 places), "
        "and new_viewer_retention over new viewers who joined: new_viewers_with_presence, "
        "left_early = those whose total watch time is under 60 s, left_early_share (4 "
        "places), avg_watch_seconds (2 places)",
    ),
    Metric(
        "minutes",
        "Per-minute series",
        "分钟趋势",
        "count",
        "one row per minute of event time (ts floored to the minute, UTC): entries, leaves, "
        "online at the minute's end and peak_online during it (presence replayed in "
        "arrival order, as peak_online), comments, "
        "likes, shares, follows, product_clicks, add_to_cart, orders, paid_orders, "
        "units_sold, gmv, refunds",
    ),
    Metric(
        "products",
        "Per-product figures",
        "单品数据",
        "count",
        "per product_id: product_clicks, add_to_cart, orders, paid_orders, cancelled_orders, "
        "refunded_orders, units_sold, gmv, refunds, click_to_order_rate (orders ÷ clicks), "
        "refund_rate (refunds ÷ gmv) and a funnel product_clicks → add_to_cart → orders → "
        "paid_orders",
    ),
    Metric(
        "segments",
        "Per script segment",
        "分段数据",
        "count",
        "for each script segment, the window [started_at + start_offset, + duration), "
        "events attributed by the second they happened in (the seconds from the one the "
        "window starts in up to, not including, the one it ends in; from stream_seconds): "
        "comments, product_clicks, add_to_cart, orders, paid_orders, units_sold, gmv; "
        "online_start = online at the end of the minute before the window's first minute, "
        "online_end = online at the end of the last minute starting before its end",
        "Events a second before a window's start belong to the window before it. Online "
        "viewers are kept per minute, so the online figures are minute-resolution.",
    ),
    Metric(
        "explanations",
        "Per explanation window",
        "讲解窗口",
        "count",
        "for each `explain` action in the control log, the window until the next explain, "
        "the delisting of the explained product, or the stream's end, attributed by the "
        "second as for segments (from stream_product_seconds): the explained product's "
        "product_clicks, add_to_cart, orders, paid_orders, units_sold and gmv; "
        "duration_seconds = end − start, whole seconds",
    ),
    Metric(
        "questions",
        "Top questions and sentiment",
        "高频问题与情绪",
        "count",
        "from the service queue (similar questions merged into one item as they "
        "arrived): top_questions = the 10 question items with the most askers (then "
        "mentions, then earliest), each with count (= mentions: comments merged), askers "
        "(distinct viewers), negative comments, status, answered, first_at, answered_at "
        "and answer_seconds = answered_at − first_at; top_complaints the same for "
        "complaint items; question_topics = mentions and items per topic; queue = "
        "question items, askers, answered, unanswered (open or claimed), dismissed, "
        "answer_rate = answered ÷ items (4 places), avg_answer_seconds (2 places). "
        "Sentiment over the stream's comments as the classifier labelled them on arrival: "
        "comments_classified = all comments, blocked = blocked ones (left out of the "
        "sentiment counts), negative_share = negative ÷ visible comments (4 places)",
    ),
    Metric(
        "timeline",
        "Incidents and alerts",
        "事故与告警时间线",
        "count",
        "incidents logged by the control room and alerts raised, by time, with their "
        "offset from the stream's start",
    ),
    Metric(
        "targets",
        "Targets vs actuals",
        "目标达成",
        "ratio",
        "for each target set in planning (gmv, viewers, conversion_rate, new_followers): "
        "target, actual, achievement = actual ÷ target (4 places)",
    ),
    Metric(
        "diagnoses",
        "Diagnoses",
        "诊断",
        "count",
        "rules over the figures above, each with its code, the evidence figures it fired "
        "on and a suggestion (thresholds in docs/metrics.md, Diagnoses)",
    ),
    Metric(
        "comparison",
        "Comparison with earlier streams",
        "历史对比",
        "ratio",
        "for headline figures, the median over the same team's last N ended streams "
        "(same creator, or sharing a team member) and change = (this − median) ÷ median",
    ),
    Metric(
        "after_sales",
        "After-sales",
        "售后",
        "count",
        "returns and exchanges requested (and by kind:status), returns_completed = completed "
        "退货退款 requests, returned_units and returned_amount = quantity and amount of their "
        "orders (each refunded by order_refunded, so in refunds, refund_rate and net_gmv too); "
        "complaints, complaints_open (not resolved), complaints_overdue (past their deadline); "
        "surveys: each survey's responses and average score (2 places)",
    ),
)

METRIC_KEYS = frozenset(m.key for m in METRICS)


def dictionary() -> list[dict[str, Any]]:
    return [m.as_dict() for m in METRICS]


def markdown_rows() -> list[str]:
    """The table rows of docs/metrics.md (a test keeps the document equal to this)."""
    return [
        f"| `{m.key}` | {m.name} | {m.name_zh} | {m.unit} | {m.formula} | {m.notes} |"
        for m in METRICS
    ]
