// The post-stream review (数据复盘): headline figures against the team's recent streams,
// targets vs actuals, diagnoses with their evidence, funnel, per-minute series, per
// product, per script segment and per explanation window, the incident timeline; the
// review meeting (findings, actions, highlights); after-sales; viewer segments.
import { useMutation, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useStreamId } from "../../components/layout";
import { EChart, type EChartOption } from "../../components/EChart";
import { Card, ErrorText, formatDuration, isMissing, Pending } from "../../components/ui";
import { TEAM_TIME_ZONE, useI18n, type MessageKey } from "../../i18n";
import { messages } from "../../i18n/messages";
import { MinuteCharts } from "../shared/Figures";
import type { MinutePoint } from "../../live/streamData";
import { AfterSales } from "./AfterSales";
import { Diagnoses } from "./Diagnoses";
import { Highlights, ReviewMeeting } from "./Meeting";
import { downloadFile, exportRows, fetchReview, pct, type ReviewReport, type Row } from "./report";
import { ReportTable, type Column } from "./ReportTable";
import { serverText } from "../../i18n/server";
import { ViewerSegments } from "./Segments";

const TABS = ["report", "meeting", "aftersales", "viewers"] as const;
type Tab = (typeof TABS)[number];

export function ReviewPage() {
  const { t } = useI18n();
  const streamId = useStreamId();
  const [tab, setTab] = useState<Tab>("report");
  return (
    <div className="page" data-testid="review">
      <nav className="tabs" role="tablist">
        {TABS.map((k) => (
          <button
            key={k}
            role="tab"
            aria-selected={tab === k}
            className={`tab ${tab === k ? "active" : ""}`}
            data-testid={`review-tab-${k}`}
            onClick={() => setTab(k)}
          >
            {t(`review.tab.${k}`)}
          </button>
        ))}
      </nav>
      {tab === "report" && <Report streamId={streamId} />}
      {tab === "meeting" && (
        <>
          <ReviewMeeting streamId={streamId} />
          <Highlights streamId={streamId} />
        </>
      )}
      {tab === "aftersales" && <AfterSales streamId={streamId} />}
      {tab === "viewers" && <ViewerSegments streamId={streamId} />}
    </div>
  );
}

const minuteFormat = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: TEAM_TIME_ZONE });
/** A per-minute row's minute as HH:MM in the team's time zone. */
function minuteLabel(iso: string): string {
  return minuteFormat.format(new Date(iso));
}

/** An alert's params with its product named (the timeline words it by code). */
function alertParams(params: Record<string, unknown> | undefined, names: Map<number, string>): Record<string, unknown> {
  const out = { ...(params ?? {}) };
  const pid = out["product_id"];
  if (typeof pid === "number" && out["product"] === undefined) out["product"] = names.get(pid) ?? `#${pid}`;
  return out;
}

const RATE_KEYS = new Set(["interaction_rate", "follower_conversion_rate", "conversion_rate", "refund_rate"]);
const MONEY_KEYS = new Set(["gmv", "aov", "gpm", "refunds", "net_gmv", "gmv_first_half", "target_gmv"]);

function Report({ streamId }: { streamId: number }) {
  const { t, money, num, time, dateTime, lang } = useI18n();
  const [compareLast, setCompareLast] = useState(5);
  const report = useQuery({ queryKey: ["review", streamId, compareLast], queryFn: () => fetchReview(streamId, compareLast) });
  const exporter = useMutation({ mutationFn: (f: "csv" | "xlsx") => downloadFile(`/api/v1/streams/${streamId}/review/export?format=${f}`, `review-${streamId}.${f}`) });
  const r = report.data;
  // A figure without a name of its own is still shown (humanised), never a crash.
  const label = (key: string) => (`rm.${key}` in messages ? t(`rm.${key}` as MessageKey) : key.replace(/_/g, " "));
  const show = (key: string, v: unknown): string => {
    if (v === null || v === undefined) return "—";
    if (MONEY_KEYS.has(key)) return money(v as string);
    if (RATE_KEYS.has(key) || key.endsWith("_rate") || key.endsWith("_share") || key === "achievement") return pct(Number(v), 2);
    if (key.endsWith("_at") && typeof v === "string") return time(v);
    if (key.endsWith("watch_seconds")) return formatDuration(Number(v));
    return typeof v === "number" ? num(v) : String(v);
  };

  if (!r) return isMissing(report.error) ? <Pending what={t("console.review")} /> : <ErrorText error={report.error} />;

  const tiles: { key: string; value: string }[] = [
    "viewers",
    "peak_online",
    "avg_watch_seconds",
    "gmv",
    "net_gmv",
    "refunds",
    "orders",
    "paid_orders",
    "units_sold",
    "paying_customers",
    "aov",
    "gpm",
    "conversion_rate",
    "interaction_rate",
    "new_followers",
    "comments",
  ].map((key) => ({ key, value: show(key, r[key]) }));
  const cmp = r.comparison;
  const cmpKeys = Object.keys(cmp.figures);

  const comparisonChart: EChartOption = {
    title: { text: t("review.vsMedian", { n: cmp.stream_ids.length }), textStyle: { fontSize: 13 } },
    tooltip: { trigger: "axis", valueFormatter: (v: unknown) => `${Number(v).toFixed(1)}%` },
    grid: { left: 130, right: 30, top: 36, bottom: 20 },
    xAxis: { type: "value", axisLabel: { formatter: "{value}%" } },
    yAxis: { type: "category", inverse: true, data: cmpKeys.map(label) },
    series: [
      {
        type: "bar",
        name: t("review.change"),
        data: cmpKeys.map((k) => {
          const c = cmp.figures[k]?.change;
          const v = c === null || c === undefined ? 0 : Math.round(c * 1000) / 10;
          const bad = k === "refund_rate" ? v > 0 : v < 0;
          return { value: v, itemStyle: { color: bad ? "#ef4444" : "#22c55e" } };
        }),
      },
    ],
  };
  const targetChart: EChartOption = {
    title: { text: t("review.targets"), textStyle: { fontSize: 13 } },
    tooltip: { trigger: "axis", valueFormatter: (v: unknown) => `${Number(v).toFixed(1)}%` },
    grid: { left: 110, right: 30, top: 36, bottom: 20 },
    xAxis: { type: "value", axisLabel: { formatter: "{value}%" } },
    yAxis: { type: "category", inverse: true, data: r.targets.map((x) => label(x.metric)) },
    series: [
      {
        type: "bar",
        name: t("review.achievement"),
        data: r.targets.map((x) => ({ value: Math.round(x.achievement * 1000) / 10, itemStyle: { color: x.met ? "#22c55e" : "#f59e0b" } })),
        markLine: { symbol: "none", data: [{ xAxis: 100 }], lineStyle: { color: "#94a3b8" } },
      },
    ],
  };
  const funnel: EChartOption = {
    title: { text: t("review.funnel"), textStyle: { fontSize: 13 } },
    tooltip: { trigger: "item" },
    series: [
      {
        type: "funnel",
        // Stage order, by people at each stage (clicks are events: one viewer clicks
        // many times, so counting events would put clicks above viewers).
        sort: "none",
        top: 36,
        bottom: 8,
        label: { show: true, position: "inside", formatter: "{b}: {c}" },
        data: r.funnel.map((f) => ({
          name: t(`funnel.${f.step}` as MessageKey),
          value: (f as { viewers?: number }).viewers ?? f.count,
        })),
      },
    ],
  };
  const products = r.products;
  const productChart: EChartOption = {
    title: { text: t("review.byProduct"), textStyle: { fontSize: 13 } },
    tooltip: { trigger: "axis" },
    legend: { top: 0, right: 0 },
    grid: { left: 60, right: 40, top: 40, bottom: 60 },
    xAxis: { type: "category", data: products.map((p) => String(p["name"] ?? p["product_id"])), axisLabel: { rotate: 20 } },
    yAxis: [{ type: "value" }, { type: "value", minInterval: 1 }],
    series: [
      { type: "bar", name: t("m.gmv"), data: products.map((p) => Number(p["gmv"] ?? 0)) },
      { type: "line", name: t("m.units_sold"), yAxisIndex: 1, data: products.map((p) => Number(p["units_sold"] ?? 0)) },
    ],
  };
  const sourceLabel = (k: string) => (`trafsrc.${k}` in messages ? t(`trafsrc.${k}` as MessageKey) : k);
  const span = (row: Row) => (row["start"] ? `${time(String(row["start"]))} – ${time(row["end"] ? String(row["end"]) : null)}` : "—");
  const productColumns: Column[] = [
    { key: "position", label: "col.position", format: "num" },
    { key: "name", label: "product.name", value: (p) => p["name"] ?? `#${String(p["product_id"])}` },
    { key: "live_price", label: "product.livePrice", format: "money" },
    { key: "product_clicks", label: "m.product_clicks", format: "num" },
    { key: "add_to_cart", label: "m.add_to_cart", format: "num" },
    { key: "orders", label: "m.orders", format: "num" },
    { key: "paid_orders", label: "m.paid_orders", format: "num" },
    { key: "units_sold", label: "m.units_sold", format: "num" },
    { key: "gmv", label: "m.gmv", format: "money" },
    { key: "refunds", label: "rm.refunds", format: "money" },
    { key: "click_to_order_rate", label: "rm.click_to_order_rate", format: "pct" },
  ];
  const segmentColumns: Column[] = [
    { key: "position", label: "col.position", format: "num" },
    { key: "title", label: "col.segment" },
    { key: "kind", label: "col.kind", value: (s) => t(`segkind.${String(s["kind"])}` as MessageKey) },
    { key: "when", label: "col.when", value: span },
    { key: "timed_by", label: "col.timedBy", value: (s) => t(s["timed_by"] === "segment_control" ? "col.timedBy.segment_control" : "col.timedBy.plan") },
    { key: "online_start", label: "review.onlineStart", format: "num" },
    { key: "online_end", label: "review.onlineEnd", format: "num" },
    { key: "comments", label: "m.comments", format: "num" },
    { key: "product_clicks", label: "m.product_clicks", format: "num" },
    { key: "paid_orders", label: "m.paid_orders", format: "num" },
    { key: "gmv", label: "m.gmv", format: "money" },
  ];
  const explanationColumns: Column[] = [
    { key: "product", label: "product.name", value: (w) => names.get(Number(w["product_id"])) ?? `#${String(w["product_id"])}` },
    { key: "when", label: "col.when", value: span },
    { key: "duration_seconds", label: "col.duration", format: "duration" },
    { key: "product_clicks", label: "m.product_clicks", format: "num" },
    { key: "add_to_cart", label: "m.add_to_cart", format: "num" },
    { key: "paid_orders", label: "m.paid_orders", format: "num" },
    { key: "units_sold", label: "m.units_sold", format: "num" },
    { key: "gmv", label: "m.gmv", format: "money" },
  ];
  const minuteColumns: Column[] = [
    { key: "minute", label: "col.minute", value: (m) => minuteLabel(String(m["minute"])) },
    { key: "online", label: "m.online", format: "num" },
    { key: "entries", label: "col.entries", format: "num" },
    { key: "leaves", label: "col.leaves", format: "num" },
    { key: "comments", label: "m.comments", format: "num" },
    { key: "product_clicks", label: "m.product_clicks", format: "num" },
    { key: "add_to_cart", label: "m.add_to_cart", format: "num" },
    { key: "orders", label: "m.orders", format: "num" },
    { key: "paid_orders", label: "m.paid_orders", format: "num" },
    { key: "gmv", label: "m.gmv", format: "money" },
  ];
  const names = new Map(products.map((p) => [Number(p["product_id"]), String(p["name"] ?? p["product_id"])]));
  const segs = r.segments;
  const segmentChart: EChartOption = {
    title: { text: t("review.bySegment"), textStyle: { fontSize: 13 } },
    tooltip: { trigger: "axis" },
    legend: { top: 0, right: 0 },
    grid: { left: 60, right: 40, top: 40, bottom: 60 },
    xAxis: { type: "category", data: segs.map((s) => `${s.position}. ${s.title}`), axisLabel: { rotate: 20 } },
    yAxis: [{ type: "value" }, { type: "value", minInterval: 1 }],
    series: [
      { type: "bar", name: t("m.gmv"), data: segs.map((s) => Number(s.gmv)), itemStyle: { color: "#22c55e" } },
      { type: "line", name: t("review.onlineStart"), yAxisIndex: 1, data: segs.map((s) => s.online_start) },
      { type: "line", name: t("review.onlineEnd"), yAxisIndex: 1, data: segs.map((s) => s.online_end) },
    ],
  };
  const ex = r.explanations;
  const explanationChart: EChartOption = {
    title: { text: t("review.byExplanation"), textStyle: { fontSize: 13 } },
    tooltip: { trigger: "axis" },
    legend: { top: 0, right: 0 },
    grid: { left: 60, right: 40, top: 40, bottom: 60 },
    xAxis: { type: "category", data: ex.map((w) => `${names.get(w.product_id) ?? w.product_id} ${time(w.start)}`), axisLabel: { rotate: 20 } },
    yAxis: [{ type: "value" }, { type: "value", minInterval: 1 }],
    series: [
      { type: "bar", name: t("m.gmv"), data: ex.map((w) => Number(w.gmv)), itemStyle: { color: "#3b82f6" } },
      { type: "line", name: t("m.product_clicks"), yAxisIndex: 1, data: ex.map((w) => w.product_clicks) },
      { type: "line", name: t("m.paid_orders"), yAxisIndex: 1, data: ex.map((w) => w.paid_orders) },
    ],
  };
  const sources: EChartOption = {
    title: { text: t("review.sources"), textStyle: { fontSize: 13 } },
    tooltip: { trigger: "item" },
    series: [
      {
        type: "pie",
        radius: ["35%", "65%"],
        top: 20,
        data: r.traffic_sources.map((s) => ({ name: sourceLabel(s.source), value: s.viewers })),
      },
      {
        type: "pie",
        radius: ["0%", "25%"],
        top: 20,
        label: { position: "inside", fontSize: 10 },
        data: [
          { name: t("review.newViewers"), value: r.new_vs_returning.new_viewers },
          { name: t("review.returningViewers"), value: r.new_vs_returning.returning_viewers },
        ],
      },
    ],
  };

  return (
    <>
      <header className="report-head" data-testid="report-head">
        <h2>{t("review.reportOf", { title: r.title })}</h2>
        <p className="muted">
          {t("review.period", { start: dateTime(r.started_at), end: r.ended_at ? dateTime(r.ended_at) : "…", zone: TEAM_TIME_ZONE })}
        </p>
      </header>
      <div className="row no-print">
        <label className="row">
          {t("review.compareLast")}
          <select value={compareLast} onChange={(e) => setCompareLast(Number(e.target.value))} data-testid="compare-last">
            {[3, 5, 10, 20].map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <span className="spacer" />
        <button className="small" onClick={() => exportRows(`review-${streamId}-summary.csv`, [Object.fromEntries(Object.entries(r).filter(([, v]) => typeof v !== "object"))])}>
          ⬇ {t("review.exportSummary")}
        </button>
        <button className="small" onClick={() => exporter.mutate("csv")} disabled={exporter.isPending}>
          ⬇ CSV
        </button>
        <button className="small" onClick={() => exporter.mutate("xlsx")} disabled={exporter.isPending}>
          ⬇ XLSX
        </button>
        <button className="small" onClick={() => window.print()} data-testid="review-print">
          {t("review.print")}
        </button>
      </div>
      <ErrorText error={exporter.error} />
      <div className="tiles" data-testid="review-tiles">
        {tiles.map((x) => {
          const c = cmp.figures[x.key];
          return (
            <div className="tile" key={x.key}>
              <div className="tile-label">{label(x.key)}</div>
              <div className="tile-value">{x.value}</div>
              {c && c.change !== null && (
                <div className={`tile-age ${(x.key === "refund_rate" ? c.change > 0 : c.change < 0) ? "bad" : "good"}`}>
                  {c.change >= 0 ? "▲" : "▼"} {pct(Math.abs(c.change))} {t("review.vsMedianShort")}
                </div>
              )}
            </div>
          );
        })}
      </div>
      <Diagnoses
        streamId={streamId}
        diagnoses={r.diagnoses}
        label={label}
        show={show}
        subject={(d) =>
          d.product_id !== undefined
            ? (names.get(d.product_id) ?? `#${d.product_id}`)
            : d.segment_id !== undefined
              ? (segs.find((s) => s.segment_id === d.segment_id)?.title ?? `#${d.segment_id}`)
              : ""
        }
      />
      <div className="grid-2">
        <Card title={t("review.comparison")} testId="review-comparison">
          {cmp.stream_ids.length === 0 ? (
            <p className="muted">{t("review.noEarlier")}</p>
          ) : (
            <>
              <EChart option={comparisonChart} height={Math.max(220, cmpKeys.length * 26 + 60)} testId="chart-comparison" />
              <table>
                <thead>
                  <tr>
                    <th>{t("review.metric")}</th>
                    <th className="num">{t("review.thisStream")}</th>
                    <th className="num">{t("review.median", { n: cmp.stream_ids.length })}</th>
                    <th className="num">{t("review.change")}</th>
                  </tr>
                </thead>
                <tbody>
                  {cmpKeys.map((k) => {
                    const c = cmp.figures[k];
                    return (
                      <tr key={k}>
                        <td>{label(k)}</td>
                        <td className="num">{show(k, c?.value)}</td>
                        <td className="num">{show(k, c?.median)}</td>
                        <td className="num">{c?.change === null || c?.change === undefined ? "—" : `${c.change >= 0 ? "+" : ""}${pct(c.change)}`}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </>
          )}
        </Card>
        <Card title={t("review.targets")} testId="review-targets">
          {r.targets.length === 0 ? (
            <p className="muted">{t("review.noTargets")}</p>
          ) : (
            <>
              <EChart option={targetChart} height={Math.max(180, r.targets.length * 40 + 60)} testId="chart-targets" />
              <table>
                <thead>
                  <tr>
                    <th>{t("review.metric")}</th>
                    <th className="num">{t("review.target")}</th>
                    <th className="num">{t("review.actual")}</th>
                    <th className="num">{t("review.achievement")}</th>
                  </tr>
                </thead>
                <tbody>
                  {r.targets.map((x) => (
                    <tr key={x.metric}>
                      <td>{label(x.metric)}</td>
                      <td className="num">{show(x.metric, x.target)}</td>
                      <td className="num">{show(x.metric, x.actual)}</td>
                      <td className={`num ${x.met ? "good" : "bad"}`}>{pct(x.achievement)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
        </Card>
      </div>
      <div className="grid-2">
        <Card>
          <EChart option={funnel} height={280} testId="chart-funnel" />
        </Card>
        <Card>
          <EChart option={sources} height={280} testId="chart-sources" />
        </Card>
      </div>
      <Card title={t("review.minutes")}>
        <MinuteCharts points={r.minutes as MinutePoint[]} />
      </Card>
      <Card className="report-section">
        <EChart option={productChart} height={280} testId="chart-products" />
        <ReportTable rows={products} columns={productColumns} name={`review-${streamId}-products.csv`} testId="review-products" />
      </Card>
      <Card testId="review-segments" className="report-section">
        {segs.length === 0 ? (
          <p className="muted">{t("review.noSegments")}</p>
        ) : (
          <>
            <EChart option={segmentChart} height={280} testId="chart-segments" />
            <ReportTable rows={segs} columns={segmentColumns} name={`review-${streamId}-segments.csv`} />
          </>
        )}
      </Card>
      <Card testId="review-explanations" className="report-section">
        {ex.length === 0 ? (
          <p className="muted">{t("review.noExplanations")}</p>
        ) : (
          <>
            <EChart option={explanationChart} height={280} testId="chart-explanations" />
            <ReportTable rows={ex} columns={explanationColumns} name={`review-${streamId}-explanations.csv`} />
          </>
        )}
      </Card>
      {r.questions && <ViewerVoice q={r.questions} />}
      {r.timeline.length > 0 && (
        <Card title={t("review.timeline")} testId="review-timeline">
          <div className="feed">
            {r.timeline.map((e, i) => (
              <div className="feed-item" key={i}>
                <span className="feed-time">{e.offset_seconds !== null ? formatDuration(e.offset_seconds) : time(e.at)}</span>
                <span className={`badge ${e.kind === "incident" || e.level === "critical" ? "badge-bad" : "badge-warn"}`}>{t(`review.tl.${e.kind}`)}</span>
                <span className="text">
                  {e.kind === "incident"
                    ? `${`incident.${e.type}` in messages ? t(`incident.${e.type}` as MessageKey) : e.type} · ${e.text}`
                    : serverText(lang, e.code ?? `alert.${e.type}`, alertParams(e.params, names), e.text)}
                </span>
                {e.resolved_at && <span className="muted small">✓ {time(e.resolved_at)}</span>}
              </div>
            ))}
          </div>
        </Card>
      )}
      {r.minutes.length > 0 && (
        <Card title={t("review.minuteTable")} className="report-section">
          <ReportTable rows={r.minutes} columns={minuteColumns} name={`review-${streamId}-minutes.csv`} testId="review-minute-table" />
        </Card>
      )}
    </>
  );
}

/** What viewers asked and how they felt: top questions and complaints, topics, sentiment. */
function ViewerVoice({ q }: { q: NonNullable<ReviewReport["questions"]> }) {
  const { t, num } = useI18n();
  const topic = (k: string | null) => (k && `topic.${k}` in messages ? t(`topic.${k}` as MessageKey) : (k ?? t("topic.none")));
  const chart: EChartOption = {
    tooltip: { trigger: "item" },
    legend: { bottom: 0 },
    series: [
      {
        type: "pie",
        name: t("review.sentiment"),
        radius: ["30%", "55%"],
        center: ["25%", "45%"],
        data: Object.entries(q.sentiment).map(([k, v]) => ({ name: t(`sent.${k}` as MessageKey), value: v })),
      },
      {
        type: "pie",
        name: t("review.questionTopics"),
        radius: ["30%", "55%"],
        center: ["75%", "45%"],
        data: q.question_topics.map((x) => ({ name: topic(x.topic), value: x.questions })),
      },
    ],
  };
  const rows = (list: typeof q.top_questions) =>
    list.map((i) => (
      <tr key={i.item_id}>
        <td>{i.text}</td>
        <td>{topic(i.topic)}</td>
        <td className="num">{num(i.askers)}</td>
        <td>{i.answered ? `✓ ${i.answer_seconds !== null ? formatDuration(i.answer_seconds) : ""}` : "—"}</td>
      </tr>
    ));
  return (
    <Card title={t("review.viewerVoice")} testId="review-questions">
      <p className="muted small">
        {t("review.queueSummary", { items: q.queue.question_items, askers: q.queue.askers, rate: pct(q.queue.answer_rate) })}
      </p>
      <div className="grid-2">
        <EChart option={chart} height={240} testId="chart-sentiment" />
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>{t("review.topQuestions")}</th>
                <th>{t("review.topic")}</th>
                <th className="num">{t("review.askers")}</th>
                <th>{t("review.answered")}</th>
              </tr>
            </thead>
            <tbody>{rows(q.top_questions)}</tbody>
          </table>
          {q.top_complaints.length > 0 && (
            <table style={{ marginTop: 8 }}>
              <thead>
                <tr>
                  <th>{t("review.topComplaints")}</th>
                  <th>{t("review.topic")}</th>
                  <th className="num">{t("review.askers")}</th>
                  <th>{t("review.answered")}</th>
                </tr>
              </thead>
              <tbody>{rows(q.top_complaints)}</tbody>
            </table>
          )}
        </div>
      </div>
    </Card>
  );
}
