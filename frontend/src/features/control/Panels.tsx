// Side panels of the control console: segment control, cues, incidents, alerts, comments.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, rawApi, unwrap, type Schemas } from "../../api/client";
import { Card, ErrorText, formatDuration, isMissing, Pending, useNow } from "../../components/ui";
import { useI18n, type MessageKey } from "../../i18n";
import { useCues, useIncidents, useLineup, useSegmentNow } from "../../live/streamData";
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
  const { t, time } = useI18n();
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
            <span className="text">{c.text}</span>
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
  created_at?: string;
}

export function Alerts({ streamId, events }: { streamId: number; events: LiveEvent[] }) {
  const { t, time } = useI18n();
  const stored = useQuery({
    queryKey: ["alerts", streamId],
    queryFn: (): Promise<AlertRow[]> =>
      unwrap(api.GET("/api/v1/streams/{stream_id}/alerts", { params: { path: { stream_id: streamId } } })),
  });
  const pushed: AlertRow[] = events
    .filter((e) => e.type === "alert" || e.type.startsWith("alert."))
    .map((e) => ({
      id: typeof e.data["id"] === "number" ? e.data["id"] : undefined,
      kind: String(e.data["kind"] ?? "alert"),
      level: typeof e.data["level"] === "string" ? e.data["level"] : "warning",
      message: String(e.data["message"] ?? e.data["text"] ?? e.type),
      created_at: e.ts,
    }));
  const seen = new Set<number>();
  const all = [...pushed.reverse(), ...(stored.data ?? [])].filter((a) => {
    if (a.id === undefined) return true;
    if (seen.has(a.id)) return false;
    seen.add(a.id);
    return true;
  });
  return (
    <Card title={t("alerts.title")} testId="alerts">
      {isMissing(stored.error) && pushed.length === 0 ? <Pending what={t("alerts.title")} /> : null}
      <div className="feed" style={{ maxHeight: 200 }}>
        {all.slice(0, 30).map((a, i) => (
          <div key={a.id ?? `p${i}`} className={`alert-item ${a.level === "critical" ? "critical" : ""}`}>
            <span className="feed-time">{time(a.created_at)}</span> {a.message}
          </div>
        ))}
        {all.length === 0 && !isMissing(stored.error) && <span className="muted">{t("alerts.none")}</span>}
      </div>
    </Card>
  );
}

interface CommentRow {
  id: number | string;
  viewer_id?: string;
  nickname?: string;
  text: string;
  blocked?: boolean;
  hidden?: boolean;
  pinned?: boolean;
  created_at?: string;
}

function commentFromEvent(e: LiveEvent): CommentRow | null {
  const d = e.data;
  const text = d["text"];
  if (typeof text !== "string") return null;
  const id = d["id"] ?? d["comment_id"] ?? `e${e.seq}`;
  return {
    id: typeof id === "number" || typeof id === "string" ? id : `e${e.seq}`,
    viewer_id: typeof d["viewer_id"] === "string" ? d["viewer_id"] : typeof d["user_id"] === "string" ? d["user_id"] : undefined,
    nickname: typeof d["nickname"] === "string" ? d["nickname"] : undefined,
    text,
    blocked: d["blocked"] === true,
    hidden: d["hidden"] === true,
    pinned: d["pinned"] === true,
    created_at: e.ts,
  };
}

export function CommentStream({ streamId, events }: { streamId: number; events: LiveEvent[] }) {
  const { t, time } = useI18n();
  const qc = useQueryClient();
  const stored = useQuery({
    queryKey: ["comments", streamId],
    queryFn: () => rawApi<CommentRow[] | { items: CommentRow[] }>("GET", `/api/v1/streams/${streamId}/comments?limit=100`),
    select: (d) => (Array.isArray(d) ? d : d.items),
  });
  const pushed = events.filter((e) => e.type === "comment" || e.type === "comment.new").map(commentFromEvent).filter((c): c is CommentRow => c !== null);
  const byId = new Map<string, CommentRow>();
  for (const c of stored.data ?? []) byId.set(String(c.id), c);
  for (const c of pushed) if (!byId.has(String(c.id))) byId.set(String(c.id), c);
  const rows = [...byId.values()].sort((a, b) => (b.created_at ?? "").localeCompare(a.created_at ?? "")).slice(0, 100);
  const act = useMutation({
    mutationFn: ({ c, action }: { c: CommentRow; action: "hide" | "pin" | "mute" }) =>
      action === "mute"
        ? rawApi("POST", `/api/v1/streams/${streamId}/mutes`, { viewer_id: c.viewer_id, minutes: 10 })
        : rawApi("POST", `/api/v1/streams/${streamId}/comments/${c.id}/${action}`),
    onSettled: () => void qc.invalidateQueries({ queryKey: ["comments", streamId] }),
  });
  return (
    <Card title={t("comments.title")} testId="comments">
      {isMissing(stored.error) && rows.length === 0 ? <Pending what={t("comments.title")} /> : null}
      <ErrorText error={act.error} />
      <div className="feed">
        {rows.map((c) => (
          <div key={c.id} className={`feed-item${c.blocked ? " blocked" : ""}${c.hidden ? " hidden-c" : ""}${c.pinned ? " pinned" : ""}`}>
            <span className="feed-time">{time(c.created_at)}</span>
            <span className="muted small">{c.nickname ?? c.viewer_id?.slice(0, 8) ?? ""}</span>
            <span className="text">
              {c.blocked && <span className="badge badge-bad">{t("comments.blocked")}</span>} {c.text}
            </span>
            <button className="small" title={t("comments.hide")} onClick={() => act.mutate({ c, action: "hide" })} disabled={c.hidden}>
              {t("comments.hide")}
            </button>
            <button className="small" title={t("comments.pin")} onClick={() => act.mutate({ c, action: "pin" })} disabled={c.blocked}>
              {t("comments.pin")}
            </button>
            {c.viewer_id && (
              <button className="small" title={t("comments.mute")} onClick={() => act.mutate({ c, action: "mute" })}>
                {t("comments.mute")}
              </button>
            )}
          </div>
        ))}
        {rows.length === 0 && !isMissing(stored.error) && <span className="muted">{t("comments.none")}</span>}
      </div>
    </Card>
  );
}
