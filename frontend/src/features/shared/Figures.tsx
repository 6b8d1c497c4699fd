// Headline figures and per-minute charts, shared by the control console and the review.
import { useMemo, useRef, type ReactNode } from "react";
import { EChart, type EChartOption } from "../../components/EChart";
import { MetricTile } from "../../components/ui";
import { TEAM_TIME_ZONE, useI18n } from "../../i18n";
import type { MinutePoint } from "../../live/streamData";
import type { Metrics } from "../../live/types";

export function MetricTiles({
  metrics,
  at,
  fresh,
  keys,
}: {
  metrics: Metrics | null;
  at: number | null;
  fresh: boolean;
  keys?: (keyof Metrics)[];
}) {
  const { t, num, money } = useI18n();
  const all: { key: keyof Metrics; label: string; money?: boolean }[] = [
    { key: "online", label: t("m.online") },
    { key: "viewers", label: t("m.viewers") },
    { key: "gmv", label: t("m.gmv"), money: true },
    { key: "orders", label: t("m.orders") },
    { key: "paid_orders", label: t("m.paid_orders") },
    { key: "units_sold", label: t("m.units_sold") },
    { key: "product_clicks", label: t("m.product_clicks") },
    { key: "add_to_cart", label: t("m.add_to_cart") },
    { key: "comments", label: t("m.comments") },
    { key: "likes", label: t("m.likes") },
    { key: "shares", label: t("m.shares") },
    { key: "follows", label: t("m.follows") },
  ];
  const shown = keys ? all.filter((x) => keys.includes(x.key)) : all;
  return (
    <div className="tiles">
      {shown.map(({ key, label, money: isMoney }) => {
        const v = metrics?.[key];
        const value = metrics === null ? "—" : isMoney ? money(v as string) : num(typeof v === "number" ? v : null);
        return <MetricTile key={String(key)} label={label} value={value} at={at} fresh={fresh} testId={`metric-${String(key)}`} />;
      })}
    </div>
  );
}

/** a / b as a percentage ("—" when b is 0). */
export function pct(a: number | null | undefined, b: number | null | undefined, digits = 1): string {
  if (a === null || a === undefined || !b) return "—";
  return `${((a * 100) / b).toFixed(digits)}%`;
}

export interface PaceTarget {
  target_gmv?: string | null;
  target_viewers?: number | null;
  planned_minutes?: number | null;
  started_at?: string | null;
}

/**
 * Rates a 场控 steers by, next to the counts: click-through, conversion, UV value, GPM,
 * and the pace against the stream's targets for the time elapsed.
 */
export function RateTiles({
  metrics,
  at,
  fresh,
  stream,
  now,
  children,
}: {
  metrics: Metrics | null;
  at: number | null;
  fresh: boolean;
  stream: PaceTarget | null | undefined;
  now: number;
  /** More tiles in the same row (the control console's audience figures). */
  children?: ReactNode;
}) {
  const { t, money, num } = useI18n();
  const viewers = metrics?.viewers ?? 0;
  const gmv = Number(metrics?.gmv ?? 0);
  const tiles: { key: string; label: string; value: string; hint?: string; cls?: string }[] = [
    { key: "ctr", label: t("rate.ctr"), value: viewers ? ((metrics?.product_clicks ?? 0) / viewers).toFixed(2) : "—", hint: t("rate.ctrHint") },
    { key: "cvr", label: t("rate.cvr"), value: pct(metrics?.paid_orders, viewers, 2), hint: t("rate.cvrHint") },
    { key: "uv", label: t("rate.uv"), value: viewers ? money((gmv / viewers).toFixed(2)) : "—", hint: t("rate.uvHint") },
    { key: "gpm", label: t("rate.gpm"), value: viewers ? money(((gmv * 1000) / viewers).toFixed(2)) : "—", hint: t("rate.gpmHint") },
  ];
  const started = stream?.started_at ? Date.parse(stream.started_at) : null;
  const planned = (stream?.planned_minutes ?? 0) * 60_000;
  const share = started !== null && planned > 0 ? Math.min(1, Math.max(0, (now - started) / planned)) : null;
  const targetGmv = stream?.target_gmv ? Number(stream.target_gmv) : null;
  if (targetGmv && share !== null) {
    const due = targetGmv * share;
    tiles.push({
      key: "pace-gmv",
      label: t("rate.paceGmv"),
      value: pct(gmv, targetGmv),
      hint: t("rate.paceHint", { due: pct(due, targetGmv), target: money(targetGmv.toFixed(2)) }),
      cls: gmv >= due ? "good" : "bad",
    });
  }
  const targetViewers = stream?.target_viewers ?? null;
  if (targetViewers && share !== null) {
    const due = targetViewers * share;
    tiles.push({
      key: "pace-viewers",
      label: t("rate.paceViewers"),
      value: pct(viewers, targetViewers),
      hint: t("rate.paceHint", { due: pct(due, targetViewers), target: num(targetViewers) }),
      cls: viewers >= due ? "good" : "bad",
    });
  }
  return (
    <div className="tiles rate-tiles" data-testid="rate-tiles">
      {tiles.map((x) => (
        <MetricTile
          key={x.key}
          label={x.label}
          value={
            <span className={x.cls} title={x.hint}>
              {x.value}
              {x.hint ? <span className="tile-hint">{x.hint}</span> : null}
            </span>
          }
          at={at}
          fresh={fresh}
          testId={`rate-${x.key}`}
        />
      ))}
      {children}
    </div>
  );
}

/**
 * Per-minute series for the charts. Uses the server's per-minute series when it has
 * one; otherwise folds the pushed metrics into minutes itself (only since the page opened).
 */
export function useMinuteSeries(server: MinutePoint[] | undefined, metrics: Metrics | null): MinutePoint[] {
  const local = useRef(new Map<string, MinutePoint>());
  const base = useRef<Metrics | null>(null);
  if (metrics) {
    const minute = new Date();
    minute.setSeconds(0, 0);
    const key = minute.toISOString();
    if (!base.current) base.current = metrics;
    local.current.set(key, {
      minute: key,
      online: metrics.online,
      gmv: metrics.gmv,
      product_clicks: metrics.product_clicks,
      orders: metrics.orders,
      cumulative: true,
    });
  }
  return useMemo(() => {
    if (server && server.length > 0) return server;
    // Cumulative samples → per-minute increments (online is a level, not a sum).
    const pts = [...local.current.values()].sort((a, b) => a.minute.localeCompare(b.minute));
    let prev = base.current;
    return pts.map((p) => {
      const out: MinutePoint = {
        minute: p.minute,
        online: p.online,
        gmv: String(Math.max(0, Number(p.gmv ?? 0) - Number(prev?.gmv ?? 0)).toFixed(2)),
        product_clicks: Math.max(0, (p.product_clicks ?? 0) - (prev?.product_clicks ?? 0)),
        orders: Math.max(0, (p.orders ?? 0) - (prev?.orders ?? 0)),
      };
      prev = { ...(prev ?? ({} as Metrics)), gmv: p.gmv ?? "0", product_clicks: p.product_clicks ?? 0, orders: p.orders ?? 0 };
      return out;
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [server, metrics]);
}

const minuteLabel = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: TEAM_TIME_ZONE });
function label(iso: string): string {
  return minuteLabel.format(new Date(iso));
}

export function MinuteCharts({ points, height = 200 }: { points: MinutePoint[]; height?: number }) {
  const { t } = useI18n();
  const x = points.map((p) => label(p.minute));
  const grid = { left: 48, right: 16, top: 36, bottom: 24 };
  const online: EChartOption = {
    title: { text: t("chart.online"), textStyle: { fontSize: 13 } },
    tooltip: { trigger: "axis" },
    grid,
    xAxis: { type: "category", data: x },
    yAxis: { type: "value", minInterval: 1 },
    series: [{ type: "line", name: t("m.online"), data: points.map((p) => p.online ?? 0), smooth: true, areaStyle: { opacity: 0.15 } }],
  };
  const gmv: EChartOption = {
    title: { text: t("chart.gmv"), textStyle: { fontSize: 13 } },
    tooltip: { trigger: "axis" },
    grid,
    xAxis: { type: "category", data: x },
    yAxis: { type: "value" },
    series: [{ type: "bar", name: t("m.gmv"), data: points.map((p) => Number(p.gmv ?? 0)), itemStyle: { color: "#f59e0b" } }],
  };
  const clicks: EChartOption = {
    title: { text: t("chart.clicksOrders"), textStyle: { fontSize: 13 } },
    tooltip: { trigger: "axis" },
    legend: { top: 0, right: 0 },
    grid,
    xAxis: { type: "category", data: x },
    yAxis: { type: "value", minInterval: 1 },
    series: [
      { type: "line", name: t("m.product_clicks"), data: points.map((p) => p.product_clicks ?? 0) },
      { type: "line", name: t("m.orders"), data: points.map((p) => p.orders ?? 0) },
    ],
  };
  return (
    <div className="grid-3">
      <EChart option={online} height={height} testId="chart-online" />
      <EChart option={gmv} height={height} testId="chart-gmv" />
      <EChart option={clicks} height={height} testId="chart-clicks" />
    </div>
  );
}
