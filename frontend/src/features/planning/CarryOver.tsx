// Improvement actions still open from the team's earlier streams (复盘遗留), shown while
// planning this one; status is editable here too.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../../api/client";
import { Card, ErrorText } from "../../components/ui";
import { useI18n } from "../../i18n";

export function CarryOver({ streamId }: { streamId: number }) {
  const { t } = useI18n();
  const qc = useQueryClient();
  const carry = useQuery({
    queryKey: ["carry-over", streamId],
    queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/review/carry-over", { params: { path: { stream_id: streamId } } })),
  });
  const patch = useMutation({
    mutationFn: ({ stream, id, status }: { stream: number; id: number; status: Schemas["ActionStatus"] }) =>
      unwrap(api.PATCH("/api/v1/streams/{stream_id}/review/actions/{action_id}", { params: { path: { stream_id: stream, action_id: id } }, body: { status } })),
    onSettled: () => void qc.invalidateQueries({ queryKey: ["carry-over", streamId] }),
  });
  const list = carry.data?.actions ?? [];
  if (carry.error === null && list.length === 0 && carry.data) {
    return (
      <p className="muted small" data-testid="carry-over">
        {t("carry.none")}
      </p>
    );
  }
  return (
    <Card title={t("carry.title")} testId="carry-over">
      <ErrorText error={carry.error ?? patch.error} />
      <table>
        <tbody>
          {list.map((a) => (
            <tr key={a.id}>
              <td>{a.title}</td>
              <td className="muted small">
                {t("carry.from")} {a.stream_title}
              </td>
              <td className={a.overdue ? "bad" : "muted"}>
                {a.due_date ?? ""} {a.overdue && <span className="badge badge-bad">{t("review.overdue")}</span>}
              </td>
              <td>
                <select value={a.status} onChange={(e) => patch.mutate({ stream: a.stream_id, id: a.id, status: e.target.value as Schemas["ActionStatus"] })}>
                  {(["open", "in_progress", "done"] as const).map((s) => (
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
    </Card>
  );
}
