// After-sales (售后): shipments and tracking, return / exchange requests, complaints with
// deadlines, satisfaction surveys with their results, and the order list export.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, unwrap, type Schemas } from "../../api/client";
import { EChart, type EChartOption } from "../../components/EChart";
import { Card, ErrorText } from "../../components/ui";
import { useI18n } from "../../i18n";
import { downloadFile } from "./report";

const RETURN_NEXT: Record<Schemas["ReturnStatus"], Schemas["ReturnStatus"][]> = {
  requested: ["approved", "rejected"],
  approved: ["received"],
  received: ["completed"],
  rejected: [],
  completed: [],
};

export function AfterSales({ streamId }: { streamId: number }) {
  const { t, dateTime } = useI18n();
  const qc = useQueryClient();
  const path = { params: { path: { stream_id: streamId } } };
  const shipments = useQuery({ queryKey: ["shipments", streamId], queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/shipments", path)) });
  const returns = useQuery({ queryKey: ["returns", streamId], queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/returns", path)) });
  const complaints = useQuery({ queryKey: ["complaints", streamId], queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/complaints", path)) });
  const exporter = useMutation({ mutationFn: (f: "csv" | "xlsx") => downloadFile(`/api/v1/streams/${streamId}/exports/orders?format=${f}`, `orders-${streamId}.${f}`) });
  const moveReturn = useMutation({
    mutationFn: ({ id, status }: { id: number; status: Schemas["ReturnStatus"] }) =>
      unwrap(api.PATCH("/api/v1/streams/{stream_id}/returns/{request_id}", { params: { path: { stream_id: streamId, request_id: id } }, body: { status } })),
    onSettled: () => void qc.invalidateQueries({ queryKey: ["returns", streamId] }),
  });
  const [resolution, setResolution] = useState<Record<number, string>>({});
  const workComplaint = useMutation({
    mutationFn: ({ id, body }: { id: number; body: Schemas["ComplaintPatch"] }) =>
      unwrap(api.PATCH("/api/v1/streams/{stream_id}/complaints/{complaint_id}", { params: { path: { stream_id: streamId, complaint_id: id } }, body })),
    onSettled: () => void qc.invalidateQueries({ queryKey: ["complaints", streamId] }),
  });

  const shipCounts = countBy(shipments.data ?? [], (s) => s.status);
  const retCounts = countBy(returns.data ?? [], (r) => r.status);
  const compCounts = countBy(complaints.data ?? [], (c) => c.category);
  const overview: EChartOption = {
    tooltip: { trigger: "item" },
    legend: { bottom: 0, type: "scroll" },
    series: [
      { type: "pie", name: t("as.shipments"), radius: ["30%", "50%"], center: ["17%", "45%"], data: Object.entries(shipCounts).map(([k, v]) => ({ name: t(`ship.${k}` as "ship.shipped"), value: v })) },
      { type: "pie", name: t("as.returns"), radius: ["30%", "50%"], center: ["50%", "45%"], data: Object.entries(retCounts).map(([k, v]) => ({ name: t(`ret.${k}` as "ret.requested"), value: v })) },
      { type: "pie", name: t("as.complaints"), radius: ["30%", "50%"], center: ["83%", "45%"], data: Object.entries(compCounts).map(([k, v]) => ({ name: t(`comp.${k}` as "comp.quality"), value: v })) },
    ],
  };

  return (
    <div className="page" data-testid="aftersales">
      <div className="row">
        <span className="spacer" />
        <button className="small" onClick={() => exporter.mutate("csv")} disabled={exporter.isPending}>
          ⬇ {t("as.exportOrders")} CSV
        </button>
        <button className="small" onClick={() => exporter.mutate("xlsx")} disabled={exporter.isPending}>
          ⬇ XLSX
        </button>
      </div>
      <ErrorText error={exporter.error} />
      <Card>
        <div className="row muted small" style={{ justifyContent: "space-around" }}>
          <span>{t("as.shipments")}: {shipments.data?.length ?? "—"}</span>
          <span>{t("as.returns")}: {returns.data?.length ?? "—"}</span>
          <span>{t("as.complaints")}: {complaints.data?.length ?? "—"}</span>
        </div>
        <EChart option={overview} height={220} testId="chart-aftersales" />
      </Card>
      <div className="grid-2">
        <Card title={t("as.shipments")} testId="as-shipments">
          <ErrorText error={shipments.error} />
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>{t("as.order")}</th>
                  <th>{t("as.carrier")}</th>
                  <th>{t("as.tracking")}</th>
                  <th>{t("review.status")}</th>
                  <th>{t("as.shippedAt")}</th>
                </tr>
              </thead>
              <tbody>
                {(shipments.data ?? []).map((s) => (
                  <tr key={s.id}>
                    <td>#{s.order_id}</td>
                    <td>{s.carrier}</td>
                    <td>{s.tracking_number}</td>
                    <td>{t(`ship.${s.status}`)}</td>
                    <td>{dateTime(s.shipped_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {shipments.data?.length === 0 && <p className="muted">{t("common.none")}</p>}
        </Card>
        <Card title={t("as.returns")} testId="as-returns">
          <ErrorText error={returns.error ?? moveReturn.error} />
          <div className="table-wrap">
            <table>
              <tbody>
                {(returns.data ?? []).map((r) => (
                  <tr key={r.id}>
                    <td>#{r.order_id}</td>
                    <td>
                      <span className="badge">{t(`retkind.${r.kind}`)}</span>
                    </td>
                    <td>{r.reason}</td>
                    <td>{t(`ret.${r.status}`)}</td>
                    <td>
                      {RETURN_NEXT[r.status].map((s) => (
                        <button key={s} className="small" onClick={() => moveReturn.mutate({ id: r.id, status: s })}>
                          {t(`ret.${s}`)}
                        </button>
                      ))}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {returns.data?.length === 0 && <p className="muted">{t("common.none")}</p>}
        </Card>
      </div>
      <Card title={t("as.complaints")} testId="as-complaints">
        <ErrorText error={complaints.error ?? workComplaint.error} />
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>{t("as.category")}</th>
                <th>{t("as.description")}</th>
                <th>{t("as.deadline")}</th>
                <th>{t("review.status")}</th>
                <th>{t("as.resolution")}</th>
              </tr>
            </thead>
            <tbody>
              {(complaints.data ?? []).map((c) => (
                <tr key={c.id}>
                  <td>{t(`comp.${c.category}`)}</td>
                  <td>
                    {c.description}
                    {c.order_id !== null && <span className="muted small"> #{c.order_id}</span>}
                  </td>
                  <td className={c.overdue ? "bad" : ""}>
                    {dateTime(c.deadline)} {c.overdue && <span className="badge badge-bad">{t("review.overdue")}</span>}
                  </td>
                  <td>
                    <select value={c.status} onChange={(e) => workComplaint.mutate({ id: c.id, body: { status: e.target.value as Schemas["ComplaintStatus"] } })}>
                      {(["open", "in_progress", "resolved"] as const).map((s) => (
                        <option key={s} value={s}>
                          {t(`cstatus.${s}`)}
                        </option>
                      ))}
                    </select>
                  </td>
                  <td>
                    <form
                      className="row"
                      onSubmit={(e) => {
                        e.preventDefault();
                        workComplaint.mutate({ id: c.id, body: { resolution: resolution[c.id] ?? c.resolution } });
                      }}
                    >
                      <input value={resolution[c.id] ?? c.resolution} onChange={(e) => setResolution({ ...resolution, [c.id]: e.target.value })} style={{ flex: 1 }} />
                      <button className="small">{t("common.save")}</button>
                    </form>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {complaints.data?.length === 0 && <p className="muted">{t("common.none")}</p>}
      </Card>
      <Surveys streamId={streamId} />
    </div>
  );
}

function countBy<T>(items: T[], key: (x: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of items) out[key(x)] = (out[key(x)] ?? 0) + 1;
  return out;
}

function Surveys({ streamId }: { streamId: number }) {
  const { t } = useI18n();
  const qc = useQueryClient();
  const path = { params: { path: { stream_id: streamId } } };
  const surveys = useQuery({ queryKey: ["surveys", streamId], queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/surveys", path)) });
  const [chosen, setChosen] = useState<number | null>(null);
  const id = chosen ?? surveys.data?.[0]?.id ?? null;
  const results = useQuery({
    queryKey: ["survey-results", streamId, id],
    enabled: id !== null,
    queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/surveys/{survey_id}/results", { params: { path: { stream_id: streamId, survey_id: id ?? 0 } } })),
  });
  const [title, setTitle] = useState("");
  const [questions, setQuestions] = useState("");
  const create = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/v1/streams/{stream_id}/surveys", {
          ...path,
          body: { title, questions: questions.split("\n").map((q) => q.trim()).filter(Boolean).map((text) => ({ text, kind: "score" as const })) },
        }),
      ),
    onSuccess: (s) => {
      setTitle("");
      setQuestions("");
      setChosen(s.id);
      void qc.invalidateQueries({ queryKey: ["surveys", streamId] });
    },
  });
  const res = results.data;
  const scored = (res?.questions ?? []).filter((q) => q.kind === "score");
  const chart: EChartOption = {
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left: 140, right: 30, top: 30, bottom: 20 },
    xAxis: { type: "value", minInterval: 1 },
    yAxis: { type: "category", inverse: true, data: scored.map((q) => `${q.text} (${q.average ?? "—"})`) },
    series: ["1", "2", "3", "4", "5"].map((score, i) => ({
      type: "bar",
      stack: "s",
      name: `${score}★`,
      data: scored.map((q) => q.distribution?.[score] ?? 0),
      itemStyle: { color: ["#ef4444", "#f97316", "#eab308", "#84cc16", "#22c55e"][i] },
    })),
  };
  return (
    <Card title={t("as.surveys")} testId="as-surveys">
      <ErrorText error={surveys.error ?? results.error ?? create.error} />
      <div className="row">
        {(surveys.data ?? []).map((s) => (
          <button key={s.id} className={`small ${s.id === id ? "good" : ""}`} onClick={() => setChosen(s.id)}>
            {s.title}
          </button>
        ))}
      </div>
      {res && (
        <>
          <p>
            {t("as.responses", { n: res.responses })} · {t("as.avgScore")}: <strong>{res.average_score ?? "—"}</strong>
          </p>
          {scored.length > 0 && <EChart option={chart} height={scored.length * 40 + 60} testId="chart-survey" />}
        </>
      )}
      <form
        className="col"
        style={{ marginTop: 8 }}
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <input value={title} onChange={(e) => setTitle(e.target.value)} required placeholder={t("as.surveyTitle")} />
        <textarea value={questions} onChange={(e) => setQuestions(e.target.value)} required rows={3} placeholder={t("as.surveyQuestions")} />
        <button disabled={create.isPending}>{t("as.createSurvey")}</button>
      </form>
    </Card>
  );
}
