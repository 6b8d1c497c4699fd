// The field controller's console (场控台): everything live in one screen.
import { useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { ConnectionBanner, useNow } from "../../components/ui";
import { useStream, useStreamId } from "../../components/layout";
import { useT } from "../../i18n";
import { isClosed, StreamLifecycle } from "../lifecycle/Lifecycle";
import { useMinutes, useCurrentMetrics, useStreamLive } from "../../live/streamData";
import { MetricTiles, MinuteCharts, RateTiles, useMinuteSeries } from "../shared/Figures";
import { ConnectPanel } from "../connect/ConnectPanel";
import { AudienceTiles } from "./Audience";
import { Launchers } from "./Launchers";
import { LineupControl } from "./Lineup";
import { Moderation } from "./Moderation";
import { Alerts, CommentStream, CueSender, IncidentLog, RecentOrders, SegmentControl } from "./Panels";

export function ControlPage() {
  const streamId = useStreamId();
  const t = useT();
  // After the end nothing here acts on the stream any more: the live actions are off.
  const closed = isClosed(useStream(streamId).data?.status);
  const live = useStreamLive(streamId);
  const { metrics, at } = useCurrentMetrics(streamId, live);
  const minutes = useMinutes(streamId);
  const series = useMinuteSeries(minutes.data, metrics);
  const fresh = live.fresh && live.status === "open";
  const stream = useStream(streamId);
  const now = useNow(5000);
  // Orders are not announced one by one; the counters say when there are new ones.
  const qc = useQueryClient();
  const orderCount = `${metrics?.orders ?? ""}/${metrics?.paid_orders ?? ""}`;
  useEffect(() => {
    void qc.invalidateQueries({ queryKey: ["orders", streamId] });
  }, [qc, streamId, orderCount]);
  return (
    <div className="page" data-testid="control-console">
      <ConnectionBanner live={live} />
      <div className="card">
        <StreamLifecycle streamId={streamId} />
      </div>
      {closed && (
        <div className="pf-ended" role="status" data-testid="control-ended">
          {t("life.endedControl")}
        </div>
      )}
      <MetricTiles metrics={metrics} at={at} fresh={fresh} />
      <RateTiles metrics={metrics} at={at} fresh={fresh} stream={stream.data} now={now}>
        <AudienceTiles streamId={streamId} fresh={fresh || closed} />
      </RateTiles>
      <div className="card">
        <MinuteCharts points={series} />
      </div>
      <fieldset className="pf-plain" disabled={closed} data-testid="control-actions">
      <div className="control-grid">
        <div className="col-main">
          <LineupControl streamId={streamId} metrics={metrics} fresh={fresh} />
          <Launchers streamId={streamId} />
          <CommentStream streamId={streamId} events={live.events} />
          <Moderation streamId={streamId} events={live.events} />
        </div>
        <div className="col-side">
          <SegmentControl streamId={streamId} />
          <ConnectPanel streamId={streamId} events={live.events} />
          <Alerts streamId={streamId} events={live.events} />
          <RecentOrders streamId={streamId} />
          <CueSender streamId={streamId} />
          <IncidentLog streamId={streamId} />
        </div>
      </div>
      </fieldset>
    </div>
  );
}
