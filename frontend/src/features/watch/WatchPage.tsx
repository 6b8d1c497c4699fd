// The viewer's watch page (phone layout): what is on sale with live price, stock and
// flash-sale countdown; comments; buy and pay; pinned comment and public answers; lottery.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { useParams } from "react-router";
import { api, ApiError, newIdempotencyKey, unwrap, type Schemas } from "../../api/client";
import { LanguageSwitch } from "../../components/layout";
import { formatDuration, useNow } from "../../components/ui";
import { useI18n } from "../../i18n";
import type { LiveEvent } from "../../live/types";
import { useLive } from "../../live/useLive";
import { WatchSurveys } from "./Surveys";
import { forgetViewer, openViewer, viewerEvent, viewerHeaders, type ViewerSession } from "./viewer";

type StoreProduct = Schemas["StorefrontProduct"];
type Order = Schemas["OrderOut"];
interface FlashInfo {
  product_id: number;
  price: string;
  ends_at: string | null;
  remaining: number | null;
}
interface Shown {
  key: string;
  text: string;
  kind: "comment" | "pinned" | "answer" | "system";
  question?: string;
}

function str(v: unknown): string | null {
  return typeof v === "string" ? v : null;
}

export function WatchPage() {
  const { t, money, num } = useI18n();
  const streamId = Number(useParams().streamId);
  const qc = useQueryClient();
  const now = useNow(500);
  const [viewer, setViewer] = useState<ViewerSession | null>(null);
  const [viewerError, setViewerError] = useState<unknown>(null);
  const [feed, setFeed] = useState<Shown[]>([]);
  const [flash, setFlash] = useState<FlashInfo | null>(null);
  const [lottery, setLottery] = useState<{ id: number | null; prize: string; keyword: string | null; condition: string; draw_at: string | null } | null>(null);
  const [drawn, setDrawn] = useState<{ id: number; prize: string; winners: string[]; won: boolean } | null>(null);
  const [verified, setVerified] = useState<boolean | null>(null);
  const [buying, setBuying] = useState<StoreProduct | null>(null);
  const [comment, setComment] = useState("");
  const [notice, setNotice] = useState<string | null>(null);
  const liveOpen = useRef(false);

  const store = useQuery({
    queryKey: ["storefront", streamId],
    queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/storefront", { params: { path: { stream_id: streamId } } })),
    // Product events reach the watch page's socket only when the backend marks them for
    // viewers; until then (and while disconnected) the storefront is polled briskly.
    refetchInterval: () => (liveOpen.current ? 10_000 : 3_000),
  });

  useEffect(() => {
    let cancelled = false;
    openViewer(streamId)
      .then((v) => !cancelled && setViewer(v))
      .catch((e: unknown) => !cancelled && setViewerError(e));
    return () => {
      cancelled = true;
    };
  }, [streamId]);

  // Announce the viewer once the session exists (counts towards online viewers).
  useEffect(() => {
    if (!viewer) return;
    viewerEvent(viewer, streamId, { type: "viewer_join", source: "other" }).catch((e: unknown) => {
      if (e instanceof ApiError && e.status === 401) {
        forgetViewer(streamId);
        setViewer(null);
      }
    });
  }, [viewer, streamId]);

  // Leaving counts too (online viewers): a keepalive request survives the page closing.
  useEffect(() => {
    if (!viewer) return;
    const leave = () =>
      void fetch(`/api/v1/streams/${streamId}/viewer-events`, {
        method: "POST",
        keepalive: true,
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${viewer.viewer_token}` },
        body: JSON.stringify({ type: "viewer_leave" }),
      }).catch(() => undefined);
    window.addEventListener("pagehide", leave);
    return () => window.removeEventListener("pagehide", leave);
  }, [viewer, streamId]);

  const onEvent = useCallback(
    (e: LiveEvent) => {
      const d = e.data;
      const family = e.type.split(".")[0];
      if (family === "product" || family === "stock" || family === "flash_sale" || family === "stream") void qc.invalidateQueries({ queryKey: ["storefront", streamId] });
      if (e.type === "flash_sale.started") {
        setFlash({
          product_id: Number(d["product_id"]),
          price: str(d["price"]) ?? "",
          ends_at: str(d["ends_at"]),
          remaining: typeof d["remaining"] === "number" ? d["remaining"] : typeof d["quantity"] === "number" ? d["quantity"] : null,
        });
      } else if (e.type === "flash_sale.ended") setFlash(null);
      else if (e.type === "lottery.cancelled") setLottery(null);
      else if (e.type.startsWith("lottery.") && e.type !== "lottery.drawn") {
        setLottery({
          id: typeof d["id"] === "number" ? d["id"] : null,
          prize: str(d["prize"]) ?? "",
          keyword: str(d["keyword"]),
          condition: str(d["condition"]) ?? "present",
          draw_at: str(d["draw_at"]),
        });
      } else if (e.type === "lottery.drawn") {
        // The public event names the winners masked (issue #19): whether I won is asked
        // of the server with my viewer token (my entry, eligible, won).
        const winners = Array.isArray(d["winners"]) ? (d["winners"] as unknown[]).map(String) : [];
        const prize = str(d["prize"]) ?? "";
        const id = typeof d["id"] === "number" ? d["id"] : null;
        setLottery(null);
        setVerified(null);
        if (id !== null) setDrawn({ id, prize, winners, won: false });
        setNotice(t("watch.lotteryDrawn"));
        if (id !== null && viewer) {
          void unwrap(
            api.GET("/api/v1/streams/{stream_id}/lotteries/{lottery_id}/me", {
              params: { path: { stream_id: streamId, lottery_id: id } },
              headers: viewerHeaders(viewer),
            }),
          ).then(
            (mine) => {
              if (!mine.won) return;
              setDrawn({ id, prize, winners, won: true });
              setNotice(t("watch.youWon", { prize }));
            },
            () => undefined,
          );
        }
      } else if (e.type === "pin.changed") {
        void qc.invalidateQueries({ queryKey: ["pin", streamId] });
      } else if (e.type === "comment.new" && Array.isArray(d["comments"])) {
        const texts = (d["comments"] as unknown[])
          .map((c) => (c && typeof c === "object" ? str((c as Record<string, unknown>)["text"]) : null))
          .filter((x): x is string => !!x);
        setFeed((f) => [...f, ...texts.map((text, i) => ({ key: `c${e.seq}-${i}`, text, kind: "comment" as const }))].slice(-8));
      }
    },
    [qc, streamId, t, viewer],
  );
  const onSnapshot = useCallback((snap: Record<string, unknown>) => {
    const fs = snap["flash_sale"] ?? (Array.isArray(snap["flash_sales"]) ? (snap["flash_sales"] as unknown[])[0] : null);
    if (fs && typeof fs === "object") {
      const d = fs as Record<string, unknown>;
      setFlash({ product_id: Number(d["product_id"]), price: str(d["price"]) ?? "", ends_at: str(d["ends_at"]), remaining: typeof d["remaining"] === "number" ? d["remaining"] : null });
    }
    // A lucky bag opened before this viewer arrived (or reconnected) is in the snapshot.
    const lotteries = Array.isArray(snap["lotteries"]) ? (snap["lotteries"] as unknown[]) : [];
    const open = lotteries.find((x): x is Record<string, unknown> => !!x && typeof x === "object" && (x as Record<string, unknown>)["status"] === "open");
    setLottery(
      open
        ? {
            id: typeof open["id"] === "number" ? open["id"] : null,
            prize: str(open["prize"]) ?? "",
            keyword: str(open["keyword"]),
            condition: str(open["condition"]) ?? "present",
            draw_at: str(open["draw_at"]),
          }
        : null,
    );
  }, []);
  const token = useCallback(() => viewer?.viewer_token ?? null, [viewer]);
  const live = useLive(viewer ? streamId : null, { path: `/ws/streams/${streamId}/watch`, token, onEvent, onSnapshot });

  // Only a feed that has delivered its snapshot counts: until then, poll.
  liveOpen.current = live.status === "open" && live.fresh;
  // What the room shows pinned: a comment, or a public answer from customer service.
  const pin = useQuery({
    queryKey: ["pin", streamId],
    queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/pin", { params: { path: { stream_id: streamId } } })),
    refetchInterval: () => (liveOpen.current ? 10_000 : 3_000),
  }).data?.pin;
  const pinned = pin && pin.kind !== "answer" ? pin.text : null;
  const answers: Shown[] = [];
  if (pin && pin.kind === "answer") {
    const [question, ...rest] = pin.text.split("\n");
    answers.push({ key: `pin${pin.id}`, kind: "answer", question: rest.length ? question : undefined, text: rest.length ? rest.join("\n") : pin.text });
  }
  const products = store.data?.products ?? [];
  const main = products.find((p) => p.explaining) ?? products[0] ?? null;
  const others = products.filter((p) => p !== main);
  const listedSale = store.data?.flash_sales[0];
  const sale: FlashInfo | null =
    flash ?? (listedSale ? { product_id: listedSale.product_id, price: listedSale.price, ends_at: listedSale.ends_at, remaining: listedSale.remaining } : null);
  const flashLeft = sale?.ends_at ? (Date.parse(sale.ends_at) - now) / 1000 : null;
  const activeFlash = sale && (flashLeft === null || flashLeft > 0) ? sale : null;
  const flashName = activeFlash ? products.find((p) => p.product_id === activeFlash.product_id)?.name : undefined;
  const online = live.metrics?.online ?? null;

  async function sendComment(e: FormEvent) {
    e.preventDefault();
    if (!viewer || !comment.trim()) return;
    const text = comment.trim();
    try {
      await unwrap(
        api.POST("/api/v1/streams/{stream_id}/comments", {
          params: { path: { stream_id: streamId } },
          body: { text, event_id: newIdempotencyKey().slice(0, 64) },
          headers: viewerHeaders(viewer),
        }),
      );
      setFeed((f) => [...f, { key: `me${Date.now()}`, text, kind: "comment" as const }].slice(-8));
      setComment("");
    } catch (err) {
      setNotice(
        err instanceof ApiError
          ? err.code === "muted"
            ? t("watch.muted")
            : err.missing
              ? t("common.backendMissing")
              : err.message
          : t("common.networkError"),
      );
    }
  }

  function openBuy(p: StoreProduct) {
    setBuying(p);
    if (viewer) void viewerEvent(viewer, streamId, { type: "product_click", product_id: p.product_id }).catch(() => undefined);
  }

  // After the end the page says the stream is over: no products, no buy buttons.
  const over = store.data?.status === "ended" || store.data?.status === "archived";
  const statusText = useMemo(() => {
    if (!store.data) return "";
    return store.data.status === "live" ? t("watch.live") : t(`status.${store.data.status}` as "status.live");
  }, [store.data, t]);

  return (
    <div className="watch" data-testid="watch-page">
      <div className="watch-video">
        <div className="col" style={{ gap: 6 }}>
          <span className="watch-live">{statusText || "…"}</span>
          <strong>{store.data?.title ?? ""}</strong>
        </div>
        <div className="col" style={{ gap: 6, alignItems: "flex-end" }}>
          <span className="watch-online" data-testid="watch-online">
            {t("watch.online", { n: online === null ? "—" : num(online) })}
          </span>
          <LanguageSwitch />
        </div>
        <div className="watch-comments">
          {pinned && (
            <div className="watch-pinned" data-testid="watch-pinned">
              ▲ {pinned}
            </div>
          )}
          {feed.map((c) => (
            <div key={c.key}>{c.text}</div>
          ))}
        </div>
      </div>
      {live.status !== "open" && viewer && (
        <div className="banner banner-warn" style={{ margin: 8 }} data-testid="conn-banner">
          {t("watch.reconnecting")}
        </div>
      )}
      <div className="watch-section">
        {notice && (
          <div className="w-answers" role="status" data-testid="watch-notice" onClick={() => setNotice(null)}>
            {notice}
          </div>
        )}
        {store.error instanceof ApiError && store.error.status === 404 && !store.error.missing ? (
          <div className="pending">{t("watch.notFound")}</div>
        ) : null}
        {store.error instanceof ApiError && store.error.missing ? <div className="pending">{t("common.backendMissing")}</div> : null}
        <CouponStrip streamId={streamId} viewer={viewer} coupons={store.data?.coupons ?? []} />
        {activeFlash && (
          <div className="w-flash" data-testid="watch-flash">
            ⚡ {t("flash.title")}
            {flashName && <span data-testid="flash-product"> · {flashName}</span>} {money(activeFlash.price)}
            {flashLeft !== null && <span> · {t("watch.endsIn", { t: formatDuration(flashLeft) })}</span>}
            {activeFlash.remaining !== null && <span> · {t("prompter.left", { n: activeFlash.remaining })}</span>}
          </div>
        )}
        {lottery && (
          <div className="w-answers" data-testid="watch-lottery">
            ◆ {t("watch.lottery", { prize: lottery.prize })}
            {lottery.draw_at && <span> · {formatDuration((Date.parse(lottery.draw_at) - now) / 1000)}</span>}
            <div className="row" style={{ marginTop: 6 }}>
              {lottery.condition === "comment" && lottery.keyword ? (
                <button className="small" onClick={() => setComment(lottery.keyword ?? "")}>
                  {t("watch.lotteryComment", { keyword: lottery.keyword })}
                </button>
              ) : lottery.condition === "follow" ? (
                <button
                  className="small"
                  onClick={() =>
                    viewer &&
                    void viewerEvent(viewer, streamId, { type: "follow" }).then(() => setNotice(t("watch.followed")))
                  }
                >
                  {t("watch.follow")}
                </button>
              ) : (
                <span className="muted">{t("watch.lotteryPresent")}</span>
              )}
            </div>
          </div>
        )}
        {viewer && <WatchSurveys streamId={streamId} viewer={viewer} />}
        {drawn && (
          <div className="w-answers" data-testid="watch-lottery-result">
            ◆ {drawn.won ? t("watch.youWon", { prize: drawn.prize }) : t("watch.lotteryResult", { prize: drawn.prize, n: drawn.winners.length })}
            <div className="row" style={{ marginTop: 6 }}>
              <button
                className="small"
                data-testid="watch-lottery-verify"
                onClick={() =>
                  void unwrap(
                    api.GET("/api/v1/streams/{stream_id}/lotteries/{lottery_id}/verify", { params: { path: { stream_id: streamId, lottery_id: drawn.id } } }),
                  ).then(
                    (v) => setVerified(v.valid),
                    () => setVerified(false),
                  )
                }
              >
                {t("watch.lotteryVerify")}
              </button>
              {verified !== null && (
                <span className={verified ? "good" : "bad"} data-testid="watch-lottery-verified">
                  {verified ? t("watch.lotteryVerified") : t("watch.lotteryNotVerified")}
                </span>
              )}
              <button className="small" onClick={() => setDrawn(null)}>
                ✕
              </button>
            </div>
          </div>
        )}
        {over ? (
          <div className="pending" data-testid="watch-over">{t("life.watchOver")}</div>
        ) : main ? (
          <ProductCard p={main} onBuy={openBuy} flash={activeFlash?.product_id === main.product_id ? activeFlash : null} />
        ) : (
          store.data && <div className="pending" data-testid="watch-nothing">{t("watch.nothingListed")}</div>
        )}
        {!over && others.map((p) => (
          <ProductCard key={p.product_id} p={p} onBuy={openBuy} flash={activeFlash?.product_id === p.product_id ? activeFlash : null} />
        ))}
        {answers.length > 0 && (
          <div className="w-answers" data-testid="watch-answers">
            <strong>{t("watch.answers")}</strong>
            {answers.map((a) => (
              <div key={a.key} style={{ marginTop: 4 }}>
                {a.question && <div className="muted">Q: {a.question}</div>}
                <div>A: {a.text}</div>
              </div>
            ))}
          </div>
        )}
        {viewerError && !over ? <div className="pending">{t("watch.noSession")}</div> : null}
      </div>
      {!over && (
      <form className="w-commentbox" onSubmit={sendComment}>
        <input value={comment} onChange={(e) => setComment(e.target.value)} placeholder={t("watch.commentPlaceholder")} maxLength={200} disabled={!viewer} data-testid="watch-comment" />
        <button className="primary" disabled={!viewer || !comment.trim()} data-testid="watch-send">
          {t("common.send")}
        </button>
      </form>
      )}
      {buying && viewer && <BuySheet streamId={streamId} viewer={viewer} product={buying} flash={activeFlash?.product_id === buying.product_id ? activeFlash : null} onClose={() => setBuying(null)} />}
    </div>
  );
}

/** The product's offers as the viewer sees them: 满减 tiers, the item's coupon, the gift. */
const OFFER_TAG = { marginRight: 4, display: "inline-block", padding: "0 6px", borderRadius: 4, border: "1px solid #f9a8b8", color: "#e11d48", background: "#fff1f3" } as const;

function OfferLine({ p }: { p: StoreProduct }) {
  const { t, money } = useI18n();
  const parts: string[] = [];
  // 满199减20 reads without currency signs and trailing zeros
  const plain = (m: string) => String(Number(m));
  for (const tier of p.full_reduction ?? []) parts.push(t("offer.tier", { threshold: plain(tier.threshold), discount: plain(tier.discount) }));
  if (p.coupon_discount) parts.push(t("offer.itemCoupon", { discount: plain(p.coupon_discount), min: plain(p.coupon_min_spend ?? "0") }));
  const gift = p.gifts[0];
  return parts.length || gift || (p.bundles ?? []).length ? (
    <div className="small" data-testid="watch-offers">
      {parts.map((x) => (
        <span key={x} style={OFFER_TAG}>
          {x}
        </span>
      ))}
      {gift && (
        <span data-testid="watch-gift" style={OFFER_TAG}>
          {p.gift_left === null || p.gift_left === undefined
            ? t("offer.gift", { gift })
            : p.gift_left > 0
              ? t("offer.giftLeft", { gift, n: p.gift_left })
              : t("offer.giftGone", { gift })}
        </span>
      )}
      {(p.bundles ?? []).map((b) => (
        <span key={b.name} style={OFFER_TAG}>
          {t("offer.bundle", { name: b.name, price: money(b.price) })}
        </span>
      ))}
    </div>
  ) : null;
}

type StoreCoupon = Schemas["StorefrontCoupon"];

/** Coupons the viewer can claim now (领券), and which they hold. */
function CouponStrip({ streamId, viewer, coupons }: { streamId: number; viewer: ViewerSession | null; coupons: StoreCoupon[] }) {
  const { t, money } = useI18n();
  const qc = useQueryClient();
  const [error, setError] = useState<string | null>(null);
  const claims = useQuery({
    queryKey: ["coupon-claims", streamId, viewer?.viewer_id],
    enabled: !!viewer,
    queryFn: () =>
      unwrap(api.GET("/api/v1/streams/{stream_id}/coupon-claims", { params: { path: { stream_id: streamId } }, headers: viewer ? viewerHeaders(viewer) : {} })),
  });
  const held = new Set((claims.data ?? []).filter((c) => !c.used_at).map((c) => c.coupon_id));
  if (!coupons.length && !held.size) return null;
  async function claim(id: number) {
    if (!viewer) return;
    setError(null);
    try {
      await unwrap(api.POST("/api/v1/streams/{stream_id}/coupons/{coupon_id}/claim", { params: { path: { stream_id: streamId, coupon_id: id } }, headers: viewerHeaders(viewer) }));
    } catch (e) {
      setError(e instanceof ApiError ? (e.code === "coupon_exhausted" ? t("offer.couponGone") : e.code === "limit_exceeded" ? t("offer.couponHeld") : e.message) : t("common.networkError"));
    }
    void qc.invalidateQueries({ queryKey: ["coupon-claims", streamId] });
    void qc.invalidateQueries({ queryKey: ["storefront", streamId] });
  }
  return (
    <div className="w-answers" data-testid="watch-coupons">
      {coupons.map((c) => (
        <span key={c.id} className="row" style={{ display: "inline-flex", marginRight: 8 }}>
          <span>
            {c.title || (Number(c.threshold) > 0 ? t("offer.couponThreshold", { threshold: money(c.threshold), amount: money(c.amount) }) : t("offer.couponFlat", { amount: money(c.amount) }))}
          </span>
          {held.has(c.id) ? (
            <span className="good small">{t("offer.claimed")}</span>
          ) : (
            <button type="button" className="small" disabled={!viewer} onClick={() => void claim(c.id)} data-testid={`claim-${c.id}`}>
              {t("offer.claim")}
            </button>
          )}
        </span>
      ))}
      {error && <div className="error small">{error}</div>}
    </div>
  );
}

function ProductCard({ p, onBuy, flash }: { p: StoreProduct; onBuy: (p: StoreProduct) => void; flash: FlashInfo | null }) {
  const { t, money, num } = useI18n();
  const soldOut = p.stock_left <= 0;
  return (
    <div className="w-product" data-testid={`watch-product-${p.product_id}`}>
      {p.image_urls[0] ? <img src={p.image_urls[0]} alt="" /> : <img alt="" />}
      <div className="col" style={{ gap: 3, flex: 1, minWidth: 0 }}>
        <div style={{ fontWeight: 700 }}>
          {p.explaining && <span className="badge badge-explaining" style={{ color: "#fff" }}>{t("listing.explaining")}</span>} {p.name}
        </div>
        <div className="muted small">{p.selling_points.slice(0, 2).join(" · ")}</div>
        <div className="row" style={{ alignItems: "baseline" }}>
          <span className="price" data-testid="watch-price">{money(flash?.price ?? p.live_price)}</span>
          {/* A struck-through price only with its stated basis (《明码标价和禁止价格欺诈规定》). */}
          {p.reference_price && (
            <span className="muted small" data-testid="watch-reference" title={t("offer.referenceBasis", { n: p.reference_price.days })}>
              {p.reference_price.label === "日常价" ? t("offer.dailyPrice") : p.reference_price.label} <s>{money(p.reference_price.price)}</s>
            </span>
          )}
        </div>
        <OfferLine p={p} />
        <div className="row">
          <span className={`small ${p.stock_left < 10 ? "bad" : "muted"}`} data-testid="watch-stock">
            {soldOut ? t("watch.soldOut") : t("watch.stock", { n: num(p.stock_left) })}
          </span>
          <span className="spacer" />
          <button className="buy" disabled={soldOut} onClick={() => onBuy(p)} data-testid="watch-buy">
            {soldOut ? t("watch.soldOut") : t("watch.buy")}
          </button>
        </div>
      </div>
    </div>
  );
}

/** What the server priced: list and live price, each discount, the amount, the gift. */
function OrderBreakdown({ order }: { order: Order }) {
  const { t, money } = useI18n();
  return (
    <div className="small" data-testid="order-breakdown">
      {order.bundle && <div>{t("offer.bundleLine", { name: order.bundle, n: order.quantity })}</div>}
      {order.list_price && <div className="muted">{t("offer.listPrice")}: {money(order.list_price)}</div>}
      {order.live_price && <div className="muted">{t("offer.livePrice")}: {money(order.live_price)}</div>}
      {(order.discounts ?? []).map((d, i) => (
        <div key={i} data-testid="order-discount">
          {d.label}: −{money(d.amount)}
        </div>
      ))}
      <div>
        {t("offer.paid")}: <strong>{money(order.amount)}</strong>
      </div>
      {order.gift && <div className="good">{t("offer.gift", { gift: order.gift })}</div>}
    </div>
  );
}

function BuySheet({ streamId, viewer, product, flash, onClose }: { streamId: number; viewer: ViewerSession; product: StoreProduct; flash: FlashInfo | null; onClose: () => void }) {
  const { t, money } = useI18n();
  const qc = useQueryClient();
  const [qty, setQty] = useState(1);
  const [order, setOrder] = useState<Order | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // One key per attempt: a retried tap cannot buy twice.
  const [idem] = useState(newIdempotencyKey);
  const [bundle, setBundle] = useState<string>("");
  const [coupon, setCoupon] = useState<string>("best");
  const claims = useQuery({
    queryKey: ["coupon-claims", streamId, viewer.viewer_id],
    queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/coupon-claims", { params: { path: { stream_id: streamId } }, headers: viewerHeaders(viewer) })),
  });
  const usable = [...new Set((claims.data ?? []).filter((c) => !c.used_at).map((c) => c.coupon_id))];
  const chosenBundle = (product.bundles ?? []).find((b) => b.name === bundle) ?? null;

  function explain(e: unknown): string {
    if (e instanceof ApiError) {
      if (e.code === "sold_out") return t("watch.err.soldOut");
      if (e.code === "limit_exceeded") return t("watch.err.limit");
      if (e.code === "not_listed") return t("watch.err.notListed");
      if (e.code === "coupon_threshold_not_met") return t("offer.err.threshold");
      if (e.code === "coupon_not_claimed") return t("offer.err.notClaimed");
      if (e.missing) return t("common.backendMissing");
      return e.message;
    }
    return t("common.networkError");
  }

  async function place() {
    setBusy(true);
    setError(null);
    try {
      const o = await unwrap(
        api.POST("/api/v1/streams/{stream_id}/orders", {
          params: { path: { stream_id: streamId }, header: { "Idempotency-Key": idem } },
          body: {
            product_id: product.product_id,
            quantity: qty,
            ...(chosenBundle ? { bundle: chosenBundle.name } : {}),
            ...(flash ? {} : coupon === "best" ? { best_coupon: true } : coupon !== "none" ? { coupon_id: Number(coupon) } : {}),
          },
          headers: viewerHeaders(viewer),
        }),
      );
      setOrder(o);
      void qc.invalidateQueries({ queryKey: ["storefront", streamId] });
    } catch (e) {
      setError(explain(e));
    } finally {
      setBusy(false);
    }
  }
  async function pay() {
    if (!order) return;
    setBusy(true);
    setError(null);
    try {
      const o = await unwrap(
        api.POST("/api/v1/streams/{stream_id}/orders/{order_id}/pay", {
          params: { path: { stream_id: streamId, order_id: order.id } },
          headers: viewerHeaders(viewer, { "Idempotency-Key": `${idem}-pay` }),
        }),
      );
      setOrder(o);
    } catch (e) {
      setError(explain(e));
    } finally {
      setBusy(false);
    }
  }
  const paid = order && order.status === "paid";
  return (
    <div className="sheet" onClick={onClose}>
      <div className="sheet-body" onClick={(e) => e.stopPropagation()} data-testid="buy-sheet">
        <strong>{product.name}</strong>
        <div>
          {t("watch.unitPrice")}: <strong>{money(chosenBundle?.price ?? flash?.price ?? product.live_price)}</strong>
        </div>
        {!order && (
          <>
            {(product.bundles ?? []).length > 0 && !flash && (
              <label className="row small">
                {t("offer.buyAs")}
                <select value={bundle} onChange={(e) => setBundle(e.target.value)} data-testid="buy-bundle">
                  <option value="">{t("offer.single")}</option>
                  {(product.bundles ?? []).map((b) => (
                    <option key={b.name} value={b.name} disabled={b.available <= 0}>
                      {t("offer.bundle", { name: b.name, price: money(b.price) })}
                    </option>
                  ))}
                </select>
              </label>
            )}
            {!flash && (
              <label className="row small">
                {t("offer.coupon")}
                <select value={coupon} onChange={(e) => setCoupon(e.target.value)} data-testid="buy-coupon">
                  <option value="best">{t("offer.bestCoupon")}</option>
                  <option value="none">{t("offer.noCoupon")}</option>
                  {usable.map((id) => (
                    <option key={id} value={String(id)}>
                      #{id}
                    </option>
                  ))}
                </select>
              </label>
            )}
            <div className="row">
              {t("watch.quantity")}
              <button type="button" className="small" onClick={() => setQty(Math.max(1, qty - 1))}>
                −
              </button>
              <span data-testid="buy-qty">{qty}</span>
              <button type="button" className="small" onClick={() => setQty(Math.min(product.stock_left || 1, qty + 1))}>
                +
              </button>
            </div>
            <button className="primary" onClick={() => void place()} disabled={busy} data-testid="buy-confirm">
              {t("watch.placeOrder")}
            </button>
          </>
        )}
        {order && !paid && (
          <>
            <div data-testid="order-created">
              {t("watch.orderCreated", { id: order.id })} · {money(order.amount)}
            </div>
            <OrderBreakdown order={order} />
            <button className="primary" onClick={() => void pay()} disabled={busy} data-testid="buy-pay">
              {t("watch.pay", { amount: money(order.amount) })}
            </button>
          </>
        )}
        {paid && (
          <div className="good" data-testid="order-paid">
            ✓ {t("watch.paid")}
          </div>
        )}
        {error && (
          <div className="error" data-testid="buy-error">
            {error}
          </div>
        )}
        <button type="button" onClick={onClose}>
          {t("common.back")}
        </button>
      </div>
    </div>
  );
}
