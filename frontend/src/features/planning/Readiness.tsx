import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import { useStream } from "../../components/layout";
import { Card, ErrorText, isMissing, Pending } from "../../components/ui";
import { useI18n } from "../../i18n";
import { isClosed, StreamLifecycle } from "../lifecycle/Lifecycle";
import { serverText } from "../../i18n/server";

interface Finding {
  code: string;
  severity: "block" | "warn";
  message: string;
  params?: Record<string, unknown>;
}

export function Readiness({ streamId }: { streamId: number }) {
  const { t, lang } = useI18n();
  const stream = useStream(streamId);
  const status = stream.data?.status;
  const ready = useQuery({
    queryKey: ["readiness", streamId],
    queryFn: async () => {
      const r = await unwrap(api.GET("/api/v1/streams/{stream_id}/readiness", { params: { path: { stream_id: streamId } } }));
      return { ready: r.ready, findings: r.findings as unknown as Finding[] };
    },
  });
  // Once live or over, "ready to go live" would be a lie: the state says what it is.
  const stateText =
    status === "live"
      ? t("life.readinessLive")
      : isClosed(status)
        ? t("life.readinessEnded")
        : ready.data?.ready
          ? `✓ ${t("plan.ready")}`
          : `✕ ${t("plan.notReady")}`;
  const stateClass = status === "live" || isClosed(status) ? "ready-live" : ready.data?.ready ? "ready-yes" : "ready-no";
  return (
    <Card title={t("plan.readiness")} testId="readiness">
      {isMissing(ready.error) ? <Pending what={t("plan.readiness")} /> : <ErrorText error={ready.error} />}
      {ready.data && (
        <>
          <p className={stateClass} data-testid="ready-state" data-status={status}>
            {stateText}
          </p>
          {ready.data.findings.map((f, i) => (
            <div key={i} className={`finding ${f.severity}`}>
              <strong>{f.severity === "block" ? t("plan.blocks") : t("plan.warns")}</strong>{" "}
              {serverText(lang, `readiness.${f.code}`, f.params, f.message)}
            </div>
          ))}
        </>
      )}
      <div style={{ marginTop: 12 }}>
        <StreamLifecycle streamId={streamId} />
      </div>
    </Card>
  );
}
