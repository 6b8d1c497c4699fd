// The stream's lifecycle where the team works (planning and control console):
// schedule / unschedule, go live (a draft is scheduled in the same step when the user
// confirms), end, archive — each behind a confirmation that names the stream.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, ApiError, isRecord, unwrap, type Schemas } from "../../api/client";
import { useStreamRole } from "../../auth/roles";
import { useStream } from "../../components/layout";
import { ErrorText } from "../../components/ui";
import { useI18n, type MessageKey } from "../../i18n";
import { ConfirmDialog, fromLocalInput, toLocalInput } from "../common/forms";

type Stream = Schemas["StreamOut"];
type Step = "schedule" | "unschedule" | "goLive" | "force" | "end" | "archive";

interface Finding {
  code: string;
  severity: string;
  message: string;
}

export function isClosed(status: string | undefined): boolean {
  return status === "ended" || status === "archived";
}

/** The findings of a 409 not_ready answer. */
function refusal(error: unknown): Finding[] | null {
  if (!(error instanceof ApiError) || error.code !== "not_ready" || !isRecord(error.body)) return null;
  const f = error.body["findings"];
  return Array.isArray(f) ? (f as Finding[]) : [];
}

export function StreamLifecycle({ streamId }: { streamId: number }) {
  const { t, dateTime } = useI18n();
  const qc = useQueryClient();
  const stream = useStream(streamId);
  const { role } = useStreamRole(streamId);
  const [asking, setAsking] = useState<Step | null>(null);
  const [start, setStart] = useState("");
  const s: Stream | undefined = stream.data;
  const planner = role === "admin" || role === "controller";
  const starter = planner || role === "host";

  const refresh = (data?: Stream) => {
    if (data) qc.setQueryData(["stream", streamId], data);
    for (const key of ["stream", "readiness", "streams", "segment", "storefront"]) void qc.invalidateQueries({ queryKey: [key] });
  };
  const path = { params: { path: { stream_id: streamId } } };
  const step = useMutation({
    mutationFn: async (which: Step): Promise<Stream> => {
      switch (which) {
        case "schedule":
          return unwrap(api.POST("/api/v1/streams/{stream_id}/schedule", { ...path, body: { scheduled_start: fromLocalInput(start) } }));
        case "unschedule":
          return unwrap(api.POST("/api/v1/streams/{stream_id}/unschedule", path));
        case "goLive":
        case "force":
          return unwrap(
            api.POST("/api/v1/streams/{stream_id}/go-live", {
              ...path,
              body: { force: which === "force", schedule: s?.status === "draft" },
            }),
          );
        case "end":
          return unwrap(api.POST("/api/v1/streams/{stream_id}/end", path));
        case "archive":
          return unwrap(api.POST("/api/v1/streams/{stream_id}/archive", path));
      }
    },
    onSuccess: (data) => {
      setAsking(null);
      refresh(data);
    },
    onError: () => {
      setAsking(null);
      refresh();
    },
  });
  if (!s) return <ErrorText error={stream.error} />;
  const title = s.title;
  const findings = refusal(step.error);
  const blockers = (findings ?? []).filter((f) => f.severity === "block");

  function ask(which: Step) {
    step.reset();
    if (which === "schedule") setStart(toLocalInput(s?.scheduled_start) || toLocalInput(new Date(Date.now() + 3600_000).toISOString()));
    setAsking(which);
  }

  const dialogs: Record<Step, { title: string; body?: string; ok: string; danger?: boolean }> = {
    schedule: { title: t("life.confirmSchedule", { title }), ok: t("life.schedule") },
    unschedule: { title: t("life.confirmUnschedule", { title }), body: t("life.unscheduleBody"), ok: t("life.unschedule") },
    goLive: {
      title: s.status === "draft" ? t("life.confirmScheduleAndGoLive", { title }) : t("life.confirmGoLive", { title }),
      body: s.status === "draft" ? t("life.draftBody") : t("life.goLiveBody"),
      ok: s.status === "draft" ? t("life.scheduleAndGoLive") : t("life.goLive"),
    },
    force: { title: t("life.confirmForce", { title }), body: t("life.forceBody", { n: blockers.length }), ok: t("life.force"), danger: true },
    end: { title: t("life.confirmEnd", { title }), body: t("life.endBody"), ok: t("life.end"), danger: true },
    archive: { title: t("life.confirmArchive", { title }), ok: t("life.archive") },
  };
  const d = asking ? dialogs[asking] : null;

  return (
    <div className="col" data-testid="lifecycle">
      <div className="pf-lifecycle">
        <span className={`status status-${s.status}`} data-testid="lifecycle-status">
          {t(`status.${s.status}` as MessageKey)}
        </span>
        {s.status === "live" && <span className="muted small">{t("life.since", { at: dateTime(s.started_at) })}</span>}
        {isClosed(s.status) && <span className="muted small">{t("life.endedAt", { at: dateTime(s.ended_at) })}</span>}
        {s.status === "draft" && planner && (
          <button onClick={() => ask("schedule")} data-testid="life-schedule">
            {t("life.schedule")}
          </button>
        )}
        {s.status === "scheduled" && planner && (
          <button onClick={() => ask("unschedule")} data-testid="life-unschedule">
            {t("life.unschedule")}
          </button>
        )}
        {((s.status === "draft" && planner) || (s.status === "scheduled" && starter)) && (
          <button className="primary" onClick={() => ask("goLive")} data-testid="life-go-live">
            {s.status === "draft" ? t("life.scheduleAndGoLive") : t("life.goLive")}
          </button>
        )}
        {findings && planner && (
          <button className="danger" onClick={() => ask("force")} data-testid="life-force">
            {t("life.force")}
          </button>
        )}
        {s.status === "live" && starter && (
          <button className="danger" onClick={() => ask("end")} data-testid="life-end">
            {t("life.end")}
          </button>
        )}
        {s.status === "ended" && planner && (
          <button onClick={() => ask("archive")} data-testid="life-archive">
            {t("life.archive")}
          </button>
        )}
      </div>
      {findings ? (
        <div data-testid="life-refused">
          <p className="warn">{t("life.refused", { n: blockers.length })}</p>
          {blockers.map((f, i) => (
            <div key={i} className="finding block">
              {f.message}
            </div>
          ))}
        </div>
      ) : (
        <ErrorText error={step.error} />
      )}
      {asking && d && (
        <ConfirmDialog
          title={d.title}
          confirmLabel={d.ok}
          danger={d.danger}
          busy={step.isPending}
          onCancel={() => setAsking(null)}
          onConfirm={() => step.mutate(asking)}
        >
          {d.body && <p>{d.body}</p>}
          {asking === "schedule" && (
            <label>
              {t("streams.scheduled")}
              <input type="datetime-local" value={start} onChange={(e) => setStart(e.target.value)} required data-testid="life-start" />
            </label>
          )}
        </ConfirmDialog>
      )}
    </div>
  );
}
