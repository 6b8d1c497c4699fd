// Ingest keys of a stream, for the platform connectors: create (the key is shown once,
// with a copyable example request), list with last use, revoke.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, unwrap, type Schemas } from "../../api/client";
import { Card, ErrorText } from "../../components/ui";
import { useI18n } from "../../i18n";
import { ConfirmDialog, errorsOf, Field, FormError } from "../common/forms";

type Key = Schemas["IngestKeyOut"];

export function exampleRequest(streamId: number, key: string): string {
  const origin = window.location.origin;
  return [
    `curl -X POST ${origin}/api/v1/streams/${streamId}/events \\`,
    `  -H 'Content-Type: application/json' \\`,
    `  -H 'X-Ingest-Key: ${key}' \\`,
    `  -d '{"events": [{"type": "viewer_join", "user_id": "u1", "event_id": "e1", "source": "feed"}, {"type": "comment", "user_id": "u1", "event_id": "e2", "text": "有优惠吗"}]}'`,
  ].join("\n");
}

export function IngestKeys({ streamId }: { streamId: number }) {
  const { t, dateTime } = useI18n();
  const qc = useQueryClient();
  const keys = useQuery({
    queryKey: ["ingest-keys", streamId],
    queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/ingest-keys", { params: { path: { stream_id: streamId } } })),
  });
  const refresh = () => void qc.invalidateQueries({ queryKey: ["ingest-keys", streamId] });
  const [label, setLabel] = useState("");
  const [created, setCreated] = useState<{ key: string; prefix: string } | null>(null);
  const [revoking, setRevoking] = useState<Key | null>(null);
  const [copied, setCopied] = useState(false);
  const create = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/streams/{stream_id}/ingest-keys", { params: { path: { stream_id: streamId } }, body: { label } })),
    onSuccess: (k) => {
      setCreated({ key: k.key, prefix: k.prefix });
      setCopied(false);
      setLabel("");
    },
    onSettled: refresh,
  });
  const revoke = useMutation({
    mutationFn: (id: number) =>
      unwrap(api.DELETE("/api/v1/streams/{stream_id}/ingest-keys/{key_id}", { params: { path: { stream_id: streamId, key_id: id } } })),
    onSettled: () => {
      setRevoking(null);
      refresh();
    },
  });
  const errors = errorsOf(create.error);
  function submit(e: FormEvent) {
    e.preventDefault();
    create.mutate();
  }
  const example = created ? exampleRequest(streamId, created.key) : "";
  return (
    <div className="col">
      <Card title={t("ingest.title")} testId="ingest-keys">
        <p className="muted small">{t("ingest.explain")}</p>
        <ErrorText error={keys.error ?? revoke.error} />
        <table data-testid="ingest-table">
          <thead>
            <tr>
              <th>{t("ingest.prefix")}</th>
              <th>{t("ingest.label")}</th>
              <th>{t("ingest.created")}</th>
              <th>{t("ingest.lastUsed")}</th>
              <th>{t("people.state")}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {(keys.data ?? []).map((k) => (
              <tr key={k.id} data-testid="ingest-row">
                <td>
                  <code>{k.prefix}…</code>
                </td>
                <td>{k.label || "—"}</td>
                <td className="small">{dateTime(k.created_at)}</td>
                <td className="small">{k.last_used_at ? dateTime(k.last_used_at) : t("ingest.neverUsed")}</td>
                <td className={k.revoked_at ? "bad" : "good"}>{k.revoked_at ? t("ingest.revokedAt", { at: dateTime(k.revoked_at) }) : t("people.active")}</td>
                <td>
                  {!k.revoked_at && (
                    <button className="small danger" onClick={() => setRevoking(k)} data-testid="ingest-revoke">
                      {t("ingest.revoke")}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <form className="row" onSubmit={submit} style={{ marginTop: 12, alignItems: "flex-end" }}>
          <Field label={t("ingest.label")} name="label" errors={errors}>
            <input value={label} onChange={(e) => setLabel(e.target.value)} placeholder={t("ingest.labelHint")} data-testid="ingest-label" />
          </Field>
          <button className="primary" disabled={create.isPending} data-testid="ingest-create">
            {t("ingest.create")}
          </button>
        </form>
        <FormError error={create.error} shown={errors} />
      </Card>
      {created && (
        <Card title={t("ingest.shownOnce")} testId="ingest-created">
          <div className="pf-secret" data-testid="ingest-key-value">{created.key}</div>
          <p className="muted small">{t("ingest.example")}</p>
          <pre className="pf-secret" data-testid="ingest-example">{example}</pre>
          <div className="row">
            <button
              className="small"
              onClick={() => {
                void navigator.clipboard?.writeText(example).then(() => setCopied(true), () => setCopied(false));
              }}
              data-testid="ingest-copy"
            >
              {t("ingest.copyExample")}
            </button>
            {copied && <span className="good small">{t("pg.copied")}</span>}
            <button className="small" onClick={() => setCreated(null)}>
              {t("people.passwordNoted")}
            </button>
          </div>
        </Card>
      )}
      {revoking && (
        <ConfirmDialog
          title={t("ingest.confirmRevoke", { prefix: revoking.prefix, label: revoking.label || "—" })}
          confirmLabel={t("ingest.revoke")}
          danger
          busy={revoke.isPending}
          onCancel={() => setRevoking(null)}
          onConfirm={() => revoke.mutate(revoking.id)}
        >
          <p>{t("ingest.revokeBody")}</p>
        </ConfirmDialog>
      )}
    </div>
  );
}
