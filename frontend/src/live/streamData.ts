// Server state shared by the consoles (TanStack Query), kept current by the live feed:
// each discrete event invalidates the queries it concerns, metrics arrive by push.
//
// Every endpoint goes through the typed client (src/api/schema.d.ts, generated from the
// backend's OpenAPI schema), so a renamed path or field fails `tsc`. Only the websocket
// messages are typed by hand (live/types.ts).
import { hashKey, useQuery, useQueryClient, type QueryClient, type QueryKey } from "@tanstack/react-query";
import { useCallback, useEffect } from "react";
import { api, ApiError, unwrap, type GetResult, type Schemas } from "../api/client";
import { auth } from "../auth/store";
import type { LiveEvent, Metrics } from "./types";
import { useLive, type LiveState } from "./useLive";

export type ListingStatus = Schemas["ListingStatus"];
export type SegmentNow = Schemas["SegmentNowOut"];
export type Segment = Schemas["SegmentBrief"];
export type Cue = GetResult<"/api/v1/streams/{stream_id}/cues">[number];
export type Incident = Schemas["IncidentOut"];

/** A lineup row as the planning API lists it (GET /streams/{id}/lineup). */
export type LineupRow = Schemas["LineupOut"];
export type Product = Schemas["ProductOut"];

export type FlashSale = Schemas["FlashSaleOut"];

export interface MinutePoint {
  minute: string;
  online?: number;
  gmv?: string;
  product_clicks?: number;
  orders?: number;
  [k: string]: unknown;
}

// Which queries an event makes stale, by the event type's first part.
const INVALIDATES: Record<string, string[]> = {
  product: ["lineup", "segment"],
  stock: ["lineup", "orders"], // an order took (or gave back) stock
  lineup: ["lineup"],
  segment: ["segment"],
  cue: ["cues"],
  incident: ["incidents"],
  flash_sale: ["flash-sales", "lineup"],
  lottery: ["lotteries"],
  coupon: ["coupons"],
  question: ["questions"],
  order_request: ["questions", "order-requests"],
  comment: ["comments"],
  alert: ["alerts"],
  order: ["orders"],
  stream: ["stream"],
};

// While a stream's live feed is down (or not offered by this server), the queries that
// it would keep current are polled instead, so a console never freezes silently.
const liveUp = new Map<number, boolean>();
const POLL_MS = 4000;
export function pollUnlessLive(
  streamId: number,
  otherwise: number | false = false,
): (query: { state: { error: unknown } }) => number | false {
  return (query) => {
    // An endpoint this server does not have will not appear by asking every 4 s.
    if (query.state.error instanceof ApiError && query.state.error.missing) return false;
    return liveUp.get(streamId) ? otherwise : POLL_MS;
  };
}

export function invalidateFor(qc: QueryClient, streamId: number, event: LiveEvent): void {
  const family = event.type.split(".")[0] ?? event.type;
  for (const key of INVALIDATES[family] ?? []) void qc.invalidateQueries({ queryKey: [key, streamId] });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The queries a staff snapshot fills, each with its part: the server builds these parts
 * with the same service function and response model as the endpoint the query asks
 * (tests/live/test_snapshot_seeds.py), so the part is the query's data. A part missing
 * for this role (or not of the expected kind) seeds nothing: that query is refetched.
 * Not seeded, refetched: the stream itself, every cue (the control console's list: the
 * part has the open ones), every incident and every alert (the control console's logs:
 * the parts have the open ones), a queue cut at its first 200 items (`truncated`), the
 * order requests (another endpoint's shape) and the flash sales (not in the snapshot). */
export function snapshotSeeds(streamId: number, snap: Record<string, unknown>): [QueryKey, unknown][] {
  const out: [QueryKey, unknown][] = [];
  const queue = snap["queue"];
  const lists: [QueryKey, unknown][] = [
    [["lineup", streamId], snap["lineup"]],
    [["cues", streamId, true], snap["cues"]], // GET /cues?open=true (the teleprompter)
    [["alerts", streamId, "host"], snap["alerts"]], // GET /alerts?open=true (the teleprompter)
    [["lotteries", streamId], snap["lotteries"]],
    [["questions", streamId, false], isObject(queue) && queue["truncated"] === false ? queue["items"] : undefined],
  ];
  for (const [key, part] of lists) if (Array.isArray(part)) out.push([key, part]);
  const objects: [QueryKey, unknown, string][] = [
    [["segment", streamId], snap["segment"], "total_segments"],
    [["metrics", streamId], snap["metrics"], "stream_id"],
    [["queue-settings", streamId], isObject(queue) ? queue["settings"] : undefined, "sla_seconds"],
  ];
  for (const [key, part, field] of objects) if (isObject(part) && field in part) out.push([key, part]);
  return out;
}

/** The staff live feed of a stream, wired to the query cache. */
export function useStreamLive(streamId: number, onEvent?: (e: LiveEvent) => void): LiveState {
  const qc = useQueryClient();
  const handle = useCallback(
    (e: LiveEvent) => {
      invalidateFor(qc, streamId, e);
      onEvent?.(e);
    },
    [qc, streamId, onEvent],
  );
  const onSnapshot = useCallback(
    (snap: Record<string, unknown>) => {
      // Resumed (a reconnect after a blip, the usual case in a reconnect storm): the
      // events this console missed follow the snapshot and each invalidates what it
      // concerns, so nothing is refetched wholesale (issue 15: 5,000 consoles coming
      // back must not each ask for every list again). Otherwise (first connect, a new
      // epoch, a history that no longer reaches back) whatever we hold may be old: the
      // lists the snapshot carries are taken from it, the others refetched.
      if (snap["resumed"] === true) return;
      const seeded = new Set<string>();
      for (const [key, data] of snapshotSeeds(streamId, snap)) {
        // A REST answer read before the socket attached must not land over the snapshot.
        void qc.cancelQueries({ queryKey: key, exact: true });
        qc.setQueryData(key, data);
        seeded.add(hashKey(key));
      }
      void qc.invalidateQueries({ predicate: (q) => q.queryKey[1] === streamId && !seeded.has(q.queryHash) });
    },
    [qc, streamId],
  );
  const live = useLive(streamId, { token: auth.token, onEvent: handle, onSnapshot });
  useEffect(() => {
    liveUp.set(streamId, live.status === "open" && live.fresh);
  }, [streamId, live.status, live.fresh]);
  return live;
}

export function useLineup(streamId: number) {
  return useQuery({
    queryKey: ["lineup", streamId],
    refetchInterval: pollUnlessLive(streamId),
    queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/lineup", { params: { path: { stream_id: streamId } } })),
  });
}

export function useProducts(ids: number[]) {
  const key = [...new Set(ids)].sort((a, b) => a - b);
  return useQuery({
    queryKey: ["products", key],
    enabled: key.length > 0,
    staleTime: 60_000,
    queryFn: async () => {
      const rows = await Promise.all(
        key.map((id) => unwrap(api.GET("/api/v1/products/{product_id}", { params: { path: { product_id: id } } })).catch(() => null)),
      );
      const map = new Map<number, Product>();
      for (const p of rows) if (p) map.set(p.id, p);
      return map;
    },
  });
}

export function useSegmentNow(streamId: number) {
  return useQuery({
    queryKey: ["segment", streamId],
    queryFn: () =>
      unwrap(api.GET("/api/v1/streams/{stream_id}/segments/current", { params: { path: { stream_id: streamId } } })),
    refetchInterval: pollUnlessLive(streamId, 30_000),
  });
}

export function useCues(streamId: number, openOnly = true) {
  return useQuery({
    queryKey: ["cues", streamId, openOnly],
    refetchInterval: pollUnlessLive(streamId),
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/streams/{stream_id}/cues", {
          params: { path: { stream_id: streamId }, query: { open: openOnly } },
        }),
      ),
  });
}

export function useIncidents(streamId: number) {
  return useQuery({
    queryKey: ["incidents", streamId],
    refetchInterval: pollUnlessLive(streamId),
    queryFn: () =>
      unwrap(api.GET("/api/v1/streams/{stream_id}/incidents", { params: { path: { stream_id: streamId } } })),
  });
}

export function useMetricsRest(streamId: number) {
  return useQuery({
    queryKey: ["metrics", streamId],
    refetchInterval: pollUnlessLive(streamId),
    queryFn: async (): Promise<Metrics> =>
      unwrap(api.GET("/api/v1/streams/{stream_id}/metrics", { params: { path: { stream_id: streamId } } })),
  });
}

export function useMinutes(streamId: number, refetchMs = 15_000) {
  return useQuery({
    queryKey: ["minutes", streamId],
    queryFn: async (): Promise<MinutePoint[]> =>
      unwrap(api.GET("/api/v1/streams/{stream_id}/metrics/minutes", { params: { path: { stream_id: streamId } } })),
    refetchInterval: refetchMs,
  });
}

/** Accepts `[{minute, ...}]` or `{minutes: [...]}`. */
export function normalizeMinutes(raw: unknown): MinutePoint[] {
  const list = Array.isArray(raw)
    ? raw
    : typeof raw === "object" && raw !== null && Array.isArray((raw as { minutes?: unknown }).minutes)
      ? (raw as { minutes: unknown[] }).minutes
      : [];
  return list.filter((x): x is MinutePoint => typeof x === "object" && x !== null && "minute" in x);
}

export function useFlashSales(streamId: number) {
  return useQuery({
    queryKey: ["flash-sales", streamId],
    queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/flash-sales", { params: { path: { stream_id: streamId } } })),
    refetchInterval: pollUnlessLive(streamId, 20_000),
  });
}

/** Live metrics: the pushed ones once connected, the REST answer until then. */
export function useCurrentMetrics(streamId: number, live: LiveState): { metrics: Metrics | null; at: number | null } {
  const rest = useMetricsRest(streamId);
  if (live.metrics) return { metrics: live.metrics, at: live.metricsAt };
  return { metrics: rest.data ?? null, at: rest.dataUpdatedAt || null };
}

export function productMetrics(metrics: Metrics | null, productId: number) {
  return metrics?.products?.find((p) => p.product_id === productId) ?? null;
}

export function activeFlashSale(sales: FlashSale[] | undefined, now: number): FlashSale | null {
  return (
    sales?.find((s) => {
      if (s.status !== "active") return false;
      const end = s.ends_at ? Date.parse(s.ends_at) : null;
      const start = s.starts_at ? Date.parse(s.starts_at) : null;
      return (end === null || end > now) && (start === null || start <= now);
    }) ?? null
  );
}
