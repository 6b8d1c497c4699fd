// The host's teleprompter (提词器): big type readable from two metres, on a tablet or a
// monitor. Every device showing it follows the same live feed, so they stay in step.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { Link } from "react-router";
import { api, unwrap } from "../../api/client";
import { useStream, useStreamId } from "../../components/layout";
import { isClosed } from "../lifecycle/Lifecycle";
import { LanguageSwitch } from "../../components/layout";
import { ConnectionBanner, formatDuration, MetricTile, useNow } from "../../components/ui";
import { useI18n, type MessageKey } from "../../i18n";
import {
  activeFlashSale,
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

  const ack = useMutation({
    mutationFn: (cueId: number) =>
      unwrap(api.POST("/api/v1/streams/{stream_id}/cues/{cue_id}/ack", { params: { path: { stream_id: streamId, cue_id: cueId } } })),
    onSettled: () => void qc.invalidateQueries({ queryKey: ["cues", streamId] }),
  });
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
      {(cues.data ?? []).map((c) => (
        <div key={c.id} className={`p-cue flash ${c.priority}`} role="alert" data-testid="prompter-cue">
          <span>◆ {c.text}</span>
          <button onClick={() => ack.mutate(c.id)} disabled={ack.isPending} data-testid="cue-ack">
            {t("prompter.ack")}
          </button>
        </div>
      ))}
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
              ⚡ {t("flash.title")} {money(flash.price)} · {t("prompter.left", { n: num(flash.remaining ?? flash.quantity) })}
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
