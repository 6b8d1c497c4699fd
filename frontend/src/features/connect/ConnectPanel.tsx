// The control console's compact connection panel (issue 18): is the platform feed
// arriving (each connector's last event, lag, error rate, ingest key) and did the
// platform really do our actions (pending → done / failed, reported by the receiver).
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { Link } from "react-router";
import { api, unwrap } from "../../api/client";
import { Card, ErrorText } from "../../components/ui";
import { useI18n, type MessageKey, type TFunction } from "../../i18n";
import { messages } from "../../i18n/messages";
import type { LiveEvent } from "../../live/types";

export const STATE_BADGE: Record<string, string> = {
  ok: "badge-listed",
  waiting: "",
  stale: "badge-warn",
  failing: "badge-bad",
  key_revoked: "badge-bad",
};

/** A control action's name in the user's language (its code if we have no text). */
export function actionLabel(t: TFunction, action: string): string {
  const key = `connect.action.${action}`;
  return key in messages ? t(key as MessageKey) : action;
}

export function useConnectorStatus(streamId: number) {
  return useQuery({
    queryKey: ["connectors", streamId],
    queryFn: () =>
      unwrap(api.GET("/api/v1/streams/{stream_id}/connectors", { params: { path: { stream_id: streamId } } })),
    refetchInterval: 5000,
  });
}

export function formatLag(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "—";
  return ms < 1000 ? `${ms} ms` : ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60_000)} min`;
}

/** The platform's clock runs ahead of ours (its events came stamped after we got them):
 * the lag shown is corrected by at least this much. */
export function ClockSkew({ ms }: { ms: number | null | undefined }) {
  const { t } = useI18n();
  if (!ms) return null;
  return (
    <span className="warn small" data-testid="clock-skew">
      {" "}
      {t("connect.clockSkew", { s: (ms / 1000).toFixed(0) })}
    </span>
  );
}

export function ConnectPanel({ streamId, events }: { streamId: number; events: LiveEvent[] }) {
  const { t, time } = useI18n();
  const qc = useQueryClient();
  const connectors = useConnectorStatus(streamId);
  const actions = useQuery({
    queryKey: ["actions", streamId, "platform"],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/streams/{stream_id}/actions", {
          params: { path: { stream_id: streamId }, query: { limit: 6 } },
        }),
      ),
    refetchInterval: 10_000,
  });
  // A receiver's report, or a new action: refresh the list at once.
  const last = events.length ? events[events.length - 1] : undefined;
  useEffect(() => {
    if (last && (last.type === "action.result" || last.type.startsWith("product."))) {
      void qc.invalidateQueries({ queryKey: ["actions", streamId, "platform"] });
    }
  }, [qc, streamId, last]);
  const sent = (actions.data ?? []).filter((a) => a.platform_status);
  return (
    <Card
      title={t("connect.panel.title")}
      testId="connect-panel"
      actions={<Link to={`/streams/${streamId}/connect`}>{t("connect.panel.manage")}</Link>}
    >
      <ErrorText error={connectors.error} />
      {connectors.data && connectors.data.length === 0 && <p className="muted">{t("connect.panel.noConnectors")}</p>}
      {connectors.data?.map((c) => (
        <div key={c.id} className="connector-row" data-testid="connector-status">
          <div className="row">
            <strong>{c.name}</strong>
            <span className={`badge ${STATE_BADGE[c.state] ?? ""}`} data-testid="connector-state">
              {t(`connect.state.${c.state}` as MessageKey)}
            </span>
            <span className="spacer" />
            <span className="muted">{t("connect.key")} {c.ingest_key_prefix ?? "—"}…</span>
          </div>
          <div className="muted small">
            {t("connect.lastEvent")} {c.last_event_at ? time(c.last_event_at) : "—"} · {t("connect.lag")} {formatLag(c.lag_ms)}
            <ClockSkew ms={c.clock_skew_ms} /> ·{" "}
            {t("connect.errorRate")}{" "}
            <span className={c.error_rate > 0.1 ? "bad" : ""}>{(c.error_rate * 100).toFixed(0)}%</span> ({c.errors_15m}/{c.received_15m})
          </div>
        </div>
      ))}
      <h3 className="small-head">{t("connect.panel.actions")}</h3>
      <ErrorText error={actions.error} />
      {sent.length === 0 && <p className="muted">{t("connect.panel.noActions")}</p>}
      <ul className="plain-list">
        {sent.map((a) => (
          <li key={a.id} data-testid="action-platform" title={a.platform_message}>
            <span className={`badge ${a.platform_status === "done" ? "badge-listed" : a.platform_status === "failed" ? "badge-bad" : "badge-warn"}`}>
              {t(`connect.platform.${a.platform_status ?? "pending"}` as MessageKey)}
            </span>{" "}
            {time(a.created_at)} {actionLabel(t, a.action)}
            {a.product_id ? ` #${a.product_id}` : ""}
            {a.platform_message ? <span className="muted"> — {a.platform_message}</span> : null}
          </li>
        ))}
      </ul>
    </Card>
  );
}
