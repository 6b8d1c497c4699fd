import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, unwrap, type Schemas } from "../../api/client";
import { Card, ErrorText, isMissing, Pending } from "../../components/ui";
import { useI18n, type MessageKey } from "../../i18n";

type Item = Schemas["ChecklistItemOut"];

export function ChecklistPlan({ streamId }: { streamId: number }) {
  const { t, dateTime } = useI18n();
  const qc = useQueryClient();
  const list = useQuery({
    queryKey: ["checklist", streamId],
    queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/checklist", { params: { path: { stream_id: streamId } } })),
  });
  const refresh = () => {
    void qc.invalidateQueries({ queryKey: ["checklist", streamId] });
    void qc.invalidateQueries({ queryKey: ["readiness", streamId] });
  };
  const check = useMutation({
    mutationFn: ({ id, status }: { id: number; status: Item["status"] }) =>
      unwrap(api.PATCH("/api/v1/streams/{stream_id}/checklist/{item_id}", { params: { path: { stream_id: streamId, item_id: id } }, body: { status } })),
    onSettled: refresh,
  });
  const defaults = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/streams/{stream_id}/checklist/defaults", { params: { path: { stream_id: streamId } } })),
    onSettled: refresh,
  });
  const [label, setLabel] = useState("");
  const add = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/streams/{stream_id}/checklist", { params: { path: { stream_id: streamId } }, body: { kind: "custom", label } })),
    onSuccess: () => setLabel(""),
    onSettled: refresh,
  });
  return (
    <Card
      title={t("plan.checklist")}
      testId="checklist"
      actions={
        <button className="small" onClick={() => defaults.mutate()} disabled={defaults.isPending}>
          {t("plan.addDefaults")}
        </button>
      }
    >
      {isMissing(list.error) ? <Pending what={t("plan.checklist")} /> : <ErrorText error={list.error ?? check.error ?? add.error} />}
      {list.data && <p className={list.data.complete ? "ready-yes" : "ready-no"}>{list.data.complete ? t("plan.checklistDone") : t("plan.checklistOpen")}</p>}
      <table>
        <tbody>
          {(list.data?.items ?? []).map((i) => (
            <tr key={i.id}>
              <td>{i.label || t(`check.${i.kind}` as MessageKey)}</td>
              <td>
                {(["ok", "failed", "pending"] as const).map((s) => (
                  <button key={s} className={`small ${i.status === s ? (s === "ok" ? "good" : s === "failed" ? "danger" : "primary") : ""}`} onClick={() => check.mutate({ id: i.id, status: s })}>
                    {t(`check.status.${s}`)}
                  </button>
                ))}
              </td>
              <td className="muted small">{i.checked_at ? dateTime(i.checked_at) : ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <form
        className="row"
        style={{ marginTop: 10 }}
        onSubmit={(e) => {
          e.preventDefault();
          add.mutate();
        }}
      >
        <input value={label} onChange={(e) => setLabel(e.target.value)} placeholder={t("plan.customItem")} required style={{ flex: 1 }} />
        <button disabled={add.isPending}>{t("common.add")}</button>
      </form>
    </Card>
  );
}
