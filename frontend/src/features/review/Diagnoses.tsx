// Rule-based diagnoses (诊断) with the figures that triggered them, in the reader's
// language; one click records a diagnosis as a finding of the review meeting.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import { EChart, type EChartOption } from "../../components/EChart";
import { Card, ErrorText } from "../../components/ui";
import { useI18n, type MessageKey } from "../../i18n";
import { messages } from "../../i18n/messages";
import type { Diagnosis } from "./report";

const KNOWN = new Set([
  "carts_high_payment_low",
  "new_viewers_leave_early",
  "clicks_without_orders",
  "high_refunds",
  "online_falling_in_segment",
  "low_answer_rate",
  "sold_out_while_clicked",
  "target_shortfall",
  "slow_pace",
]);

/** The figure whose unit an evidence value has: a target's `target` and `actual` are in
 * the unit of its metric (¥ for GMV, % for conversion, a count for viewers). */
function unitOf(d: Diagnosis, key: string): string {
  const metric = (d as { params?: Record<string, unknown> }).params?.["metric"];
  if ((key === "target" || key === "actual") && typeof metric === "string") return metric.replace(/^metric\./, "");
  return key;
}

export function Diagnoses({
  streamId,
  diagnoses,
  label,
  show,
  subject,
}: {
  streamId: number;
  diagnoses: Diagnosis[];
  label: (key: string) => string;
  show: (key: string, v: unknown) => string;
  subject: (d: Diagnosis) => string;
}) {
  const { t } = useI18n();
  const qc = useQueryClient();
  const record = useMutation({
    mutationFn: (d: { text: string; code: string }) =>
      unwrap(
        api.POST("/api/v1/streams/{stream_id}/review/findings", {
          params: { path: { stream_id: streamId } },
          body: { kind: "problem", text: d.text, diagnosis_code: d.code },
        }),
      ),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ["findings", streamId] }),
  });
  const text = (d: Diagnosis, part: "msg" | "tip") => {
    const key = `diag.${d.code}.${part}`;
    if (KNOWN.has(d.code) && key in messages) {
      const vars: Record<string, string | number> = { name: subject(d) };
      for (const [k, v] of Object.entries((d as { params?: Record<string, unknown> }).params ?? {})) {
        if (k === "name") continue;
        if (k === "metric" && typeof v === "string") vars[k] = label(v.replace(/^metric\./, ""));
        else if (k === "achievement" || k === "share") vars[k] = `${(Number(v) * 100).toFixed(1)}%`;
        else vars[k] = typeof v === "number" ? v : String(v);
      }
      return t(key as MessageKey, vars);
    }
    return part === "msg" ? d.message : (d.suggestion ?? "");
  };
  return (
    <Card title={t("review.diagnoses")} testId="review-diagnoses">
      <ErrorText error={record.error} />
      {diagnoses.length === 0 && <p className="muted">{t("review.noDiagnoses")}</p>}
      <div className="grid-2">
        {diagnoses.map((d, i) => {
          const ev = Object.entries(d.evidence);
          const numeric = ev.filter(([k, v]) => typeof v === "number" && !k.endsWith("_rate") && !k.endsWith("_share") && !k.includes("seconds"));
          const chart: EChartOption = {
            grid: { left: 110, right: 30, top: 6, bottom: 6 },
            tooltip: { trigger: "axis" },
            xAxis: { type: "value", show: false },
            yAxis: { type: "category", inverse: true, data: numeric.map(([k]) => label(k)) },
            series: [
              {
                type: "bar",
                data: numeric.map(([, v]) => v),
                label: { show: true, position: "right" },
                itemStyle: { color: d.severity === "critical" ? "#ef4444" : "#f59e0b" },
              },
            ],
          };
          return (
            <div key={`${d.code}-${i}`} className={`finding ${d.severity === "critical" ? "block" : "warn"}`} data-testid="diagnosis">
              <div className="row">
                <span className={`badge ${d.severity === "critical" ? "badge-bad" : "badge-warn"}`}>{t(d.severity === "critical" ? "diag.critical" : "diag.warning")}</span>
                <strong style={{ flex: 1 }}>{text(d, "msg")}</strong>
                <button
                  className="small"
                  disabled={record.isPending}
                  onClick={() => record.mutate({ text: `${text(d, "msg")} — ${text(d, "tip")}`, code: d.code })}
                >
                  {t("diag.record")}
                </button>
              </div>
              <p className="small" style={{ margin: "6px 0" }}>
                {t("diag.suggestion")}: {text(d, "tip")}
              </p>
              <div className="small muted">{t("diag.evidence")}</div>
              <dl className="facts small" data-testid="diagnosis-evidence">
                {ev.map(([k, v]) => (
                  <div key={k} style={{ display: "contents" }}>
                    <dt>{label(k)}</dt>
                    <dd>{show(unitOf(d, k), v)}</dd>
                  </div>
                ))}
              </dl>
              {numeric.length > 1 && <EChart option={chart} height={numeric.length * 26 + 16} />}
            </div>
          );
        })}
      </div>
    </Card>
  );
}
