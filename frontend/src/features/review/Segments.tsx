// Viewer segments (人群分层): rule-based tags with their sizes, each exportable as CSV /
// XLSX for private-domain follow-up (newcomer coupons, offers to watchers who did not buy).
import { useMutation, useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import { EChart, type EChartOption } from "../../components/EChart";
import { Card, ErrorText } from "../../components/ui";
import { useI18n, type MessageKey } from "../../i18n";
import { messages } from "../../i18n/messages";
import { downloadFile } from "./report";

export function ViewerSegments({ streamId }: { streamId: number }) {
  const { t, num } = useI18n();
  const data = useQuery({
    queryKey: ["viewer-segments", streamId],
    queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/viewer-segments", { params: { path: { stream_id: streamId } } })),
  });
  const exporter = useMutation({
    mutationFn: ({ tag, format }: { tag: string; format: "csv" | "xlsx" }) =>
      downloadFile(
        `/api/v1/streams/${streamId}/viewer-segments/${encodeURIComponent(tag)}/export?format=${format}`,
        `segment-${streamId}-${tag.replace(/[^A-Za-z0-9_-]/g, "-")}.${format}`,
      ),
  });
  const name = (tag: string) => {
    const [base, topic] = tag.split(":");
    const key = `seg.${base}`;
    const label = key in messages ? t(key as MessageKey) : base;
    return topic ? `${label}: ${key === "seg.asked_about" && `topic.${topic}` in messages ? t(`topic.${topic}` as MessageKey) : topic}` : label;
  };
  const segs = data.data?.segments ?? [];
  const chart: EChartOption = {
    tooltip: { trigger: "axis" },
    grid: { left: 150, right: 40, top: 10, bottom: 20 },
    xAxis: { type: "value", minInterval: 1 },
    yAxis: { type: "category", inverse: true, data: segs.map((s) => name(s.tag)) },
    series: [{ type: "bar", name: t("seg.viewers"), data: segs.map((s) => s.viewers), label: { show: true, position: "right" }, itemStyle: { color: "#8b5cf6" } }],
  };
  return (
    <Card title={t("seg.title")} testId="viewer-segments">
      <ErrorText error={data.error ?? exporter.error} />
      {data.data && (
        <>
          <p className="muted">{t("seg.total", { n: num(data.data.viewers) })}</p>
          <EChart option={chart} height={segs.length * 30 + 40} testId="chart-segments-viewers" />
          <table>
            <thead>
              <tr>
                <th>{t("seg.tag")}</th>
                <th className="num">{t("seg.viewers")}</th>
                <th>{t("seg.rule")}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {segs.map((s) => (
                <tr key={s.tag} data-testid={`segment-${s.tag}`}>
                  <td>{name(s.tag)}</td>
                  <td className="num">{num(s.viewers)}</td>
                  <td className="muted small">{data.data.rules[s.tag] ?? data.data.rules["asked_about:<topic>"] ?? ""}</td>
                  <td>
                    <button className="small" disabled={exporter.isPending} onClick={() => exporter.mutate({ tag: s.tag, format: "csv" })}>
                      ⬇ CSV
                    </button>
                    <button className="small" disabled={exporter.isPending} onClick={() => exporter.mutate({ tag: s.tag, format: "xlsx" })}>
                      ⬇ XLSX
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </Card>
  );
}
