// 平台对接 (issue 18): outbound webhooks and their delivery log, inbound connectors and
// their status and kept payloads, and rehearsals (a copy of the plan, a replayed log).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import { api, unwrap } from "../../api/client";
import { useStream, useStreamId } from "../../components/layout";
import { Card, ErrorText } from "../../components/ui";
import { useI18n, type MessageKey } from "../../i18n";
import { ClockSkew, formatLag, STATE_BADGE, useConnectorStatus } from "./ConnectPanel";

const DELIVERY_BADGE: Record<string, string> = { delivered: "badge-listed", pending: "badge-warn", dead: "badge-bad" };

export function ConnectPage() {
  const streamId = useStreamId();
  return (
    <div className="page" data-testid="connect-page">
      <Connectors streamId={streamId} />
      <Webhooks streamId={streamId} />
      <Deliveries streamId={streamId} />
      <Rehearsal streamId={streamId} />
    </div>
  );
}

function Webhooks({ streamId }: { streamId: number }) {
  const { t, dateTime } = useI18n();
  const qc = useQueryClient();
  const path = { params: { path: { stream_id: streamId } } };
  const hooks = useQuery({
    queryKey: ["webhooks", streamId],
    queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/webhooks", path)),
    refetchInterval: 5000,
  });
  const [url, setUrl] = useState("");
  const [events, setEvents] = useState("*");
  const [secret, setSecret] = useState<string | null>(null);
  const create = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/v1/streams/{stream_id}/webhooks", {
          ...path,
          body: { url, events: events.split(/[\s,，]+/).filter(Boolean) },
        }),
      ),
    onSuccess: (data) => {
      setSecret(data.secret);
      setUrl("");
      void qc.invalidateQueries({ queryKey: ["webhooks", streamId] });
    },
  });
  const remove = useMutation({
    mutationFn: (id: number) =>
      unwrap(
        api.DELETE("/api/v1/streams/{stream_id}/webhooks/{webhook_id}", {
          params: { path: { stream_id: streamId, webhook_id: id } },
        }),
      ),
    onSettled: () => void qc.invalidateQueries({ queryKey: ["webhooks", streamId] }),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSecret(null);
    create.mutate();
  };
  return (
    <Card title={t("connect.webhooks.title")} testId="webhooks">
      <p className="muted">{t("connect.webhooks.help")}</p>
      <form className="row wrap" onSubmit={submit}>
        <input placeholder="https://…" value={url} onChange={(e) => setUrl(e.target.value)} required style={{ flex: 2 }} aria-label={t("connect.webhooks.url")} />
        <input value={events} onChange={(e) => setEvents(e.target.value)} style={{ flex: 1 }} aria-label={t("connect.webhooks.events")} title={t("connect.webhooks.eventsHelp")} />
        <button className="primary" disabled={create.isPending}>{t("common.add")}</button>
      </form>
      <ErrorText error={create.error} />
      {secret && (
        <div className="secret-once" data-testid="webhook-secret">
          {t("connect.webhooks.secretOnce")} <code>{secret}</code>
        </div>
      )}
      <ErrorText error={hooks.error} />
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th>URL</th>
              <th>{t("connect.webhooks.events")}</th>
              <th>{t("connect.deliveries.delivered")}</th>
              <th>{t("connect.deliveries.pending")}</th>
              <th>{t("connect.deliveries.dead")}</th>
              <th>{t("connect.deliveries.latency")}</th>
              <th>{t("connect.deliveries.lastDelivered")}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {hooks.data?.length === 0 && (
              <tr>
                <td colSpan={8} className="muted">{t("common.none")}</td>
              </tr>
            )}
            {hooks.data?.map((h) => (
              <tr key={h.id} data-testid="webhook-row">
                <td><code>{h.url}</code></td>
                <td>{h.events.join(", ")}</td>
                <td>{h.deliveries?.delivered ?? 0}</td>
                <td>{h.deliveries?.pending ?? 0}</td>
                <td className={h.deliveries?.dead ? "bad" : ""}>{h.deliveries?.dead ?? 0}</td>
                <td>{h.deliveries?.avg_latency_ms ?? "—"} ms</td>
                <td>{dateTime(h.deliveries?.last_delivered_at ?? null)}</td>
                <td>
                  <button onClick={() => remove.mutate(h.id)} disabled={remove.isPending}>{t("common.delete")}</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Card>
  );
}

function Deliveries({ streamId }: { streamId: number }) {
  const { t, time } = useI18n();
  const qc = useQueryClient();
  const [status, setStatus] = useState<"" | "pending" | "delivered" | "dead">("");
  const log = useQuery({
    queryKey: ["webhook-deliveries", streamId, status],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/streams/{stream_id}/webhook-deliveries", {
          params: { path: { stream_id: streamId }, query: { limit: 50, ...(status ? { status } : {}) } },
        }),
      ),
    refetchInterval: 3000,
  });
  const retry = useMutation({
    mutationFn: (id: number) =>
      unwrap(
        api.POST("/api/v1/streams/{stream_id}/webhook-deliveries/{delivery_id}/retry", {
          params: { path: { stream_id: streamId, delivery_id: id } },
        }),
      ),
    onSettled: () => void qc.invalidateQueries({ queryKey: ["webhook-deliveries", streamId] }),
  });
  return (
    <Card
      title={t("connect.deliveries.title")}
      testId="deliveries"
      actions={
        <select value={status} onChange={(e) => setStatus(e.target.value as typeof status)} aria-label={t("connect.deliveries.status")}>
          <option value="">{t("common.all")}</option>
          <option value="pending">{t("connect.deliveries.pending")}</option>
          <option value="delivered">{t("connect.deliveries.delivered")}</option>
          <option value="dead">{t("connect.deliveries.dead")}</option>
        </select>
      }
    >
      <ErrorText error={log.error ?? retry.error} />
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th>#</th>
              <th>{t("connect.deliveries.event")}</th>
              <th>{t("connect.deliveries.status")}</th>
              <th>{t("connect.deliveries.tries")}</th>
              <th>{t("connect.deliveries.lastError")}</th>
              <th>{t("connect.deliveries.latency")}</th>
              <th>{t("connect.deliveries.created")}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {log.data?.length === 0 && (
              <tr>
                <td colSpan={8} className="muted">{t("common.none")}</td>
              </tr>
            )}
            {log.data?.map((d) => (
              <tr key={d.id} data-testid="delivery-row">
                <td title={d.uid}>{d.seq}</td>
                <td>{d.event_type}</td>
                <td>
                  <span className={`badge ${DELIVERY_BADGE[d.status] ?? ""}`}>{t(`connect.deliveries.${d.status}` as MessageKey)}</span>
                </td>
                <td>{d.tries}</td>
                <td className={d.last_error ? "bad" : ""}>{d.last_error || "—"}</td>
                <td>{d.latency_ms ?? "—"} ms</td>
                <td>{time(d.created_at)}</td>
                <td>
                  {d.status === "dead" && (
                    <button onClick={() => retry.mutate(d.id)} disabled={retry.isPending}>{t("connect.deliveries.retry")}</button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Card>
  );
}

function Connectors({ streamId }: { streamId: number }) {
  const { t, time, dateTime } = useI18n();
  const qc = useQueryClient();
  const status = useConnectorStatus(streamId);
  const mappings = useQuery({
    queryKey: ["connector-mappings"],
    queryFn: () => unwrap(api.GET("/api/v1/connector-mappings")),
    staleTime: Infinity,
  });
  const [name, setName] = useState("");
  const [mapping, setMapping] = useState("");
  const [secret, setSecret] = useState("");
  // What the chosen mapping signs along with the body (e.g. TikTok Shop's app_key).
  const [params, setParams] = useState<Record<string, string>>({});
  const chosen = mappings.data?.find((m) => m.name === mapping) ?? mappings.data?.[0];
  const [open, setOpen] = useState<number | null>(null);
  const create = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/v1/streams/{stream_id}/connectors", {
          params: { path: { stream_id: streamId } },
          body: {
            name,
            mapping: chosen?.name ?? "",
            secret,
            params: Object.fromEntries((chosen?.params ?? []).map((p) => [p, params[p] ?? ""])),
          },
        }),
      ),
    onSuccess: () => {
      setName("");
      setSecret("");
      setParams({});
      void qc.invalidateQueries({ queryKey: ["connectors", streamId] });
    },
  });
  const payloads = useQuery({
    queryKey: ["connector-payloads", streamId, open],
    enabled: open !== null,
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/streams/{stream_id}/connectors/{connector_id}/payloads", {
          params: { path: { stream_id: streamId, connector_id: open ?? 0 }, query: { limit: 20 } },
        }),
      ),
  });
  return (
    <Card title={t("connect.connectors.title")} testId="connectors">
      <p className="muted">{t("connect.connectors.help")}</p>
      <form
        className="row wrap"
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <input placeholder={t("connect.connectors.name")} value={name} onChange={(e) => setName(e.target.value)} required aria-label={t("connect.connectors.name")} />
        <select value={mapping} onChange={(e) => setMapping(e.target.value)} aria-label={t("connect.connectors.mapping")}>
          {mappings.data?.map((m) => (
            <option key={m.name} value={m.name}>
              {m.platform} · {m.name} v{m.version}
            </option>
          ))}
        </select>
        <input placeholder={t("connect.connectors.secret")} value={secret} onChange={(e) => setSecret(e.target.value)} aria-label={t("connect.connectors.secret")} />
        {chosen?.params.map((p) => (
          <input
            key={p}
            placeholder={p}
            value={params[p] ?? ""}
            onChange={(e) => setParams({ ...params, [p]: e.target.value })}
            required
            aria-label={p}
          />
        ))}
        <button className="primary" disabled={create.isPending}>{t("common.add")}</button>
      </form>
      <ErrorText error={create.error ?? status.error} />
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th>{t("connect.connectors.name")}</th>
              <th>{t("connect.connectors.state")}</th>
              <th>{t("connect.lastEvent")}</th>
              <th>{t("connect.lag")}</th>
              <th>{t("connect.errorRate")}</th>
              <th>{t("connect.key")}</th>
              <th>{t("connect.connectors.inbound")}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {status.data?.length === 0 && (
              <tr>
                <td colSpan={8} className="muted">{t("common.none")}</td>
              </tr>
            )}
            {status.data?.map((c) => (
              <tr key={c.id} data-testid="connector-row">
                <td>
                  <strong>{c.name}</strong>
                  <div className="muted small">{c.mapping} v{c.mapping_version ?? "?"}</div>
                </td>
                <td>
                  <span className={`badge ${STATE_BADGE[c.state] ?? ""}`}>{t(`connect.state.${c.state}` as MessageKey)}</span>
                  {c.last_error && <div className="bad small">{c.last_error}</div>}
                </td>
                <td>{c.last_event_at ? time(c.last_event_at) : "—"}</td>
                <td>
                  {formatLag(c.lag_ms)}
                  <ClockSkew ms={c.clock_skew_ms} />
                </td>
                <td className={c.error_rate > 0.1 ? "bad" : ""}>
                  {(c.error_rate * 100).toFixed(0)}% ({c.errors_15m}/{c.received_15m})
                </td>
                <td>
                  <code>{c.ingest_key_prefix ?? "—"}…</code>
                  {c.ingest_key_revoked && <span className="bad"> {t("connect.state.key_revoked")}</span>}
                </td>
                <td><code className="small">{c.inbound_path}</code></td>
                <td>
                  <button onClick={() => setOpen(open === c.id ? null : c.id)}>{t("connect.connectors.payloads")}</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {open !== null && (
        <div data-testid="connector-payloads">
          <h3 className="small-head">{t("connect.connectors.payloads")}</h3>
          <ErrorText error={payloads.error} />
          {payloads.data?.length === 0 && <p className="muted">{t("common.none")}</p>}
          <ul className="plain-list">
            {payloads.data?.map((p) => (
              <li key={p.id}>
                <span className={`badge ${p.outcome === "mapped" ? "badge-listed" : "badge-warn"}`}>{t(`connect.outcome.${p.outcome}` as MessageKey)}</span>{" "}
                {dateTime(p.received_at)} · {p.reason}
                {p.body && <pre className="payload">{p.body}</pre>}
              </li>
            ))}
          </ul>
        </div>
      )}
    </Card>
  );
}

function Rehearsal({ streamId }: { streamId: number }) {
  const { t } = useI18n();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const stream = useStream(streamId);
  const [source, setSource] = useState("");
  const [speed, setSpeed] = useState(5);
  const copy = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/v1/streams/{stream_id}/rehearsals", {
          params: { path: { stream_id: streamId } },
          body: { start: true },
        }),
      ),
    onSuccess: (data) => navigate(`/streams/${data.id}/control`),
  });
  const replay = useQuery({
    queryKey: ["replay", streamId],
    enabled: !!stream.data?.is_rehearsal,
    queryFn: () =>
      unwrap(api.GET("/api/v1/streams/{stream_id}/replay", { params: { path: { stream_id: streamId } } })),
    retry: false,
    refetchInterval: (q) => (q.state.data?.state === "running" ? 1000 : false),
  });
  const start = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/v1/streams/{stream_id}/replay", {
          params: { path: { stream_id: streamId } },
          body: { source_stream_id: Number(source), speed },
        }),
      ),
    onSuccess: (data) => qc.setQueryData(["replay", streamId], data),
  });
  const stop = useMutation({
    mutationFn: () =>
      unwrap(api.DELETE("/api/v1/streams/{stream_id}/replay", { params: { path: { stream_id: streamId } } })),
    onSuccess: (data) => qc.setQueryData(["replay", streamId], data),
  });
  const isRehearsal = !!stream.data?.is_rehearsal;
  return (
    <Card title={t("connect.rehearsal.title")} testId="rehearsal">
      {!isRehearsal && (
        <>
          <p className="muted">{t("connect.rehearsal.help")}</p>
          <button className="primary" onClick={() => copy.mutate()} disabled={copy.isPending} data-testid="make-rehearsal">
            {t("connect.rehearsal.make")}
          </button>
          <ErrorText error={copy.error} />
        </>
      )}
      {isRehearsal && (
        <>
          <p>
            <span className="badge badge-warn">{t("connect.rehearsal.badge")}</span>{" "}
            {t("connect.rehearsal.of", { id: stream.data?.rehearsal_of ?? "—" })}
          </p>
          <form
            className="row wrap"
            onSubmit={(e) => {
              e.preventDefault();
              start.mutate();
            }}
          >
            <input type="number" min={1} value={source} onChange={(e) => setSource(e.target.value)} placeholder={t("connect.rehearsal.source")} aria-label={t("connect.rehearsal.source")} required />
            <label className="row">
              {t("connect.rehearsal.speed")} {speed}×
              <input type="range" min={1} max={20} value={speed} onChange={(e) => setSpeed(Number(e.target.value))} />
            </label>
            <button className="primary" disabled={start.isPending}>{t("connect.rehearsal.replay")}</button>
            {replay.data?.state === "running" && (
              <button type="button" onClick={() => stop.mutate()}>{t("connect.rehearsal.stop")}</button>
            )}
          </form>
          <ErrorText error={start.error ?? stop.error} />
          {replay.data && (
            <p data-testid="replay-progress">
              {t(`connect.replay.${replay.data.state}` as MessageKey)} · {replay.data.sent}/{replay.data.total} · {replay.data.speed}×
              {replay.data.resumed > 0 && <span className="muted"> · {t("connect.replay.resumed", { n: replay.data.resumed })}</span>}
              {replay.data.error && <span className="bad"> {replay.data.error}</span>}
            </p>
          )}
        </>
      )}
    </Card>
  );
}
