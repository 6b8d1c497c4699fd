// Warm-ups (预热): channel, publish time, content, exclusive offer, published; and the
// reservations (预约) with the reminder list.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, unwrap, type Schemas } from "../../api/client";
import { Card, ErrorText } from "../../components/ui";
import { useI18n, type MessageKey } from "../../i18n";
import { ConfirmDialog, Field, FormActions, FormError, errorsOf, fromLocalInput, toLocalInput } from "../common/forms";

type Channel = Schemas["WarmupIn"]["channel"];
type Warmup = Schemas["WarmupOut"];
export const CHANNELS: Channel[] = ["short_video", "wechat", "weibo", "community_group", "shop_homepage", "app_push", "other"];

export function Warmups({ streamId, readOnly }: { streamId: number; readOnly?: boolean }) {
  const { t, dateTime } = useI18n();
  const qc = useQueryClient();
  const list = useQuery({
    queryKey: ["warmups", streamId],
    queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/warmups", { params: { path: { stream_id: streamId } } })),
  });
  const refresh = () => {
    void qc.invalidateQueries({ queryKey: ["warmups", streamId] });
    void qc.invalidateQueries({ queryKey: ["readiness", streamId] });
  };
  const [editing, setEditing] = useState<Warmup | null>(null);
  const [deleting, setDeleting] = useState<Warmup | null>(null);
  const patch = useMutation({
    mutationFn: ({ id, published }: { id: number; published: boolean }) =>
      unwrap(api.PATCH("/api/v1/streams/{stream_id}/warmups/{warmup_id}", { params: { path: { stream_id: streamId, warmup_id: id } }, body: { published } })),
    onSettled: refresh,
  });
  const del = useMutation({
    mutationFn: (id: number) =>
      unwrap(api.DELETE("/api/v1/streams/{stream_id}/warmups/{warmup_id}", { params: { path: { stream_id: streamId, warmup_id: id } } })),
    onSettled: () => {
      setDeleting(null);
      refresh();
    },
  });
  return (
    <div className="col">
      <Card title={t("warmup.title")} testId="warmups">
        <ErrorText error={list.error ?? patch.error ?? del.error} />
        {list.data?.length === 0 && <p className="muted">{t("warmup.empty")}</p>}
        {(list.data?.length ?? 0) > 0 && (
          <table>
            <thead>
              <tr>
                <th>{t("warmup.channel")}</th>
                <th>{t("warmup.headline")}</th>
                <th>{t("warmup.publishAt")}</th>
                <th>{t("warmup.offer")}</th>
                <th>{t("warmup.published")}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {(list.data ?? []).map((w) => (
                <tr key={w.id} data-testid="warmup-row">
                  <td>{t(`channel.${w.channel}` as MessageKey)}</td>
                  <td>
                    {w.title}
                    {w.content && <div className="muted small">{w.content}</div>}
                    {w.link && (
                      <a className="small" href={w.link} target="_blank" rel="noreferrer">
                        {w.link}
                      </a>
                    )}
                  </td>
                  <td className="small">{dateTime(w.publish_at)}</td>
                  <td>{w.exclusive_offer || "—"}</td>
                  <td>
                    <input type="checkbox" checked={w.published} disabled={readOnly} onChange={(e) => patch.mutate({ id: w.id, published: e.target.checked })} aria-label={t("warmup.published")} />
                  </td>
                  <td className="row">
                    {!readOnly && (
                      <>
                        <button className="small" onClick={() => setEditing(w)}>
                          {t("pg.edit")}
                        </button>
                        <button className="small" onClick={() => setDeleting(w)}>
                          {t("common.delete")}
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
      {!readOnly && <WarmupForm key={editing?.id ?? "new"} streamId={streamId} warmup={editing} onDone={() => { setEditing(null); refresh(); }} />}
      {deleting && (
        <ConfirmDialog
          title={t("warmup.confirmDelete", { title: deleting.title })}
          confirmLabel={t("common.delete")}
          danger
          busy={del.isPending}
          onCancel={() => setDeleting(null)}
          onConfirm={() => del.mutate(deleting.id)}
        />
      )}
      {/* reservations are the controllers' and service's (the host does not see them) */}
      {!readOnly && <Reservations streamId={streamId} />}
    </div>
  );
}

function WarmupForm({ streamId, warmup, onDone }: { streamId: number; warmup: Warmup | null; onDone: () => void }) {
  const { t } = useI18n();
  const [f, setF] = useState({
    channel: warmup?.channel ?? ("short_video" as Channel),
    title: warmup?.title ?? "",
    publish_at: toLocalInput(warmup?.publish_at),
    content: warmup?.content ?? "",
    link: warmup?.link ?? "",
    exclusive_offer: warmup?.exclusive_offer ?? "",
    published: warmup?.published ?? false,
  });
  const save = useMutation({
    mutationFn: () => {
      const body = { ...f, publish_at: fromLocalInput(f.publish_at) ?? "" };
      return warmup
        ? unwrap(api.PATCH("/api/v1/streams/{stream_id}/warmups/{warmup_id}", { params: { path: { stream_id: streamId, warmup_id: warmup.id } }, body }))
        : unwrap(api.POST("/api/v1/streams/{stream_id}/warmups", { params: { path: { stream_id: streamId } }, body }));
    },
    onSuccess: onDone,
  });
  const errors = errorsOf(save.error);
  function submit(e: FormEvent) {
    e.preventDefault();
    save.mutate();
  }
  return (
    <Card title={warmup ? t("warmup.edit", { title: warmup.title }) : t("warmup.new")} testId="warmup-form">
      <form onSubmit={submit} className="col">
        <div className="pf-grid">
          <Field label={t("warmup.channel")} name="channel" errors={errors}>
            <select value={f.channel} onChange={(e) => setF({ ...f, channel: e.target.value as Channel })} data-testid="wu-channel">
              {CHANNELS.map((c) => (
                <option key={c} value={c}>
                  {t(`channel.${c}` as MessageKey)}
                </option>
              ))}
            </select>
          </Field>
          <Field label={t("warmup.headline")} name="title" errors={errors}>
            <input value={f.title} onChange={(e) => setF({ ...f, title: e.target.value })} data-testid="wu-title" />
          </Field>
          <Field label={t("warmup.publishAt")} name="publish_at" errors={errors}>
            <input type="datetime-local" value={f.publish_at} onChange={(e) => setF({ ...f, publish_at: e.target.value })} data-testid="wu-publish" />
          </Field>
          <Field label={t("warmup.offer")} name="exclusive_offer" errors={errors}>
            <input value={f.exclusive_offer} onChange={(e) => setF({ ...f, exclusive_offer: e.target.value })} data-testid="wu-offer" />
          </Field>
          <Field label={t("warmup.link")} name="link" errors={errors}>
            <input value={f.link} onChange={(e) => setF({ ...f, link: e.target.value })} placeholder="https://" data-testid="wu-link" />
          </Field>
          <label className="inline" style={{ alignSelf: "end" }}>
            <input type="checkbox" checked={f.published} onChange={(e) => setF({ ...f, published: e.target.checked })} />
            {t("warmup.published")}
          </label>
          <Field label={t("warmup.content")} name="content" errors={errors} wide>
            <textarea value={f.content} onChange={(e) => setF({ ...f, content: e.target.value })} rows={3} data-testid="wu-content" />
          </Field>
        </div>
        <FormActions
          editing={!!warmup}
          newLabel={t("common.add")}
          pending={save.isPending}
          error={save.error}
          shown={errors}
          onCancel={onDone}
          testId="wu-submit"
        />
      </form>
    </Card>
  );
}

function Reservations({ streamId }: { streamId: number }) {
  const { t, dateTime } = useI18n();
  const qc = useQueryClient();
  const all = useQuery({
    queryKey: ["reservations", streamId],
    retry: false,
    queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/reservations", { params: { path: { stream_id: streamId } } })),
  });
  const reminders = useQuery({
    queryKey: ["reservations", streamId, "reminders"],
    retry: false,
    queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/reservations/reminders", { params: { path: { stream_id: streamId } } })),
  });
  const refresh = () => void qc.invalidateQueries({ queryKey: ["reservations", streamId] });
  const [f, setF] = useState({ viewer_ref: "", name: "", contact: "", channel: "" });
  const add = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/v1/streams/{stream_id}/reservations", {
          params: { path: { stream_id: streamId } },
          body: { ...f, channel: (f.channel || null) as Channel | null },
        }),
      ),
    onSuccess: () => setF({ viewer_ref: "", name: "", contact: "", channel: "" }),
    onSettled: refresh,
  });
  const sent = useMutation({
    mutationFn: (ids: number[]) =>
      unwrap(api.POST("/api/v1/streams/{stream_id}/reservations/reminders/sent", { params: { path: { stream_id: streamId } }, body: { reservation_ids: ids } })),
    onSettled: refresh,
  });
  const errors = errorsOf(add.error);
  const due = reminders.data ?? [];
  function submit(e: FormEvent) {
    e.preventDefault();
    add.mutate();
  }
  return (
    <Card title={t("reserve.title")} testId="reservations">
      <ErrorText error={all.error ?? sent.error} />
      {all.data && (
        <p data-testid="reserve-counts">
          {t("reserve.counts", { total: all.data.total, reminded: all.data.reminded })}{" "}
          {Object.entries(all.data.by_channel).map(([c, n]) => (
            <span key={c} className="badge" style={{ marginRight: 4 }}>
              {t(`channel.${c}` as MessageKey)} {n}
            </span>
          ))}
        </p>
      )}
      <h3 className="small muted">{t("reserve.reminders", { n: due.length })}</h3>
      {due.length > 0 && (
        <>
          <table data-testid="reminder-list">
            <tbody>
              {due.map((r) => (
                <tr key={r.id}>
                  <td>{r.name || r.viewer_ref}</td>
                  <td>{r.contact || "—"}</td>
                  <td>{r.channel ? t(`channel.${r.channel}` as MessageKey) : "—"}</td>
                  <td className="muted small">{dateTime(r.created_at)}</td>
                  <td>
                    <button className="small" onClick={() => sent.mutate([r.id])} disabled={sent.isPending}>
                      {t("reserve.markSent")}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <button className="small" onClick={() => sent.mutate(due.map((r) => r.id))} disabled={sent.isPending} style={{ marginTop: 6 }}>
            {t("reserve.markAllSent", { n: due.length })}
          </button>
        </>
      )}
      {(
        <form onSubmit={submit} className="col" style={{ marginTop: 12 }}>
          <div className="pf-grid">
            <Field label={t("reserve.viewerRef")} name="viewer_ref" errors={errors}>
              <input value={f.viewer_ref} onChange={(e) => setF({ ...f, viewer_ref: e.target.value })} data-testid="rs-ref" />
            </Field>
            <Field label={t("reserve.name")} name="name" errors={errors}>
              <input value={f.name} onChange={(e) => setF({ ...f, name: e.target.value })} />
            </Field>
            <Field label={t("reserve.contact")} name="contact" errors={errors}>
              <input value={f.contact} onChange={(e) => setF({ ...f, contact: e.target.value })} />
            </Field>
            <Field label={t("warmup.channel")} name="channel" errors={errors}>
              <select value={f.channel} onChange={(e) => setF({ ...f, channel: e.target.value })}>
                <option value="">—</option>
                {CHANNELS.map((c) => (
                  <option key={c} value={c}>
                    {t(`channel.${c}` as MessageKey)}
                  </option>
                ))}
              </select>
            </Field>
          </div>
          <div className="row">
            <button disabled={add.isPending} data-testid="rs-submit">
              {t("reserve.add")}
            </button>
          </div>
          <FormError error={add.error} shown={errors} />
        </form>
      )}
    </Card>
  );
}
