// React state for one stream's live feed: snapshot, latest metrics, discrete events,
// connection status and freshness. A figure is "fresh" only once a snapshot has arrived
// on the current connection; after a drop everything is marked stale until then.
import { useEffect, useRef, useState } from "react";
import { LiveSocket } from "./socket";
import type { LiveEvent, LiveMessage, LiveStatus, Metrics } from "./types";

export interface LiveState {
  status: LiveStatus;
  fresh: boolean;
  snapshot: Record<string, unknown> | null;
  metrics: Metrics | null;
  metricsAt: number | null;
  events: LiveEvent[];
  retryInMs: number | null;
  closeCode: number | null;
}

const MAX_EVENTS = 300;

const initial: LiveState = {
  status: "connecting",
  fresh: false,
  snapshot: null,
  metrics: null,
  metricsAt: null,
  events: [],
  retryInMs: null,
  closeCode: null,
};

function isMetrics(v: unknown): v is Metrics {
  return typeof v === "object" && v !== null && "online" in v;
}

export interface UseLiveOptions {
  /** Default: the staff console feed `/ws/streams/{id}`; the watch page uses `.../watch`. */
  path?: string;
  token: () => string | null;
  onEvent?: (event: LiveEvent) => void;
  onSnapshot?: (snapshot: Record<string, unknown>) => void;
}

export function useLive(streamId: number | null, { path, token, onEvent, onSnapshot }: UseLiveOptions): LiveState {
  const [state, setState] = useState<LiveState>(initial);
  const handlers = useRef({ onEvent, onSnapshot, token });
  handlers.current = { onEvent, onSnapshot, token };

  useEffect(() => {
    if (streamId === null || !Number.isFinite(streamId) || token() === null) return;
    setState(initial);
    const socket = new LiveSocket({
      path: path ?? `/ws/streams/${streamId}`,
      token: () => handlers.current.token(),
      onStatus: (status, detail) =>
        setState((s) => ({
          ...s,
          status,
          // Connected is not fresh: wait for the snapshot of this connection.
          fresh: status === "open" ? s.fresh && s.status === "open" : false,
          retryInMs: detail.retryInMs ?? null,
          closeCode: detail.code ?? null,
        })),
      onMessage: (msg: LiveMessage) => {
        if (msg.type === "snapshot") {
          const snap = msg as Record<string, unknown>;
          const m = snap["metrics"];
          setState((s) => ({
            ...s,
            fresh: true,
            snapshot: snap,
            metrics: isMetrics(m) ? m : s.metrics,
            metricsAt: isMetrics(m) ? Date.now() : s.metricsAt,
          }));
          handlers.current.onSnapshot?.(snap);
        } else if (msg.type === "metrics" && "metrics" in msg && isMetrics(msg.metrics)) {
          const metrics = msg.metrics;
          setState((s) => ({ ...s, metrics, metricsAt: Date.now() }));
        } else if ("seq" in msg && typeof msg.seq === "number") {
          const ev: LiveEvent = {
            type: msg.type,
            seq: msg.seq,
            ...("epoch" in msg && typeof msg.epoch === "string" ? { epoch: msg.epoch } : {}),
            ...("id" in msg && typeof msg.id === "number" ? { id: msg.id } : {}),
            ts: typeof msg.ts === "string" ? msg.ts : new Date().toISOString(),
            data: typeof msg.data === "object" && msg.data !== null ? (msg.data as Record<string, unknown>) : {},
          };
          setState((s) => ({ ...s, events: [...s.events.slice(-(MAX_EVENTS - 1)), ev] }));
          handlers.current.onEvent?.(ev);
        }
      },
    });
    socket.start();
    return () => socket.stop();
    // eslint-disable-next-line react-hooks/exhaustive-deps -- token changes are read via the ref
  }, [streamId, path, token() === null]);

  return state;
}
