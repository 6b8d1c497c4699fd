// The host's teleprompter (提词器): big type readable from two metres, on a tablet or a
// monitor. Every device showing it follows the same live feed, so they stay in step.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useRef, useState } from "react";
import { Link } from "react-router";
import { api, unwrap } from "../../api/client";
import { useStream, useStreamId } from "../../components/layout";
import { isClosed } from "../lifecycle/Lifecycle";
import { LanguageSwitch } from "../../components/layout";
import { ConnectionBanner, formatDuration, MetricTile, useNow } from "../../components/ui";
import { useI18n, type MessageKey } from "../../i18n";
import { serverText, type Params } from "../../i18n/server";
import {
  activeFlashSale,
  pollUnlessLive,
  productMetrics,
  useCues,
  useCurrentMetrics,
  useFlashSales,
  useLineup,
  useProducts,
  useSegmentNow,
  useStreamLive,
} from "../../live/streamData";
import { remainingSeconds } from "../control/Panels";
import type { Cue, LineupRow } from "../../live/streamData";

/** What may claim the host's attention: a person's cue or an alert sent to the host. */
export interface Attention {
  key: string;
  rank: number; // 0 urgent, 1 high, 2 normal
  at: string;
  text: string;
  kind: "cue" | "alert";
  id: number;
}

const RANK: Record<string, number> = { urgent: 0, critical: 0, high: 1, warning: 1, normal: 2, info: 2 };

export interface HostAlert {
  id: number;
  kind: string;
  level: string;
  message: string;
  code?: string;
  params?: Params;
  data?: Params;
  created_at: string;
  acked_at: string | null;
  resolved_at: string | null;
}

/** Automatic question cues (code `cue.questions`), merged into one line: the most-asked
 * three titles and how many viewers ask in all. */
/** Titles in one line: "什么时候发货、包邮吗", not "什么时候发货？、包邮吗？" (a viewer's
 * own question mark would stand before the list's separator). */
export function listTitles(titles: string[], lang: string): string {
  return titles.map((x) => x.trim().replace(/[？?！!。．.，,、；;\s]+$/u, "")).join(lang === "zh" ? "、" : ", ");
}

export function mergeQuestions(cues: Cue[]): { ids: number[]; titles: string[]; total: number; high: boolean } | null {
  const auto = cues.filter((c) => c.code === "cue.questions");
  if (auto.length === 0) return null;
  const count = (c: Cue) => Number((c.params as Params | null)?.["count"] ?? 0);
  const sorted = [...auto].sort((a, b) => count(b) - count(a));
  return {
    ids: auto.map((c) => c.id),
    titles: sorted.slice(0, 3).map((c) => String((c.params as Params | null)?.["title"] ?? c.text)),
    total: auto.reduce((n, c) => n + count(c), 0),
    high: auto.some((c) => c.priority !== "normal"),
  };
}

export function rankAttention(cues: Cue[], alerts: HostAlert[], word: (a: HostAlert) => string): Attention[] {
  // "Sold out" says all that "stock low" said about the same product.
  const soldOut = new Set(alerts.filter((a) => a.kind === "sold_out").map((a) => (a.params ?? a.data)?.["product_id"]));
  alerts = alerts.filter((a) => !(a.kind === "stock_low" && soldOut.has((a.params ?? a.data)?.["product_id"])));
  const items: Attention[] = [
    ...cues
      .filter((c) => c.code !== "cue.questions")
      .map((c) => ({ key: `c${c.id}`, rank: RANK[c.priority] ?? 2, at: c.created_at, text: c.text, kind: "cue" as const, id: c.id })),
    ...alerts
      .filter((a) => !a.acked_at && !a.resolved_at)
      .map((a) => ({ key: `a${a.id}`, rank: RANK[a.level] ?? 2, at: a.created_at, text: word(a), kind: "alert" as const, id: a.id })),
  ];
  return items.sort((a, b) => a.rank - b.rank || Date.parse(b.at) - Date.parse(a.at));
}

function productName(lineup: LineupRow[] | undefined, id: unknown): string | undefined {
  return lineup?.find((r) => r.product_id === id)?.name ?? undefined;
}

interface PrompterPrefs {
  scale: number;
  mirror: boolean;
  autoScroll: boolean;
  speed: number;
}
const PREFS_KEY = "lcr.prompter";

function loadPrefs(): PrompterPrefs {
  const base: PrompterPrefs = { scale: 1, mirror: false, autoScroll: false, speed: 2 };
  try {
    return { ...base, ...(JSON.parse(localStorage.getItem(PREFS_KEY) ?? "{}") as Partial<PrompterPrefs>) };
  } catch {
    return base;
  }
}

export function TeleprompterPage() {
  const { t, money, num } = useI18n();
  const streamId = useStreamId();
  const qc = useQueryClient();
  const live = useStreamLive(streamId);
  const fresh = live.fresh && live.status === "open";
  const { metrics, at } = useCurrentMetrics(streamId, live);
  const seg = useSegmentNow(streamId);
  const lineup = useLineup(streamId);
  const sales = useFlashSales(streamId);
  const cues = useCues(streamId, true);
  const now = useNow(500);
  const [prefs, setPrefs] = useState<PrompterPrefs>(loadPrefs);
  useEffect(() => localStorage.setItem(PREFS_KEY, JSON.stringify(prefs)), [prefs]);

  const explaining = lineup.data?.find((r) => r.explaining) ?? null;
  const products = useProducts(explaining ? [explaining.product_id] : []);
  const product = explaining ? products.data?.get(explaining.product_id) : undefined;
  const pm = explaining ? productMetrics(metrics, explaining.product_id) : null;
  const stockLeft = explaining ? (pm?.stock_left ?? explaining.allotted_stock - explaining.sold_units) : null;
  const flash = activeFlashSale(sales.data, now);
  const d = seg.data;
  // After the end: no running segment timer, the page says the stream has ended.
  const closed = isClosed(useStream(streamId).data?.status);
  const remaining = closed ? null : remainingSeconds(d, seg.dataUpdatedAt, now);

  const { lang } = useI18n();
  const alerts = useQuery({
    queryKey: ["alerts", streamId, "host"],
    refetchInterval: pollUnlessLive(streamId),
    queryFn: async (): Promise<HostAlert[]> =>
      (await unwrap(
        api.GET("/api/v1/streams/{stream_id}/alerts", { params: { path: { stream_id: streamId }, query: { open: true } } }),
      )) as unknown as HostAlert[],
  });
  const wordAlert = useCallback(
    (a: HostAlert) => {
      const params = { ...(a.params ?? a.data ?? {}) };
      const name = productName(lineup.data, params["product_id"]);
      if (name) params["product"] = name;
      else if (params["product_id"] !== undefined && params["product"] === undefined) params["product"] = `#${String(params["product_id"])}`;
      return serverText(lang, a.code ?? `alert.${a.kind}`, params, a.message);
    },
    [lang, lineup.data],
  );
  const queue = rankAttention(cues.data ?? [], alerts.data ?? [], wordAlert);
  const top = queue[0] ?? null;
  const questions = mergeQuestions(cues.data ?? []);
  const ack = useMutation({
    mutationFn: async (what: { cues: number[]; alerts: number[] }) => {
      await Promise.all([
        ...what.cues.map((id) =>
          unwrap(api.POST("/api/v1/streams/{stream_id}/cues/{cue_id}/ack", { params: { path: { stream_id: streamId, cue_id: id } } })),
        ),
        ...what.alerts.map((id) =>
          unwrap(api.POST("/api/v1/streams/{stream_id}/alerts/{alert_id}/ack", { params: { path: { stream_id: streamId, alert_id: id } } })),
        ),
      ]);
    },
    onSettled: () => {
      void qc.invalidateQueries({ queryKey: ["cues", streamId] });
      void qc.invalidateQueries({ queryKey: ["alerts", streamId] });
    },
  });
  const ackTop = useCallback(() => {
    if (ack.isPending) return;
    if (top) ack.mutate(top.kind === "cue" ? { cues: [top.id], alerts: [] } : { cues: [], alerts: [top.id] });
    else if (questions) ack.mutate({ cues: questions.ids, alerts: [] });
  }, [ack, top, questions]);
  // One key acknowledges what is on top (a clicker's Enter, a keyboard's space).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement | null;
      if (target && ["INPUT", "TEXTAREA", "SELECT", "BUTTON"].includes(target.tagName)) return;
      if (e.key === " " || e.key === "Enter") {
        e.preventDefault();
        ackTop();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [ackTop]);
  const move = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/v1/streams/{stream_id}/segments/next", {
          params: { path: { stream_id: streamId } },
          body: { expected_current: d?.current?.id ?? null },
        }),
      ),
    onSuccess: (data) => qc.setQueryData(["segment", streamId], data),
  });

  // Auto-scroll of the talking points, for long segments.
  const points = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!prefs.autoScroll) return;
    const id = setInterval(() => {
      const el = points.current;
      if (!el) return;
      if (el.scrollTop + el.clientHeight >= el.scrollHeight - 1) el.scrollTop = 0;
      else el.scrollTop += prefs.speed;
    }, 60);
    return () => clearInterval(id);
  }, [prefs.autoScroll, prefs.speed]);
  useEffect(() => {
    if (points.current) points.current.scrollTop = 0;
  }, [d?.current?.id]);

  const talking = d?.current?.talking_points ?? [];
  const sellingPoints = product?.selling_points ?? [];
  const image = product?.image_urls?.[0];

  return (
    <div className={`prompter${prefs.mirror ? " mirror" : ""}`} style={{ ["--prompter-scale" as string]: prefs.scale }} data-testid="teleprompter">
      <div className="prompter-bar">
        <Link to={`/streams/${streamId}`}>← {t("common.back")}</Link>
        <strong>{t("console.teleprompter")}</strong>
        <span className="spacer" />
        <button onClick={() => setPrefs({ ...prefs, scale: Math.max(0.6, +(prefs.scale - 0.1).toFixed(1)) })} aria-label={t("prompter.smaller")}>
          A−
        </button>
        <span>{Math.round(prefs.scale * 100)}%</span>
        <button onClick={() => setPrefs({ ...prefs, scale: Math.min(2.5, +(prefs.scale + 0.1).toFixed(1)) })} aria-label={t("prompter.bigger")}>
          A+
        </button>
        <label className="inline">
          <input type="checkbox" checked={prefs.mirror} onChange={(e) => setPrefs({ ...prefs, mirror: e.target.checked })} data-testid="mirror" />
          {t("prompter.mirror")}
        </label>
        <label className="inline">
          <input type="checkbox" checked={prefs.autoScroll} onChange={(e) => setPrefs({ ...prefs, autoScroll: e.target.checked })} />
          {t("prompter.autoScroll")}
        </label>
        <button onClick={() => move.mutate()} disabled={closed || move.isPending || (!!d?.current && !d.next) || !d?.total_segments}>
          {t("segment.nextBtn")} ▶
        </button>
        <button onClick={() => void document.documentElement.requestFullscreen?.()}>{t("prompter.fullscreen")}</button>
        <LanguageSwitch />
      </div>
      <ConnectionBanner live={live} />
      <div className="p-cues" data-testid="prompter-cues">
        {top && (
          <div
            key={top.key}
            className={`p-cue ${["urgent", "high", "normal"][top.rank]}${top.rank === 0 ? " flash" : ""}`}
            role="alert"
            data-testid="prompter-cue"
            data-kind={top.kind}
          >
            <span className="p-cue-text">{top.kind === "alert" ? "⚠" : "◆"} {top.text}</span>
            {queue.length > 1 && (
              <span className="p-cue-more" data-testid="prompter-cue-more">
                {t("prompter.more", { n: queue.length - 1 })}
              </span>
            )}
            <button onClick={ackTop} disabled={ack.isPending} data-testid="cue-ack">
              {t("prompter.ack")} <kbd>{t("prompter.ackKey")}</kbd>
            </button>
          </div>
        )}
        {questions && (
          <div className={`p-cue questions${questions.high ? " high" : ""}`} data-testid="prompter-questions">
            <span className="p-cue-text">
              ？{" "}
              {questions.ids.length === 1
                ? t("prompter.questionsOne", { title: questions.titles[0] ?? "", n: questions.total })
                : t("prompter.questions", { titles: listTitles(questions.titles, lang), n: questions.total })}
            </span>
            <button
              onClick={() => ack.mutate({ cues: questions.ids, alerts: [] })}
              disabled={ack.isPending}
              data-testid="questions-ack"
            >
              {t("prompter.ack")}
              {!top && <kbd>{t("prompter.ackKey")}</kbd>}
            </button>
          </div>
        )}
      </div>
      <div className="prompter-body">
        <div className="col" style={{ gap: 14, minWidth: 0 }}>
          <div className="row" style={{ alignItems: "baseline" }}>
            <div className="p-segment-name" data-testid="prompter-segment">
              {closed ? t("life.endedPrompter") : d?.current ? d.current.title : d?.total_segments ? t("segment.notStarted") : t("segment.noScript")}
            </div>
            <span className="spacer" />
            {remaining !== null && (
              <div className={`p-remaining${remaining < 0 ? " over" : ""}`} data-testid="prompter-remaining" title={t("prompter.remaining")}>
                {remaining < 0 ? "+" : ""}
                {formatDuration(Math.abs(remaining))}
              </div>
            )}
          </div>
          {d?.current && <div className="muted">{t(`segkind.${d.current.kind}` as MessageKey)}</div>}
          <div className="p-next">
            {t("segment.next")}: {d?.next ? `${d.next.title} (${formatDuration(d.next.duration_seconds)})` : "—"}
          </div>
          <div className="p-points" ref={points} data-testid="prompter-points">
            <ul>
              {talking.map((p, i) => (
                <li key={i}>{p}</li>
              ))}
              {d?.current?.cues?.map((c, i) => (
                <li key={`c${i}`} className="warn">
                  {c}
                </li>
              ))}
            </ul>
            {talking.length === 0 && d?.current && <p className="muted">{t("prompter.noPoints")}</p>}
          </div>
        </div>
        <div className="col" style={{ gap: 14, minWidth: 0 }}>
          <div className="p-figures">
            <MetricTile big label={t("m.online")} value={num(metrics?.online)} at={at} fresh={fresh} testId="p-online" />
            <MetricTile big label={t("m.gmv")} value={money(metrics?.gmv ?? null)} at={at} fresh={fresh} testId="p-gmv" />
            <MetricTile big label={t("m.orders")} value={num(metrics?.orders)} at={at} fresh={fresh} testId="p-orders" />
          </div>
          {flash && (
            <div className="p-flash" data-testid="prompter-flash">
              ⚡ {t("flash.title")}
              {/* which product: the sale need not be the one being explained */}
              {productName(lineup.data, flash.product_id) && <span data-testid="flash-product"> · {productName(lineup.data, flash.product_id)}</span>}{" "}
              {money(flash.price)} · {t("prompter.left", { n: num(flash.remaining ?? flash.quantity) })}
              <div className="countdown">{flash.ends_at ? formatDuration((Date.parse(flash.ends_at) - now) / 1000) : ""}</div>
            </div>
          )}
          {explaining ? (
            <div className="p-product" data-testid="prompter-product">
              {image ? <img src={image} alt="" /> : null}
              <div className="col" style={{ gap: 6, minWidth: 0 }}>
                <div className="badge badge-explaining" style={{ alignSelf: "flex-start" }}>
                  {t("listing.explaining")} · {t(`listing.${explaining.status}` as MessageKey)}
                </div>
                <div className="p-product-name" data-testid="prompter-product-name">
                  {explaining.name || product?.name || `#${explaining.product_id}`}
                </div>
                <div className="p-price" data-testid="prompter-price">{money(explaining.live_price)}</div>
                {explaining.gifts.length > 0 && (
                  <div data-testid="prompter-gift">
                    {explaining.gift_stock === null || explaining.gift_stock === undefined
                      ? t("offer.gift", { gift: explaining.gifts[0] ?? "" })
                      : explaining.gift_stock - (explaining.gifts_given ?? 0) > 0
                        ? t("offer.giftLeft", { gift: explaining.gifts[0] ?? "", n: explaining.gift_stock - (explaining.gifts_given ?? 0) })
                        : t("offer.giftGone", { gift: explaining.gifts[0] ?? "" })}
                  </div>
                )}
                <div className={`p-stock${stockLeft !== null && stockLeft < 10 ? " low" : ""}${fresh ? "" : " stale-text"}`} data-testid="prompter-stock">
                  {t("product.stockLeft")}: {num(stockLeft)}
                </div>
                <ul style={{ margin: 0, paddingLeft: "1.1em" }}>
                  {sellingPoints.slice(0, 3).map((p, i) => (
                    <li key={i}>{p}</li>
                  ))}
                </ul>
              </div>
            </div>
          ) : (
            <div className="p-product muted">{t("prompter.noProduct")}</div>
          )}
        </div>
      </div>
    </div>
  );
}
