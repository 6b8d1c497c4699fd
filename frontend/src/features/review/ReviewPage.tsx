// The post-stream review (数据复盘): headline figures, funnel, per-minute series, per
// product and per segment, with CSV export of every table, and the review meeting's
// findings and actions.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, ApiError, rawApi, unwrap } from "../../api/client";
import { auth } from "../../auth/store";
import { useStreamId } from "../../components/layout";
import { EChart, type EChartOption } from "../../components/EChart";
import { Card, ErrorText, formatDuration, isMissing, Pending } from "../../components/ui";
import { useI18n, type MessageKey } from "../../i18n";
import { normalizeMinutes } from "../../live/streamData";
import { MinuteCharts } from "../shared/Figures";

type Row = Record<string, unknown>;
interface Report {
  viewers?: number;
  peak_online?: number;
  avg_watch_seconds?: number;
  comments?: number;
  likes?: number;
  shares?: number;
  follows?: number;
  gmv?: string;
  refunds?: string;
  orders?: number;
  paid_orders?: number;
  units_sold?: number;
  paying_customers?: number;
  aov?: string;
  gpm?: string;
  funnel?: { step: string; count: number }[];
  products?: Row[];
  minutes?: unknown;
  segments?: Row[];
  diagnoses?: Row[];
  [k: string]: unknown;
}

/** RFC 4180 CSV, with a BOM so spreadsheet apps read the Chinese correctly. */
export function toCsv(rows: Row[]): string {
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown) => {
    const s = v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return "\ufeff" + [cols.join(","), ...rows.map((r) => cols.map((c) => cell(r[c])).join(","))].join("\r\n") + "\r\n";
}

function download(name: string, blob: Blob) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function exportRows(name: string, rows: Row[]) {
  download(name, new Blob([toCsv(rows)], { type: "text/csv;charset=utf-8" }));
}

function DataTable({ rows, name, testId }: { rows: Row[]; name: string; testId?: string }) {
  const { t } = useI18n();
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((c) => !Array.isArray(rows[0]?.[c]) && typeof rows[0]?.[c] !== "object");
  return (
    <div data-testid={testId}>
      <div className="row" style={{ justifyContent: "flex-end", marginBottom: 6 }}>
        <button className="small" onClick={() => exportRows(name, rows)} disabled={rows.length === 0}>
          ⬇ {t("common.export")} CSV
        </button>
      </div>
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              {cols.map((c) => (
                <th key={c} className={typeof rows[0]?.[c] === "number" ? "num" : ""}>
                  {c}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r, i) => (
              <tr key={i}>
                {cols.map((c) => (
                  <td key={c} className={typeof r[c] === "number" ? "num" : ""}>
                    {r[c] === null || r[c] === undefined ? "—" : String(r[c])}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

export function ReviewPage() {
  const { t, money, num } = useI18n();
  const streamId = useStreamId();
  const report = useQuery({
    queryKey: ["review", streamId],
    queryFn: () => rawApi<Report>("GET", `/api/v1/streams/${streamId}/review`),
  });
  const r = report.data;
  const minutes = r ? normalizeMinutes(r.minutes) : [];

  async function serverExport(format: "csv" | "xlsx") {
    const res = await fetch(`/api/v1/streams/${streamId}/review/export?format=${format}`, {
      headers: { Authorization: `Bearer ${auth.token() ?? ""}` },
    });
    if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
    download(`review-${streamId}.${format}`, await res.blob());
  }
  const exporter = useMutation({ mutationFn: serverExport });

  const funnel: EChartOption = {
    title: { text: t("review.funnel"), textStyle: { fontSize: 13 } },
    tooltip: { trigger: "item" },
    series: [
      {
        type: "funnel",
        sort: "descending",
        top: 36,
        bottom: 8,
        label: { show: true, position: "inside", formatter: "{b}: {c}" },
        data: (r?.funnel ?? []).map((f) => ({ name: t(`funnel.${f.step}` as MessageKey), value: f.count })),
      },
    ],
  };
  const products = r?.products ?? [];
  const productChart: EChartOption = {
    title: { text: t("review.byProduct"), textStyle: { fontSize: 13 } },
    tooltip: { trigger: "axis" },
    legend: { top: 0, right: 0 },
    grid: { left: 60, right: 16, top: 40, bottom: 60 },
    xAxis: { type: "category", data: products.map((p) => String(p["name"] ?? p["product_id"])), axisLabel: { rotate: 20 } },
    yAxis: [{ type: "value" }, { type: "value", minInterval: 1 }],
    series: [
      { type: "bar", name: t("m.gmv"), data: products.map((p) => Number(p["gmv"] ?? 0)) },
      { type: "line", name: t("m.units_sold"), yAxisIndex: 1, data: products.map((p) => Number(p["units_sold"] ?? 0)) },
    ],
  };
  const segments = r?.segments ?? [];
  const segmentChart: EChartOption = {
    title: { text: t("review.bySegment"), textStyle: { fontSize: 13 } },
    tooltip: { trigger: "axis" },
    grid: { left: 60, right: 16, top: 40, bottom: 60 },
    xAxis: { type: "category", data: segments.map((s) => String(s["title"] ?? s["segment_id"] ?? "")), axisLabel: { rotate: 20 } },
    yAxis: { type: "value" },
    series: [{ type: "bar", name: t("m.gmv"), data: segments.map((s) => Number(s["gmv"] ?? 0)), itemStyle: { color: "#22c55e" } }],
  };

  const tiles: { label: string; value: string }[] = r
    ? [
        { label: t("m.viewers"), value: num(r.viewers) },
        { label: t("review.peakOnline"), value: num(r.peak_online) },
        { label: t("review.avgWatch"), value: r.avg_watch_seconds !== undefined ? formatDuration(r.avg_watch_seconds) : "—" },
        { label: t("m.gmv"), value: money(r.gmv) },
        { label: t("review.refunds"), value: money(r.refunds) },
        { label: t("m.orders"), value: num(r.orders) },
        { label: t("m.paid_orders"), value: num(r.paid_orders) },
        { label: t("m.units_sold"), value: num(r.units_sold) },
        { label: t("review.payingCustomers"), value: num(r.paying_customers) },
        { label: t("review.aov"), value: money(r.aov) },
        { label: "GPM", value: money(r.gpm) },
        { label: t("m.comments"), value: num(r.comments) },
        { label: t("m.likes"), value: num(r.likes) },
        { label: t("m.shares"), value: num(r.shares) },
        { label: t("m.follows"), value: num(r.follows) },
      ]
    : [];

  return (
    <div className="page" data-testid="review">
      {isMissing(report.error) ? <Pending what={t("console.review")} /> : <ErrorText error={report.error} />}
      {r && (
        <>
          <div className="row">
            <span className="spacer" />
            <button className="small" onClick={() => exportRows(`review-${streamId}-summary.csv`, [Object.fromEntries(Object.entries(r).filter(([, v]) => typeof v !== "object"))])}>
              ⬇ {t("review.exportSummary")}
            </button>
            <button className="small" onClick={() => exporter.mutate("xlsx")} disabled={exporter.isPending}>
              ⬇ XLSX
            </button>
          </div>
          <ErrorText error={exporter.error} />
          <div className="tiles">
            {tiles.map((x) => (
              <div className="tile" key={x.label}>
                <div className="tile-label">{x.label}</div>
                <div className="tile-value">{x.value}</div>
              </div>
            ))}
          </div>
          <div className="grid-2">
            <Card>
              <EChart option={funnel} height={280} testId="chart-funnel" />
            </Card>
            <Card>
              <EChart option={productChart} height={280} testId="chart-products" />
            </Card>
          </div>
          <Card title={t("review.minutes")}>
            <MinuteCharts points={minutes} />
          </Card>
          {segments.length > 0 && (
            <Card>
              <EChart option={segmentChart} height={260} />
              <DataTable rows={segments} name={`review-${streamId}-segments.csv`} />
            </Card>
          )}
          <Card title={t("review.productTable")}>
            <DataTable rows={products} name={`review-${streamId}-products.csv`} testId="review-products" />
          </Card>
          {minutes.length > 0 && (
            <Card title={t("review.minuteTable")}>
              <DataTable rows={minutes as Row[]} name={`review-${streamId}-minutes.csv`} />
            </Card>
          )}
          {Array.isArray(r.diagnoses) && r.diagnoses.length > 0 && (
            <Card title={t("review.diagnoses")}>
              {r.diagnoses.map((d, i) => (
                <div key={i} className="finding warn">
                  {String(d["message"] ?? d["text"] ?? d["code"] ?? "")}
                </div>
              ))}
            </Card>
          )}
        </>
      )}
      <ReviewMeeting streamId={streamId} />
    </div>
  );
}

function ReviewMeeting({ streamId }: { streamId: number }) {
  const { t } = useI18n();
  const qc = useQueryClient();
  const path = { params: { path: { stream_id: streamId } } };
  const findings = useQuery({ queryKey: ["findings", streamId], queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/review/findings", path)) });
  const actions = useQuery({ queryKey: ["review-actions", streamId], queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/review/actions", path)) });
  const [text, setText] = useState("");
  const [kind, setKind] = useState<"went_well" | "problem" | "idea">("problem");
  const [title, setTitle] = useState("");
  const [due, setDue] = useState("");
  const addFinding = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/streams/{stream_id}/review/findings", { ...path, body: { kind, text } })),
    onSuccess: () => {
      setText("");
      void qc.invalidateQueries({ queryKey: ["findings", streamId] });
    },
  });
  const addAction = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/streams/{stream_id}/review/actions", { ...path, body: { title, due_date: due || null } })),
    onSuccess: () => {
      setTitle("");
      void qc.invalidateQueries({ queryKey: ["review-actions", streamId] });
    },
  });
  const setStatus = useMutation({
    mutationFn: ({ id, status }: { id: number; status: "open" | "in_progress" | "done" }) =>
      unwrap(api.PATCH("/api/v1/streams/{stream_id}/review/actions/{action_id}", { params: { path: { stream_id: streamId, action_id: id } }, body: { status } })),
    onSettled: () => void qc.invalidateQueries({ queryKey: ["review-actions", streamId] }),
  });
  return (
    <div className="grid-2">
      <Card title={t("review.findings")}>
        <ErrorText error={findings.error ?? addFinding.error} />
        {(findings.data ?? []).map((f) => (
          <div key={f.id} className={`finding ${f.kind === "problem" ? "block" : "warn"}`}>
            <strong>{t(`fkind.${f.kind}` as MessageKey)}</strong> {f.text}
          </div>
        ))}
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            addFinding.mutate();
          }}
        >
          <select value={kind} onChange={(e) => setKind(e.target.value as typeof kind)}>
            {(["went_well", "problem", "idea"] as const).map((k) => (
              <option key={k} value={k}>
                {t(`fkind.${k}`)}
              </option>
            ))}
          </select>
          <input value={text} onChange={(e) => setText(e.target.value)} required style={{ flex: 1 }} placeholder={t("review.findingPlaceholder")} />
          <button disabled={addFinding.isPending}>{t("common.add")}</button>
        </form>
      </Card>
      <Card title={t("review.actions")}>
        <ErrorText error={actions.error ?? addAction.error ?? setStatus.error} />
        <table>
          <tbody>
            {(actions.data ?? []).map((a) => (
              <tr key={a.id}>
                <td>{a.title}</td>
                <td className={a.overdue ? "bad" : "muted"}>{a.due_date ?? ""}</td>
                <td>
                  <select value={a.status} onChange={(e) => setStatus.mutate({ id: a.id, status: e.target.value as "open" })}>
                    {(["open", "in_progress", "done"] as const).map((s) => (
                      <option key={s} value={s}>
                        {t(`astatus.${s}`)}
                      </option>
                    ))}
                  </select>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <form
          className="row"
          style={{ marginTop: 8 }}
          onSubmit={(e) => {
            e.preventDefault();
            addAction.mutate();
          }}
        >
          <input value={title} onChange={(e) => setTitle(e.target.value)} required style={{ flex: 1 }} placeholder={t("review.actionPlaceholder")} />
          <input type="date" value={due} onChange={(e) => setDue(e.target.value)} />
          <button disabled={addAction.isPending}>{t("common.add")}</button>
        </form>
      </Card>
    </div>
  );
}
