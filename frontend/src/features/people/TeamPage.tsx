// A stream's team: who works on it and as what (host, controller, service, analyst).
// The stream's controllers and admins change it; every member can see it.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, unwrap, type Schemas } from "../../api/client";
import { useStreamRole } from "../../auth/roles";
import { useStream } from "../../components/layout";
import { Card, ErrorText } from "../../components/ui";
import { useI18n, type MessageKey } from "../../i18n";
import { isClosed } from "../lifecycle/Lifecycle";
import { ConfirmDialog, errorsOf, Field, FormError } from "../common/forms";

type TeamRole = Schemas["TeamMemberIn"]["role"];
const TEAM_ROLES: TeamRole[] = ["host", "controller", "service", "analyst"];
type Member = Schemas["TeamMemberOut"];

export function TeamPage({ streamId }: { streamId: number }) {
  const { t } = useI18n();
  const qc = useQueryClient();
  const { role } = useStreamRole(streamId);
  const stream = useStream(streamId);
  const canEdit = role === "admin" || role === "controller";
  const team = useQuery({
    queryKey: ["team", streamId],
    queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/team", { params: { path: { stream_id: streamId } } })),
  });
  const directory = useQuery({
    queryKey: ["user-directory"],
    enabled: canEdit,
    queryFn: () => unwrap(api.GET("/api/v1/users/directory")),
  });
  const refresh = () => {
    void qc.invalidateQueries({ queryKey: ["team", streamId] });
    void qc.invalidateQueries({ queryKey: ["readiness", streamId] });
  };
  const put = useMutation({
    mutationFn: ({ userId, role }: { userId: number; role: TeamRole }) =>
      unwrap(api.PUT("/api/v1/streams/{stream_id}/team/{user_id}", { params: { path: { stream_id: streamId, user_id: userId } }, body: { role } })),
    onSettled: refresh,
  });
  const remove = useMutation({
    mutationFn: (userId: number) =>
      unwrap(api.DELETE("/api/v1/streams/{stream_id}/team/{user_id}", { params: { path: { stream_id: streamId, user_id: userId } } })),
    onSettled: refresh,
  });
  const [removing, setRemoving] = useState<Member | null>(null);
  const [userId, setUserId] = useState("");
  const [newRole, setNewRole] = useState<TeamRole>("host");
  const onTeam = new Set((team.data ?? []).map((m) => m.user_id));
  const candidates = (directory.data ?? []).filter((u) => !onTeam.has(u.id) && u.role !== "admin");
  const errors = errorsOf(put.error);
  const hasHost = (team.data ?? []).some((m) => m.role === "host");

  function add(e: FormEvent) {
    e.preventDefault();
    if (!userId) return;
    put.mutate({ userId: Number(userId), role: newRole }, { onSuccess: () => setUserId("") });
  }

  return (
    <Card title={t("team.title")} testId="team">
      {!hasHost && team.data && <div className="finding block">{t("team.noHost")}</div>}
      <ErrorText error={team.error ?? remove.error} />
      <table data-testid="team-table">
        <thead>
          <tr>
            <th>{t("login.username")}</th>
            <th>{t("people.displayName")}</th>
            <th>{t("team.streamRole")}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(team.data ?? []).map((m) => (
            <tr key={m.user_id} data-testid={`member-${m.username}`}>
              <td>{m.username}</td>
              <td>{m.display_name}</td>
              <td>
                {canEdit ? (
                  <select
                    value={m.role}
                    onChange={(e) => put.mutate({ userId: m.user_id, role: e.target.value as TeamRole })}
                    aria-label={t("team.streamRole")}
                  >
                    {TEAM_ROLES.map((r) => (
                      <option key={r} value={r}>
                        {t(`role.${r}` as MessageKey)}
                      </option>
                    ))}
                  </select>
                ) : (
                  t(`role.${m.role}` as MessageKey)
                )}
              </td>
              <td>
                {canEdit && (
                  <button className="small" onClick={() => setRemoving(m)} data-testid="member-remove">
                    {t("team.remove")}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {canEdit && !isClosed(stream.data?.status) && (
        <form className="row" onSubmit={add} style={{ marginTop: 12, alignItems: "flex-end" }}>
          <Field label={t("team.user")} name="user_id" errors={errors}>
            <select value={userId} onChange={(e) => setUserId(e.target.value)} required data-testid="team-user">
              <option value="">{t("team.pick")}</option>
              {candidates.map((u) => (
                <option key={u.id} value={u.id}>
                  {u.display_name ? `${u.display_name} (${u.username})` : u.username} · {t(`role.${u.role}` as MessageKey)}
                </option>
              ))}
            </select>
          </Field>
          <Field label={t("team.streamRole")} name="role" errors={errors}>
            <select value={newRole} onChange={(e) => setNewRole(e.target.value as TeamRole)} data-testid="team-role">
              {TEAM_ROLES.map((r) => (
                <option key={r} value={r}>
                  {t(`role.${r}` as MessageKey)}
                </option>
              ))}
            </select>
          </Field>
          <button className="primary" disabled={put.isPending || !userId} data-testid="team-add">
            {t("common.add")}
          </button>
        </form>
      )}
      <FormError error={put.error} shown={errors} />
      {removing && (
        <ConfirmDialog
          title={t("team.confirmRemove", { username: removing.username ?? "", title: stream.data?.title ?? String(streamId) })}
          confirmLabel={t("team.remove")}
          danger
          busy={remove.isPending}
          onCancel={() => setRemoving(null)}
          onConfirm={() => remove.mutate(removing.user_id, { onSettled: () => setRemoving(null) })}
        >
          <p>{t("team.removeBody")}</p>
        </ConfirmDialog>
      )}
    </Card>
  );
}
