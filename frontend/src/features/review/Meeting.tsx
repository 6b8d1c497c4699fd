// The review meeting (复盘会): findings, improvement actions with owner, due date and
// status (all editable; open ones carry over to the team's next stream's planning), and
// highlight markers for the clip editors (automatic GMV / comment peaks plus manual ones).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, unwrap, type Schemas } from "../../api/client";
import { Card, ErrorText, formatDuration } from "../../components/ui";
import { useI18n, type MessageKey } from "../../i18n";

type ActionStatus = Schemas["ActionStatus"];
const STATUSES: ActionStatus[] = ["open", "in_progress", "done"];

export function useTeam(streamId: number) {
  return useQuery({
    queryKey: ["team", streamId],
    queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/team", { params: { path: { stream_id: streamId } } })),
  });
}

export function ReviewMeeting({ streamId }: { streamId: number }) {
  const { t, dateTime } = useI18n();
  const qc = useQueryClient();
  const path = { params: { path: { stream_id: streamId } } };
  const findings = useQuery({ queryKey: ["findings", streamId], queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/review/findings", path)) });
  const actions = useQuery({ queryKey: ["review-actions", streamId], queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/review/actions", path)) });
  const team = useTeam(streamId);
  const people = team.data ?? [];
  const who = (id: number | null) => {
    const m = people.find((p) => p.user_id === id);
    return m ? (m.display_name || m.username || `#${m.user_id}`) : "";
  };
  const [text, setText] = useState("");
  const [kind, setKind] = useState<Schemas["FindingKind"]>("problem");
  const [title, setTitle] = useState("");
  const [owner, setOwner] = useState("");
  const [due, setDue] = useState("");
  const [fromFinding, setFromFinding] = useState("");
  const addFinding = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/streams/{stream_id}/review/findings", { ...path, body: { kind, text } })),
    onSuccess: () => {
      setText("");
      void qc.invalidateQueries({ queryKey: ["findings", streamId] });
    },
  });
  const delFinding = useMutation({
    mutationFn: (id: number) =>
      unwrap(api.DELETE("/api/v1/streams/{stream_id}/review/findings/{finding_id}", { params: { path: { stream_id: streamId, finding_id: id } } })),
    onSettled: () => void qc.invalidateQueries({ queryKey: ["findings", streamId] }),
  });
  const addAction = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/v1/streams/{stream_id}/review/actions", {
          ...path,
          body: { title, due_date: due || null, owner_id: owner ? Number(owner) : null, finding_id: fromFinding ? Number(fromFinding) : null },
        }),
      ),
    onSuccess: () => {
      setTitle("");
      setFromFinding("");
      void qc.invalidateQueries({ queryKey: ["review-actions", streamId] });
    },
  });
  const patch = useMutation({
    mutationFn: ({ id, body }: { id: number; body: Schemas["ActionPatch"] }) =>
      unwrap(api.PATCH("/api/v1/streams/{stream_id}/review/actions/{action_id}", { params: { path: { stream_id: streamId, action_id: id } }, body })),
    onSettled: () => void qc.invalidateQueries({ queryKey: ["review-actions", streamId] }),
  });
  return (
    <div className="grid-2">
      <Card title={t("review.findings")} testId="review-findings">
        <ErrorText error={findings.error ?? addFinding.error ?? delFinding.error} />
        {(findings.data ?? []).map((f) => (
          <div key={f.id} className={`finding ${f.kind === "problem" ? "block" : "warn"} row`}>
            <strong>{t(`fkind.${f.kind}`)}</strong>
            <span style={{ flex: 1 }}>
              {f.text}
              {f.diagnosis_code && <span className="badge" style={{ marginLeft: 6 }}>{f.diagnosis_code}</span>}
            </span>
            <span className="muted small">{dateTime(f.created_at)}</span>
            <button className="small" title={t("common.delete")} onClick={() => delFinding.mutate(f.id)}>
              ✕
            </button>
          </div>
        ))}
        {findings.data?.length === 0 && <p className="muted">{t("common.none")}</p>}
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            addFinding.mutate();
          }}
        >
          <select value={kind} onChange={(e) => setKind(e.target.value as typeof kind)}>
            {(["went_well", "problem", "idea"] as const).map((k) => (
              <option key={k} value={k}>
                {t(`fkind.${k}`)}
              </option>
            ))}
          </select>
          <input value={text} onChange={(e) => setText(e.target.value)} required style={{ flex: 1 }} placeholder={t("review.findingPlaceholder")} />
          <button disabled={addFinding.isPending}>{t("common.add")}</button>
        </form>
      </Card>
      <Card title={t("review.actions")} testId="review-actions">
        <ErrorText error={actions.error ?? addAction.error ?? patch.error} />
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>{t("review.action")}</th>
                <th>{t("review.owner")}</th>
                <th>{t("review.due")}</th>
                <th>{t("review.status")}</th>
              </tr>
            </thead>
            <tbody>
              {(actions.data ?? []).map((a) => (
                <tr key={a.id} data-testid="review-action">
                  <td>{a.title}</td>
                  <td>
                    <select value={a.owner_id ?? ""} onChange={(e) => patch.mutate({ id: a.id, body: { owner_id: e.target.value ? Number(e.target.value) : null } })}>
                      <option value="">—</option>
                      {people.map((p) => (
                        <option key={p.user_id} value={p.user_id}>
                          {who(p.user_id)} · {t(`role.${p.role}`)}
                        </option>
                      ))}
                    </select>
                  </td>
                  <td>
                    <input
                      type="date"
                      className={a.overdue ? "bad" : ""}
                      value={a.due_date ?? ""}
                      onChange={(e) => patch.mutate({ id: a.id, body: { due_date: e.target.value || null } })}
                    />
                    {a.overdue && <span className="badge badge-bad">{t("review.overdue")}</span>}
                  </td>
                  <td>
                    <select value={a.status} onChange={(e) => patch.mutate({ id: a.id, body: { status: e.target.value as ActionStatus } })}>
                      {STATUSES.map((s) => (
                        <option key={s} value={s}>
                          {t(`astatus.${s}`)}
                        </option>
                      ))}
                    </select>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <form
          className="row"
          style={{ marginTop: 8 }}
          onSubmit={(e) => {
            e.preventDefault();
            addAction.mutate();
          }}
        >
          <input value={title} onChange={(e) => setTitle(e.target.value)} required style={{ flex: 1, minWidth: 160 }} placeholder={t("review.actionPlaceholder")} />
          <select value={owner} onChange={(e) => setOwner(e.target.value)} aria-label={t("review.owner")}>
            <option value="">{t("review.owner")}</option>
            {people.map((p) => (
              <option key={p.user_id} value={p.user_id}>
                {who(p.user_id)}
              </option>
            ))}
          </select>
          <input type="date" value={due} onChange={(e) => setDue(e.target.value)} aria-label={t("review.due")} />
          {(findings.data ?? []).length > 0 && (
            <select value={fromFinding} onChange={(e) => setFromFinding(e.target.value)} aria-label={t("review.fromFinding")}>
              <option value="">{t("review.fromFinding")}</option>
              {(findings.data ?? []).map((f) => (
                <option key={f.id} value={f.id}>
                  {f.text.slice(0, 30)}
                </option>
              ))}
            </select>
          )}
          <button disabled={addAction.isPending}>{t("common.add")}</button>
        </form>
        <p className="muted small">{t("review.carryOverHint")}</p>
      </Card>
    </div>
  );
}

function toLocalInput(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function Highlights({ streamId }: { streamId: number }) {
  const { t, dateTime } = useI18n();
  const qc = useQueryClient();
  const path = { params: { path: { stream_id: streamId } } };
  const marks = useQuery({ queryKey: ["highlights", streamId], queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/highlights", path)) });
  const [at, setAt] = useState(() => toLocalInput(new Date()));
  const [note, setNote] = useState("");
  const [duration, setDuration] = useState("60");
  const add = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/v1/streams/{stream_id}/highlights", {
          ...path,
          body: { at: new Date(at).toISOString(), note, duration_seconds: Number(duration) },
        }),
      ),
    onSuccess: () => {
      setNote("");
      void qc.invalidateQueries({ queryKey: ["highlights", streamId] });
    },
  });
  const del = useMutation({
    mutationFn: (id: number) =>
      unwrap(api.DELETE("/api/v1/streams/{stream_id}/highlights/{highlight_id}", { params: { path: { stream_id: streamId, highlight_id: id } } })),
    onSettled: () => void qc.invalidateQueries({ queryKey: ["highlights", streamId] }),
  });
  const list = [...(marks.data ?? [])].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  return (
    <Card title={t("review.highlights")} testId="review-highlights">
      <ErrorText error={marks.error ?? add.error ?? del.error} />
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th>{t("review.hlKind")}</th>
              <th>{t("review.hlAt")}</th>
              <th className="num">{t("review.hlOffset")}</th>
              <th className="num">{t("review.hlDuration")}</th>
              <th>{t("review.hlNote")}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.map((h, i) => (
              <tr key={h.id ?? `auto-${i}`} data-testid="highlight">
                <td>
                  <span className={`badge ${h.kind === "manual" ? "" : "badge-explaining"}`}>{t(`hl.${h.kind}` as MessageKey)}</span>
                </td>
                <td>{dateTime(h.at)}</td>
                <td className="num">{h.offset_seconds !== null ? formatDuration(h.offset_seconds) : "—"}</td>
                <td className="num">{formatDuration(h.duration_seconds)}</td>
                <td>{h.kind === "manual" ? h.note : `${t(`hl.${h.kind}` as MessageKey)}: ${h.value ?? ""}`}</td>
                <td>
                  {h.id !== null && (
                    <button className="small" onClick={() => h.id !== null && del.mutate(h.id)}>
                      ✕
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {marks.data?.length === 0 && <p className="muted">{t("common.none")}</p>}
      <form
        className="row"
        style={{ marginTop: 8 }}
        onSubmit={(e) => {
          e.preventDefault();
          add.mutate();
        }}
      >
        <input type="datetime-local" value={at} onChange={(e) => setAt(e.target.value)} required aria-label={t("review.hlAt")} />
        <select value={duration} onChange={(e) => setDuration(e.target.value)} aria-label={t("review.hlDuration")}>
          {["30", "60", "120", "300"].map((d) => (
            <option key={d} value={d}>
              {formatDuration(Number(d))}
            </option>
          ))}
        </select>
        <input value={note} onChange={(e) => setNote(e.target.value)} style={{ flex: 1 }} placeholder={t("review.hlPlaceholder")} data-testid="highlight-note" />
        <button disabled={add.isPending}>{t("review.hlAdd")}</button>
      </form>
    </Card>
  );
}
