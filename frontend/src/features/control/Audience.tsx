// Who is watching, next to the rates (#16): the average stay and the live traffic sources
// (GET /streams/{id}/audience: the review's definitions from the same rollups, polled).
import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import { formatDuration, MetricTile } from "../../components/ui";
import { useI18n, type MessageKey } from "../../i18n";
import { messages } from "../../i18n/messages";

const POLL_MS = 15_000;
const COLORS = ["#3d8bfd", "#22c55e", "#f59e0b", "#a855f7", "#ef4444", "#14b8a6", "#94a3b8", "#64748b"];

export function useAudience(streamId: number, enabled = true) {
  return useQuery({
    queryKey: ["audience", streamId],
    queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/audience", { params: { path: { stream_id: streamId } } })),
    refetchInterval: POLL_MS,
    enabled,
  });
}

/** Two tiles for the rates row: average stay, and the traffic sources as a share bar. */
export function AudienceTiles({ streamId, fresh }: { streamId: number; fresh: boolean }) {
  const { t } = useI18n();
  const audience = useAudience(streamId);
  const a = audience.data;
  const at = audience.dataUpdatedAt || null;
  const ok = fresh && !audience.isError;
  const label = (k: string) => (`trafsrc.${k}` in messages ? t(`trafsrc.${k}` as MessageKey) : k);
  const sources = a?.sources ?? [];
  return (
    <>
      <MetricTile
        label={t("audience.avgStay")}
        value={
          <span title={t("audience.avgStayHint")}>
            {a && a.viewers > 0 ? formatDuration(a.avg_watch_seconds) : "—"}
            <span className="tile-hint">{t("audience.avgStayHint")}</span>
          </span>
        }
        at={at}
        fresh={ok}
        testId="rate-avg-stay"
      />
      <div className={`tile tile-wide${ok && at ? "" : " stale"}`} data-testid="audience-sources">
        <div className="tile-label">{t("audience.sources")}</div>
        {sources.length === 0 ? (
          <div className="muted small">{t("audience.none")}</div>
        ) : (
          <>
            <div className="share-bar" role="img" aria-label={sources.map((s) => `${label(s.source)} ${(s.share * 100).toFixed(0)}%`).join(", ")}>
              {sources.map((s, i) => (
                <span key={s.source} style={{ width: `${s.share * 100}%`, background: COLORS[i % COLORS.length] }} title={`${label(s.source)} ${s.viewers}`} />
              ))}
            </div>
            <div className="share-legend">
              {sources.slice(0, 5).map((s, i) => (
                <span key={s.source} data-testid={`source-${s.source}`}>
                  <i style={{ background: COLORS[i % COLORS.length] }} />
                  {label(s.source)} <strong>{(s.share * 100).toFixed(0)}%</strong>
                </span>
              ))}
            </div>
          </>
        )}
      </div>
    </>
  );
}
