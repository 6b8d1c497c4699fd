"""`controlroom demo`: a fully planned demo stream with its team, so every console can be
opened and the stream can go live at once (its readiness is green)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db import create_engine, make_sessionmaker
from app.models import (
    Channel,
    CheckStatus,
    Criterion,
    GoalType,
    Platform,
    Product,
    QCStatus,
    Role,
    Scenario,
    SegmentKind,
    Stream,
    User,
)
from app.schemas.checklist import ChecklistCheckIn
from app.schemas.contingency import ContingencyIn
from app.schemas.lineup import Bundle, LineupIn, ReductionTier
from app.schemas.products import ProductCreate
from app.schemas.script import SegmentIn
from app.schemas.streams import StreamCreate
from app.schemas.users import UserCreate
from app.schemas.warmup import WarmupIn
from app.services import checklist as checklist_service
from app.services import contingency as contingency_service
from app.services import controls as controls_service
from app.services import ingest as ingest_service
from app.services import lineup as lineup_service
from app.services import products as products_service
from app.services import queue as queue_service
from app.services import readiness as readiness_service
from app.services import script as script_service
from app.services import selection as selection_service
from app.services import streams as streams_service
from app.services import team as team_service
from app.services import users as users_service
from app.services import warmup as warmup_service

# The service console's quick replies; {product}, {price}, {stock} are filled per item.
DEMO_QUICK_REPLIES = [
    ("价格", "{product} 直播间专属价 {price} 元，下单即享，还剩 {stock} 件"),
    ("发货", "付款后 48 小时内发货，默认顺丰/中通，偏远地区稍慢，请耐心等待"),
    ("尺码/肤质", "敏感肌也可以用，建议先在耳后试用；色号不确定可以发照片给客服帮你选"),
    ("包邮", "全场包邮（新疆、西藏除外），还送运费险，七天无理由退换"),
    ("优惠券", "点击屏幕下方的优惠券先领再拍，满 199 减 20，和直播价叠加"),
]

DEMO_USERS = [
    ("host", Role.host, "主播小美"),
    ("controller", Role.controller, "场控阿杰"),
    ("service", Role.service, "客服小林"),
    ("analyst", Role.analyst, "数据分析老周"),
]


@dataclass(frozen=True)
class DemoProduct:
    sku: str
    name: str
    category: str
    list_price: str
    cost: str
    stock: int
    live_price: str
    allotted: int
    selling_points: tuple[str, ...]
    usage_scenes: tuple[str, ...]
    differences: tuple[str, ...]
    gifts: tuple[str, ...] = ()
    flash: int = 0


DEMO_PRODUCTS = [
    DemoProduct(
        "DEMO-LIP-01",
        "丝绒雾面口红 #316",
        "彩妆",
        "129.00",
        "38.00",
        2000,
        "89.00",
        300,
        ("雾面不拔干", "持妆 8 小时", "黄皮友好"),
        ("通勤", "约会"),
        ("同价位更显色",),
        gifts=("迷你唇釉",),
    ),
    DemoProduct(
        "DEMO-CRM-02",
        "玻尿酸保湿面霜 50g",
        "护肤",
        "259.00",
        "72.00",
        1500,
        "199.00",
        200,
        ("三重玻尿酸", "24 小时保湿"),
        ("换季干燥", "熬夜后"),
        ("不含酒精香精",),
        gifts=("同款小样 15g",),
    ),
    DemoProduct(
        "DEMO-MSK-03",
        "补水面膜 10 片装",
        "护肤",
        "99.00",
        "21.00",
        5000,
        "59.90",
        800,
        ("一片一精华瓶", "敏感肌可用"),
        ("每日护理", "妆前急救"),
        ("精华含量多 30%",),
        flash=200,
    ),
    DemoProduct(
        "DEMO-SUN-04",
        "清爽防晒霜 SPF50+",
        "护肤",
        "139.00",
        "35.00",
        1200,
        "99.00",
        150,
        ("清爽不油腻", "防水防汗"),
        ("户外", "通勤"),
        ("无白边不搓泥",),
    ),
    DemoProduct(
        "DEMO-BRS-05",
        "化妆刷五件套",
        "工具",
        "79.00",
        "18.00",
        800,
        "49.00",
        100,
        ("柔软不扎脸", "不掉毛"),
        ("新手化妆", "出差"),
        ("送收纳包",),
    ),
]


DEMO_PLANS: list[tuple[Scenario, str, list[str], Role]] = [
    (
        Scenario.technical_failure,
        "断流 / 卡顿",
        ["切换备用网络", "备用机位推流", "评论区置顶说明"],
        Role.controller,
    ),
    (
        Scenario.out_of_stock,
        "商品售罄",
        ["下架售罄商品", "推荐同类替代品", "登记补货预约"],
        Role.controller,
    ),
    (
        Scenario.quality_complaint,
        "质量投诉",
        ["客服私信收集订单号", "主播统一回应售后政策"],
        Role.service,
    ),
    (Scenario.host_slip, "主播口误", ["场控提词纠正", "主播及时更正价格或信息"], Role.host),
    (
        Scenario.negative_comments,
        "负面评论风暴",
        ["屏蔽违规词", "正面回应核心问题", "转移话题到福利"],
        Role.controller,
    ),
]


async def _users(session: AsyncSession, printed: list[tuple[str, str, str]]) -> dict[Role, User]:
    team: dict[Role, User] = {}
    for username, role, name in DEMO_USERS:
        user = await session.scalar(select(User).where(User.username == username))
        if user is None:
            password = secrets.token_urlsafe(9)
            user = await users_service.create_user(
                session,
                UserCreate(username=username, password=password, role=role, display_name=name),
            )
            printed.append((username, role.value, password))
        team[role] = user
    return team


async def _products(session: AsyncSession, controller: User) -> list[Product]:
    """The demo catalog, created once and reused (stock topped up) on later runs."""
    out = []
    for spec in DEMO_PRODUCTS:
        product = await session.scalar(select(Product).where(Product.sku == spec.sku))
        if product is None:
            product = await products_service.create_product(
                session,
                ProductCreate(
                    sku=spec.sku,
                    name=spec.name,
                    category=spec.category,
                    list_price=Decimal(spec.list_price),
                    cost=Decimal(spec.cost),
                    stock=spec.stock,
                    selling_points=list(spec.selling_points),
                    usage_scenes=list(spec.usage_scenes),
                    competitor_differences=list(spec.differences),
                    brand="花漾演示",
                    supplier="演示供应链有限公司",
                    qc_status=QCStatus.passed,
                ),
            )
            scores = {c: Decimal(7 + (i + len(spec.sku)) % 4) for i, c in enumerate(Criterion)}
            await selection_service.set_scores(session, product.id, scores, "演示评分", controller)
        product.stock = max(product.stock, spec.stock)
        product.qc_status, product.licensed = QCStatus.passed, True
        out.append(product)
    await session.flush()
    return out


def _script(products: list[Product]) -> list[SegmentIn]:
    """A 120-minute rundown with no gaps: opening, five products, a lottery, a promotion,
    closing."""

    def product_segment(p: Product, spec: DemoProduct) -> SegmentIn:
        return SegmentIn(
            kind=SegmentKind.product,
            title=f"讲解：{p.name}",
            duration_seconds=1080,
            product_id=p.id,
            talking_points=[
                f"痛点：{spec.usage_scenes[0]}时的烦恼",
                *(f"卖点：{s}" for s in spec.selling_points),
                f"对比：{spec.differences[0]}",
                f"直播间价 {spec.live_price}，比日常省 "
                f"{Decimal(spec.list_price) - Decimal(spec.live_price):.2f}",
            ],
            cues=["上架商品", "置顶讲解卡"],
        )

    segs = list(zip(products, DEMO_PRODUCTS, strict=True))
    return [
        SegmentIn(
            kind=SegmentKind.opening,
            title="开场：欢迎 + 今日福利预告",
            duration_seconds=300,
            talking_points=["欢迎来到直播间，点点关注不迷路", "今天五款好物，福袋每半小时一次"],
            cues=["发开场红包"],
        ),
        product_segment(*segs[0]),
        SegmentIn(
            kind=SegmentKind.interaction,
            title="互动：评论“想要”抽福袋",
            duration_seconds=600,
            talking_points=["评论区扣“想要”参与福袋", "关注主播才能中奖哦"],
            cues=["发起福袋", "开奖后公布中奖名单"],
        ),
        product_segment(*segs[1]),
        product_segment(*segs[2]),
        SegmentIn(
            kind=SegmentKind.promotion,
            title="促销：面膜限时秒杀",
            duration_seconds=600,
            product_id=products[2].id,
            talking_points=["秒杀 200 份，拼手速", "满 199 减 20，可叠加优惠券"],
            cues=["开启秒杀", "倒计时提醒"],
        ),
        product_segment(*segs[3]),
        product_segment(*segs[4]),
        SegmentIn(
            kind=SegmentKind.closing,
            title="收尾：回顾 + 下期预告",
            duration_seconds=300,
            talking_points=["回顾今天的爆款", "售后问题找客服", "下周三晚 8 点不见不散"],
            cues=["下架全部商品"],
        ),
    ]


async def build_planned_stream(
    session: AsyncSession, team: dict[Role, User], start: datetime
) -> Stream:
    """A scheduled stream whose readiness is green: lineup, script, checklist, plans."""
    controller = team[Role.controller]
    products = await _products(session, controller)
    stream = await streams_service.create_stream(
        session,
        StreamCreate(
            title="双11 美妆专场 (演示)",
            scheduled_start=start,
            planned_minutes=120,
            platform=Platform.douyin,
            theme="双11 提前购：美妆护肤爆款",
            goal_type=GoalType.sales,
            target_audience="22–35 岁、关注护肤与彩妆的女性",
            description="演示数据：五款美妆护肤商品，福袋与秒杀各一次。",
            rehearsal_at=start - timedelta(days=1),
            target_gmv=Decimal("300000.00"),
            target_viewers=50000,
            target_conversion_rate=Decimal("0.0300"),
            target_new_followers=2000,
        ),
        controller,
    )
    for role, user in team.items():
        await team_service.set_member(session, stream.id, user.id, role)
    for product, spec in zip(products, DEMO_PRODUCTS, strict=True):
        await lineup_service.add_item(
            session,
            stream,
            LineupIn(
                product_id=product.id,
                live_price=Decimal(spec.live_price),
                allotted_stock=spec.allotted,
                gifts=list(spec.gifts),
                gift_stock=50 if spec.gifts else None,  # gift sets on hand: while they last
                bundles=(
                    [
                        Bundle(
                            name="口红+面霜", product_ids=[products[1].id], price=Decimal("259.00")
                        )
                    ]
                    if product is products[0]
                    else []
                ),
                flash_sale_allotment=spec.flash,
                coupon_discount=Decimal("10.00"),
                coupon_min_spend=Decimal("99.00"),
                full_reduction=[
                    ReductionTier(threshold=Decimal("199.00"), discount=Decimal("20.00"))
                ],
            ),
        )
    await script_service.replace_script(session, stream, _script(products))
    for item in await checklist_service.add_defaults(session, stream):
        await checklist_service.check_item(
            session, stream, item.id, ChecklistCheckIn(status=CheckStatus.ok), controller
        )
    for scenario, title, steps, owner in DEMO_PLANS:
        await contingency_service.add_plan(
            session,
            stream,
            ContingencyIn(scenario=scenario, title=title, steps=steps, owner_id=team[owner].id),
        )
    for channel, title, hours_before, offer in (
        (Channel.short_video, "预告短视频：五款爆款抢先看", 48, "预约抽 10 人免单"),
        (Channel.wechat, "社群预告：双11 提前购", 24, "群内专属券 10 元"),
        (Channel.app_push, "开播提醒", 1, ""),
    ):
        await warmup_service.add_campaign(
            session,
            stream,
            WarmupIn(
                channel=channel,
                title=title,
                publish_at=start - timedelta(hours=hours_before),
                content="双11 美妆专场，五款好物直播间专属价。",
                link="https://example.com/live/demo",
                exclusive_offer=offer,
            ),
        )
    # Earlier demo runs may hold the same products at the same time: move a day later.
    for _ in range(60):
        findings = await readiness_service.readiness(session, stream)
        if not any(f["code"] == "stock_shortfall_overlap" for f in findings):
            break
        stream.scheduled_start = (stream.scheduled_start or start) + timedelta(days=1)
        await session.flush()
    for title, body in DEMO_QUICK_REPLIES:
        await queue_service.create_reply(
            session, stream.id, controller, title=title, body=body, product_id=None
        )
    stream = await streams_service.schedule(session, stream, None)
    # On sale and explained from the first minute: a simulated audience started right
    # after go-live has something to click and buy.
    await controls_service.list_product(session, stream, products[0].id, controller)
    await controls_service.explain_product(session, stream, products[0].id, controller)
    return stream


def _next_evening(now: datetime) -> datetime:
    """Tomorrow 20:00 Beijing time (12:00 UTC)."""
    day = (now + timedelta(days=1)).date()
    return datetime(day.year, day.month, day.day, 12, 0, tzinfo=UTC)


async def seed(
    session: AsyncSession, settings: Settings
) -> tuple[Stream, list[tuple[str, str, str]]]:
    printed: list[tuple[str, str, str]] = []
    generated_admin = await users_service.bootstrap_admin(session, settings)
    if generated_admin:
        printed.append(("admin", "admin", generated_admin))
    team = await _users(session, printed)
    stream = await build_planned_stream(session, team, _next_evening(datetime.now(UTC)))
    return stream, printed


async def run_demo(settings: Settings) -> None:
    from app.services.webhooks import install_session_hooks

    install_session_hooks()
    engine = create_engine(settings.resolved_database_url)
    maker = make_sessionmaker(engine)
    async with maker() as session:
        stream, printed = await seed(session, settings)
        findings = await readiness_service.readiness(session, stream)
        owner = await session.scalar(select(User).where(User.username == "controller"))
        assert owner is not None  # seed() made it
        _, ingest_key = await ingest_service.create_key(session, stream, owner, "demo")
        await session.commit()
    await engine.dispose()
    ready = not any(f["severity"] == "block" for f in findings)
    start = stream.scheduled_start
    beijing = start.astimezone(ZoneInfo(settings.team_timezone)) if start else None
    print(
        f"Demo stream #{stream.id} '{stream.title}' is {stream.status}, starts "
        f"{beijing:%Y-%m-%d %H:%M} ({settings.team_timezone}); ready to go live: {ready}. "
        "Its first product is listed and explained."
    )
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    print(
        "After go-live (control console, or POST /api/v1/streams/"
        f"{stream.id}/go-live), a simulated audience:\n"
        f"  controlroom simulate {stream.id} --key {ingest_key} "
        f"--url http://{host}:{settings.port} --viewers 300 --duration 600 --i-know\n"
        "  (--i-know: the demo stream is no rehearsal; for practice make a rehearsal copy,\n"
        "   POST /api/v1/streams/ID/rehearsals, and simulate that without it)"
    )
    if printed:
        print("Users created (passwords shown once):")
        for username, role_name, password in printed:
            print(f"  {username:<12} {role_name:<11} {password}")
    else:
        print("Demo users already existed; their passwords are unchanged.")
