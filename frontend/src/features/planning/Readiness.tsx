import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, ApiError, unwrap } from "../../api/client";
import { Card, ErrorText, isMissing, Pending } from "../../components/ui";
import { useI18n } from "../../i18n";

interface Finding {
  code: string;
  severity: "block" | "warn";
  message: string;
}

export function Readiness({ streamId }: { streamId: number }) {
  const { t } = useI18n();
  const qc = useQueryClient();
  const ready = useQuery({
    queryKey: ["readiness", streamId],
    queryFn: async () => {
      const r = await unwrap(api.GET("/api/v1/streams/{stream_id}/readiness", { params: { path: { stream_id: streamId } } }));
      return { ready: r.ready, findings: r.findings as unknown as Finding[] };
    },
  });
  const goLive = useMutation({
    mutationFn: (force: boolean) =>
      unwrap(api.POST("/api/v1/streams/{stream_id}/go-live", { params: { path: { stream_id: streamId } }, body: { force } })),
    onSettled: () => {
      void qc.invalidateQueries({ queryKey: ["readiness", streamId] });
      void qc.invalidateQueries({ queryKey: ["stream", streamId] });
    },
  });
  const end = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/streams/{stream_id}/end", { params: { path: { stream_id: streamId } } })),
    onSettled: () => void qc.invalidateQueries({ queryKey: ["stream", streamId] }),
  });
  const refused = goLive.error instanceof ApiError && goLive.error.status === 409;
  return (
    <Card title={t("plan.readiness")} testId="readiness">
      {isMissing(ready.error) ? <Pending what={t("plan.readiness")} /> : <ErrorText error={ready.error} />}
      {ready.data && (
        <>
          <p className={ready.data.ready ? "ready-yes" : "ready-no"} data-testid="ready-state">
            {ready.data.ready ? `✓ ${t("plan.ready")}` : `✕ ${t("plan.notReady")}`}
          </p>
          {ready.data.findings.map((f, i) => (
            <div key={i} className={`finding ${f.severity}`}>
              <strong>{f.severity === "block" ? t("plan.blocks") : t("plan.warns")}</strong> {f.message}
            </div>
          ))}
        </>
      )}
      <div className="row" style={{ marginTop: 12 }}>
        <button className="primary" onClick={() => goLive.mutate(false)} disabled={goLive.isPending} data-testid="go-live">
          {t("plan.goLive")}
        </button>
        {refused && (
          <button className="danger" onClick={() => goLive.mutate(true)} disabled={goLive.isPending}>
            {t("plan.forceGoLive")}
          </button>
        )}
        <button onClick={() => end.mutate()} disabled={end.isPending}>
          {t("plan.end")}
        </button>
      </div>
      {goLive.isSuccess && <p className="good">{t("plan.isLive")}</p>}
      {refused ? <p className="warn">{t("plan.refused")}</p> : <ErrorText error={goLive.error} />}
      <ErrorText error={end.error} />
    </Card>
  );
}
