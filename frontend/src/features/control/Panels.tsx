// Side panels of the control console: segment control, cues, incidents, alerts, comments.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, unwrap, type Schemas } from "../../api/client";
import { Card, ErrorText, formatDuration, isMissing, Pending, useNow } from "../../components/ui";
import { useI18n, type MessageKey } from "../../i18n";
import { CorrectControl } from "../service/CorrectComment";
import { serverText } from "../../i18n/server";
import { pollUnlessLive, useCues, useIncidents, useLineup, useSegmentNow } from "../../live/streamData";
import type { LiveEvent } from "../../live/types";

export function SegmentControl({ streamId, canMove = true }: { streamId: number; canMove?: boolean }) {
  const { t } = useI18n();
  const qc = useQueryClient();
  const seg = useSegmentNow(streamId);
  const now = useNow(1000);
  const move = useMutation({
    mutationFn: (dir: "next" | "previous") => {
      const opts = { params: { path: { stream_id: streamId } }, body: { expected_current: seg.data?.current?.id ?? null } };
      return dir === "next"
        ? unwrap(api.POST("/api/v1/streams/{stream_id}/segments/next", opts))
        : unwrap(api.POST("/api/v1/streams/{stream_id}/segments/previous", opts));
    },
    onSuccess: (data) => qc.setQueryData(["segment", streamId], data),
    onSettled: () => void qc.invalidateQueries({ queryKey: ["segment", streamId] }),
  });
  const d = seg.data;
  const remaining = remainingSeconds(d, seg.dataUpdatedAt, now);
  return (
    <Card title={t("segment.title")} testId="segment-control">
      <ErrorText error={seg.error} />
      {d && !d.current && <p className="muted">{d.total_segments ? t("segment.notStarted") : t("segment.noScript")}</p>}
      {d?.current && (
        <div className="col">
          <div className="row">
            <span className={`badge seg-${d.current.kind}`}>{t(`segkind.${d.current.kind}` as MessageKey)}</span>
            <strong data-testid="segment-current">{d.current.title}</strong>
            <span className="spacer" />
            {remaining !== null && <strong className={remaining < 0 ? "bad" : ""}>{remaining < 0 ? "+" : ""}{formatDuration(Math.abs(remaining))}</strong>}
          </div>
          <div className="muted">
            {t("segment.next")}: {d.next ? d.next.title : t("segment.last")} · {t("segment.position", { n: d.current.position, total: d.total_segments })}
          </div>
        </div>
      )}
      {canMove && (
        <div className="row" style={{ marginTop: 8 }}>
          <button onClick={() => move.mutate("previous")} disabled={move.isPending || !d?.previous}>
            ◀ {t("segment.prev")}
          </button>
          <button className="primary" onClick={() => move.mutate("next")} disabled={move.isPending || (!!d?.current && !d.next) || d?.total_segments === 0} data-testid="segment-next">
            {d?.current ? t("segment.nextBtn") : t("segment.start")} ▶
          </button>
        </div>
      )}
      <ErrorText error={move.error} />
    </Card>
  );
}

/** Seconds left in the current segment, counted down locally between server answers. */
export function remainingSeconds(d: Schemas["SegmentNowOut"] | undefined, fetchedAt: number, now: number): number | null {
  if (!d?.current) return null;
  if (d.started_at) return d.current.duration_seconds - Math.floor((now - Date.parse(d.started_at)) / 1000);
  if (d.remaining_seconds === null || d.remaining_seconds === undefined) return null;
  return d.remaining_seconds - Math.floor((now - fetchedAt) / 1000);
}

export function CueSender({ streamId }: { streamId: number }) {
  const { t, time, lang } = useI18n();
  const qc = useQueryClient();
  const cues = useCues(streamId, false);
  const lineup = useLineup(streamId);
  const [text, setText] = useState("");
  const [priority, setPriority] = useState<Schemas["CuePriority"]>("normal");
  const [product, setProduct] = useState("");
  const send = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/v1/streams/{stream_id}/cues", {
          params: { path: { stream_id: streamId } },
          body: { text, priority, product_id: product ? Number(product) : null },
        }),
      ),
    onSuccess: () => {
      setText("");
      void qc.invalidateQueries({ queryKey: ["cues", streamId] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    send.mutate();
  };
  const quick = [t("cue.quick.size"), t("cue.quick.welfare"), t("cue.quick.stock"), t("cue.quick.slow")];
  return (
    <Card title={t("cue.title")} testId="cue-sender">
      <form className="col" onSubmit={submit}>
        <div className="quick-replies">
          {quick.map((q) => (
            <button type="button" key={q} className="small" onClick={() => setText(q)}>
              {q}
            </button>
          ))}
        </div>
        <input value={text} onChange={(e) => setText(e.target.value)} placeholder={t("cue.placeholder")} required maxLength={500} data-testid="cue-text" />
        <div className="row">
          <select value={priority} onChange={(e) => setPriority(e.target.value as Schemas["CuePriority"])}>
            <option value="normal">{t("cue.normal")}</option>
            <option value="high">{t("cue.high")}</option>
            <option value="urgent">{t("cue.urgent")}</option>
          </select>
          <select value={product} onChange={(e) => setProduct(e.target.value)}>
            <option value="">{t("cue.noProduct")}</option>
            {(lineup.data ?? []).map((r) => (
              <option key={r.product_id} value={r.product_id}>
                {r.name || `#${r.product_id}`}
              </option>
            ))}
          </select>
          <button className="primary" disabled={send.isPending} data-testid="cue-send">
            {t("common.send")}
          </button>
        </div>
        <ErrorText error={send.error} />
      </form>
      <div className="feed" style={{ marginTop: 8, maxHeight: 160 }}>
        {(cues.data ?? []).slice(0, 20).map((c) => (
          <div className="feed-item" key={c.id}>
            <span className="feed-time">{time(c.created_at)}</span>
            <span className={`badge badge-${c.priority}`}>{t(`cue.${c.priority}` as MessageKey)}</span>
            <span className="text">{serverText(lang, c.code, c.params as Record<string, unknown> | null, c.text)}</span>
            <span className="muted small">{c.acked_at ? `✓ ${t("cue.acked")}` : t("cue.waiting")}</span>
          </div>
        ))}
      </div>
    </Card>
  );
}

export function IncidentLog({ streamId }: { streamId: number }) {
  const { t, time } = useI18n();
  const qc = useQueryClient();
  const incidents = useIncidents(streamId);
  const [type, setType] = useState<Schemas["IncidentType"]>("technical");
  const [note, setNote] = useState("");
  const create = useMutation({
    mutationFn: () =>
      unwrap(api.POST("/api/v1/streams/{stream_id}/incidents", { params: { path: { stream_id: streamId } }, body: { type, note } })),
    onSuccess: () => {
      setNote("");
      void qc.invalidateQueries({ queryKey: ["incidents", streamId] });
    },
  });
  const resolve = useMutation({
    mutationFn: (id: number) =>
      unwrap(
        api.POST("/api/v1/streams/{stream_id}/incidents/{incident_id}/resolve", {
          params: { path: { stream_id: streamId, incident_id: id } },
          body: { resolution: "" },
        }),
      ),
    onSettled: () => void qc.invalidateQueries({ queryKey: ["incidents", streamId] }),
  });
  return (
    <Card title={t("incident.title")} testId="incidents">
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <select value={type} onChange={(e) => setType(e.target.value as Schemas["IncidentType"])}>
          {(["technical", "product", "host", "other"] as const).map((k) => (
            <option key={k} value={k}>
              {t(`incident.${k}`)}
            </option>
          ))}
        </select>
        <input value={note} onChange={(e) => setNote(e.target.value)} placeholder={t("incident.note")} required style={{ flex: 1 }} />
        <button disabled={create.isPending}>{t("incident.log")}</button>
      </form>
      <ErrorText error={create.error ?? resolve.error} />
      <div className="feed" style={{ marginTop: 8, maxHeight: 180 }}>
        {(incidents.data ?? []).map((i) => (
          <div className="feed-item" key={i.id}>
            <span className="feed-time">{time(i.created_at)}</span>
            <span className={`badge ${i.resolved ? "" : "badge-warn"}`}>{t(`incident.${i.type}` as MessageKey)}</span>
            <span className="text">{i.note}</span>
            {i.resolved ? (
              <span className="muted small">✓ {t("incident.resolved")}</span>
            ) : (
              <button className="small" onClick={() => resolve.mutate(i.id)}>
                {t("incident.resolve")}
              </button>
            )}
          </div>
        ))}
        {incidents.data?.length === 0 && <span className="muted">{t("common.none")}</span>}
      </div>
    </Card>
  );
}

interface AlertRow {
  id?: number;
  kind: string;
  level?: string;
  message: string;
  code?: string;
  params?: Record<string, unknown>;
  created_at?: string;
  resolved_at?: string | null;
}

/** Alerts worded by code in the console's language, with the product's name. A resolved
 * episode (`alert.resolved`) closes its alert instead of showing as a new one. */
export function Alerts({ streamId, events }: { streamId: number; events: LiveEvent[] }) {
  const { t, time, lang } = useI18n();
  const lineup = useLineup(streamId);
  const stored = useQuery({
    queryKey: ["alerts", streamId],
    queryFn: (): Promise<AlertRow[]> =>
      unwrap(api.GET("/api/v1/streams/{stream_id}/alerts", { params: { path: { stream_id: streamId } } })) as Promise<AlertRow[]>,
  });
  const resolved = new Map<number, string>();
  for (const e of events) {
    if (e.type === "alert.resolved" && typeof e.data["id"] === "number") resolved.set(e.data["id"], String(e.data["resolved_at"] ?? e.ts ?? ""));
  }
  const pushed: AlertRow[] = events
    .filter((e) => e.type === "alert")
    .map((e) => ({
      id: typeof e.data["id"] === "number" ? e.data["id"] : undefined,
      kind: String(e.data["kind"] ?? "alert"),
      level: typeof e.data["level"] === "string" ? e.data["level"] : "warning",
      message: String(e.data["message"] ?? e.data["text"] ?? ""),
      code: typeof e.data["code"] === "string" ? e.data["code"] : undefined,
      params: (e.data["params"] ?? e.data["data"]) as Record<string, unknown> | undefined,
      created_at: typeof e.data["created_at"] === "string" ? e.data["created_at"] : e.ts,
    }));
  const seen = new Set<number>();
  const all = [...pushed.reverse(), ...(stored.data ?? [])].filter((a) => {
    if (a.id === undefined) return true;
    if (seen.has(a.id)) return false;
    seen.add(a.id);
    return true;
  });
  const word = (a: AlertRow) => {
    const params: Record<string, unknown> = { ...(a.params ?? {}) };
    const pid = params["product_id"];
    if (pid !== undefined) params["product"] = lineup.data?.find((r) => r.product_id === pid)?.name ?? `#${String(pid)}`;
    return serverText(lang, a.code ?? `alert.${a.kind}`, params, a.message);
  };
  return (
    <Card title={t("alerts.title")} testId="alerts">
      {isMissing(stored.error) && pushed.length === 0 ? <Pending what={t("alerts.title")} /> : null}
      <div className="feed" style={{ maxHeight: 200 }}>
        {all.slice(0, 30).map((a, i) => {
          const over = a.resolved_at ?? (a.id !== undefined ? resolved.get(a.id) : undefined);
          return (
            <div
              key={a.id ?? `p${i}`}
              className={`alert-item ${a.level === "critical" && !over ? "critical" : ""}${over ? " resolved" : ""}`}
              data-testid="alert-item"
            >
              <span className="feed-time">{time(a.created_at)}</span> {word(a)}
              {over ? <span className="muted small"> · {t("alerts.resolved")}</span> : null}
            </div>
          );
        })}
        {all.length === 0 && !isMissing(stored.error) && <span className="muted">{t("alerts.none")}</span>}
      </div>
    </Card>
  );
}

type CommentRow = Schemas["CommentOut"];

/** Comments pushed as `comment.new` events (`data.comments`), newest last. */
function pushedComments(events: LiveEvent[]): CommentRow[] {
  const out: CommentRow[] = [];
  for (const e of events) {
    if (e.type !== "comment.new" || !Array.isArray(e.data["comments"])) continue;
    for (const c of e.data["comments"] as unknown[]) {
      if (c && typeof c === "object" && "id" in c && "text" in c) out.push(c as CommentRow);
    }
  }
  return out;
}

export function CommentStream({ streamId, events }: { streamId: number; events: LiveEvent[] }) {
  const { t, time } = useI18n();
  const qc = useQueryClient();
  const stored = useQuery({
    queryKey: ["comments", streamId],
    queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/comments", { params: { path: { stream_id: streamId }, query: { limit: 100 } } })),
    refetchInterval: pollUnlessLive(streamId),
  });
  const byId = new Map<number, CommentRow>();
  for (const c of pushedComments(events)) byId.set(c.id, c);
  for (const c of stored.data ?? []) byId.set(c.id, c); // the stored row knows about hide
  const rows = [...byId.values()].sort((a, b) => b.id - a.id).slice(0, 100);
  const act = useMutation({
    mutationFn: ({ c, action }: { c: CommentRow; action: "hide" | "unhide" | "pin" | "mute" }): Promise<unknown> => {
      const ids = { params: { path: { stream_id: streamId, comment_id: c.id } } };
      if (action === "mute") {
        return unwrap(
          api.POST("/api/v1/streams/{stream_id}/mutes", { params: { path: { stream_id: streamId } }, body: { viewer_id: c.viewer_id, minutes: 10 } }),
        );
      }
      if (action === "pin") return unwrap(api.POST("/api/v1/streams/{stream_id}/comments/{comment_id}/pin", ids));
      if (action === "unhide") return unwrap(api.POST("/api/v1/streams/{stream_id}/comments/{comment_id}/unhide", ids));
      return unwrap(api.POST("/api/v1/streams/{stream_id}/comments/{comment_id}/hide", ids));
    },
    onSettled: (_data, _error, { action }) => {
      void qc.invalidateQueries({ queryKey: ["comments", streamId] });
      if (action === "mute") void qc.invalidateQueries({ queryKey: ["mutes", streamId] });
    },
  });
  return (
    <Card title={t("comments.title")} testId="comments">
      <ErrorText error={stored.error ?? act.error} />
      <div className="feed">
        {rows.map((c) => (
          <div key={c.id} className={`feed-item${c.blocked ? " blocked" : ""}${c.hidden ? " hidden-c" : ""}`} data-testid="comment-row">
            <span className="feed-time">{time(c.created_at)}</span>
            <span className="muted small">{c.viewer_id.slice(0, 10)}</span>
            <span className="text">
              {c.blocked && <span className="badge badge-bad">{t("comments.blocked")}</span>}{" "}
              {(c.kind === "question" || c.kind === "complaint") && <span className="badge">{t(`qkind.${c.kind}` as MessageKey)}</span>} {c.text}
            </span>
            <button className="small" onClick={() => act.mutate({ c, action: c.hidden ? "unhide" : "hide" })}>
              {c.hidden ? t("comments.unhide") : t("comments.hide")}
            </button>
            <button className="small" onClick={() => act.mutate({ c, action: "pin" })} disabled={c.blocked || c.hidden}>
              {t("comments.pin")}
            </button>
            <button className="small" onClick={() => act.mutate({ c, action: "mute" })}>
              {t("comments.mute")}
            </button>
            <CorrectControl streamId={streamId} comment={c} />
          </div>
        ))}
        {rows.length === 0 && <span className="muted">{t("comments.none")}</span>}
      </div>
    </Card>
  );
}

/** The newest orders: what viewers just bought (and whether they paid). */
export function RecentOrders({ streamId }: { streamId: number }) {
  const { t, time, money } = useI18n();
  const orders = useQuery({
    queryKey: ["orders", streamId],
    queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/orders", { params: { path: { stream_id: streamId }, query: { limit: 30 } } })),
    // The counters trigger a refetch when orders change; the 5 s poll is the safety net
    // for a busy ticker or orders that reach the list before the counters move.
    refetchInterval: pollUnlessLive(streamId, 5_000),
  });
  const lineup = useLineup(streamId);
  const names = new Map((lineup.data ?? []).map((r) => [r.product_id, r.name]));
  return (
    <Card title={t("orders.title")} testId="recent-orders">
      <ErrorText error={orders.error} />
      <div className="feed" style={{ maxHeight: 220 }}>
        {(orders.data ?? []).map((o) => (
          <div className="feed-item" key={o.id} data-testid="order-row">
            <span className="feed-time">{time(o.created_at)}</span>
            <span className="badge" data-testid="order-source" title={o.external_id ? t("osource.external", { id: o.external_id }) : undefined}>
              {t(`osource.${o.source === "viewer" || o.source === "ingest" || o.source === "connector" ? o.source : "other"}`)}
              {o.channel && <span data-testid="order-channel"> · {o.channel}</span>}
            </span>
            <span className="text">
              #{o.id} {names.get(o.product_id) || `#${o.product_id}`} ×{o.quantity}
              {o.external_id && <span className="muted"> · {o.external_id}</span>}
            </span>
            <strong>{money(o.amount)}</strong>
            <span className={`badge ${o.status === "paid" ? "badge-listed" : o.status === "cancelled" || o.status === "refunded" ? "badge-delisted" : ""}`} data-testid="order-status">
              {t(`ostatus.${o.status}`)}
            </span>
          </div>
        ))}
        {orders.data?.length === 0 && <span className="muted">{t("orders.none")}</span>}
      </div>
    </Card>
  );
}
