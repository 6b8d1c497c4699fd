// Users (admin): create with role, display name and an initial password (generated and
// shown once, or typed), change role, disable / enable, reset password.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, unwrap, type Schemas } from "../../api/client";
import { useSession } from "../../auth/useAuth";
import { Card, ErrorText } from "../../components/ui";
import { useI18n, type MessageKey } from "../../i18n";
import { ConfirmDialog, errorsOf, Field, FormError } from "../common/forms";
import { generatePassword } from "./password";

type User = Schemas["UserOut"];
type Role = Schemas["Role"];
const ROLES: Role[] = ["controller", "host", "service", "analyst", "admin"];

export function UsersPage() {
  const { t, dateTime } = useI18n();
  const qc = useQueryClient();
  const me = useSession()?.user;
  const users = useQuery({ queryKey: ["users"], queryFn: () => unwrap(api.GET("/api/v1/users")) });
  const [shown, setShown] = useState<{ username: string; password: string } | null>(null);
  const [resetting, setResetting] = useState<User | null>(null);
  const [toggling, setToggling] = useState<User | null>(null);
  const refresh = () => void qc.invalidateQueries({ queryKey: ["users"] });
  const update = useMutation({
    mutationFn: ({ id, body }: { id: number; body: Schemas["UserUpdate"] }) =>
      unwrap(api.PATCH("/api/v1/users/{user_id}", { params: { path: { user_id: id } }, body })),
    onSettled: refresh,
  });

  return (
    <div className="page" data-testid="users-page">
      <h1>{t("people.users")}</h1>
      <NewUser onCreated={(username, password) => { setShown(password ? { username, password } : null); refresh(); }} />
      {shown && (
        <Card title={t("people.passwordOnce", { username: shown.username })} testId="password-once">
          <div className="pf-secret" data-testid="password-once-value">{shown.password}</div>
          <div className="row" style={{ marginTop: 8 }}>
            <button className="small" onClick={() => void navigator.clipboard?.writeText(shown.password)}>{t("pg.copy")}</button>
            <button className="small" onClick={() => setShown(null)}>{t("people.passwordNoted")}</button>
          </div>
        </Card>
      )}
      <Card title={t("people.allUsers")}>
        <ErrorText error={users.error ?? update.error} />
        <table data-testid="users-table">
          <thead>
            <tr>
              <th>{t("login.username")}</th>
              <th>{t("people.displayName")}</th>
              <th>{t("people.role")}</th>
              <th>{t("people.state")}</th>
              <th>{t("people.created")}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {(users.data ?? []).map((u) => (
              <tr key={u.id} data-testid={`user-${u.username}`}>
                <td>{u.username}</td>
                <td>{u.display_name}</td>
                <td>
                  <select
                    value={u.role}
                    disabled={u.id === me?.id || update.isPending}
                    onChange={(e) => update.mutate({ id: u.id, body: { role: e.target.value as Role } })}
                    aria-label={t("people.role")}
                    data-testid="user-role"
                  >
                    {ROLES.map((r) => (
                      <option key={r} value={r}>
                        {t(`role.${r}` as MessageKey)}
                      </option>
                    ))}
                  </select>
                </td>
                <td className={u.is_active ? "good" : "bad"}>{u.is_active ? t("people.active") : t("people.disabled")}</td>
                <td className="muted small">{dateTime(u.created_at)}</td>
                <td className="row">
                  <button className="small" onClick={() => setResetting(u)} data-testid="user-reset">
                    {t("people.resetPassword")}
                  </button>
                  {u.id !== me?.id && (
                    <button className={`small ${u.is_active ? "danger" : ""}`} onClick={() => setToggling(u)} data-testid="user-toggle">
                      {u.is_active ? t("people.disable") : t("people.enable")}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
      {toggling && (
        <ConfirmDialog
          title={toggling.is_active ? t("people.confirmDisable", { username: toggling.username }) : t("people.confirmEnable", { username: toggling.username })}
          confirmLabel={toggling.is_active ? t("people.disable") : t("people.enable")}
          danger={toggling.is_active}
          busy={update.isPending}
          onCancel={() => setToggling(null)}
          onConfirm={() => update.mutate({ id: toggling.id, body: { is_active: !toggling.is_active } }, { onSettled: () => setToggling(null) })}
        >
          {toggling.is_active && <p>{t("people.disableBody")}</p>}
        </ConfirmDialog>
      )}
      {resetting && (
        <ResetPassword
          user={resetting}
          onDone={(password) => {
            setShown({ username: resetting.username, password });
            setResetting(null);
          }}
          onCancel={() => setResetting(null)}
        />
      )}
    </div>
  );
}

function NewUser({ onCreated }: { onCreated: (username: string, generated: string | null) => void }) {
  const { t } = useI18n();
  const [username, setUsername] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [role, setRole] = useState<Role>("controller");
  const [password, setPassword] = useState("");
  const [generated, setGenerated] = useState(false);
  const create = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/users", { body: { username, display_name: displayName, role, password } })),
    onSuccess: (u) => {
      onCreated(u.username, generated ? password : null);
      setUsername("");
      setDisplayName("");
      setPassword("");
      setGenerated(false);
    },
  });
  const errors = errorsOf(create.error);
  function submit(e: FormEvent) {
    e.preventDefault();
    create.mutate();
  }
  return (
    <Card title={t("people.newUser")} testId="new-user">
      <form onSubmit={submit} className="col">
        <div className="pf-grid">
          <Field label={t("login.username")} name="username" errors={errors} hint={t("people.usernameHint")}>
            <input value={username} onChange={(e) => setUsername(e.target.value)} required data-testid="new-user-username" />
          </Field>
          <Field label={t("people.displayName")} name="display_name" errors={errors}>
            <input value={displayName} onChange={(e) => setDisplayName(e.target.value)} data-testid="new-user-display" />
          </Field>
          <Field label={t("people.role")} name="role" errors={errors}>
            <select value={role} onChange={(e) => setRole(e.target.value as Role)} data-testid="new-user-role">
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {t(`role.${r}` as MessageKey)}
                </option>
              ))}
            </select>
          </Field>
          <Field label={t("people.initialPassword")} name="password" errors={errors} hint={t("people.passwordHint")}>
            <div className="row nowrap">
              <input
                value={password}
                onChange={(e) => {
                  setPassword(e.target.value);
                  setGenerated(false);
                }}
                type={generated ? "text" : "password"}
                required
                style={{ flex: 1, minWidth: 0 }}
                data-testid="new-user-password"
              />
              <button
                type="button"
                className="small"
                onClick={() => {
                  setPassword(generatePassword());
                  setGenerated(true);
                }}
                data-testid="new-user-generate"
              >
                {t("people.generate")}
              </button>
            </div>
          </Field>
        </div>
        <div className="row">
          <button className="primary" disabled={create.isPending} data-testid="new-user-submit">
            {t("common.create")}
          </button>
        </div>
        <FormError error={create.error} shown={errors} />
      </form>
    </Card>
  );
}

function ResetPassword({ user, onDone, onCancel }: { user: User; onDone: (password: string) => void; onCancel: () => void }) {
  const { t } = useI18n();
  const [password, setPassword] = useState(generatePassword);
  const reset = useMutation({
    mutationFn: () => unwrap(api.PATCH("/api/v1/users/{user_id}", { params: { path: { user_id: user.id } }, body: { password } })),
    onSuccess: () => onDone(password),
  });
  const errors = errorsOf(reset.error);
  return (
    <ConfirmDialog
      title={t("people.confirmReset", { username: user.username })}
      confirmLabel={t("people.resetPassword")}
      busy={reset.isPending}
      onCancel={onCancel}
      onConfirm={() => reset.mutate()}
    >
      <p>{t("people.resetBody")}</p>
      <Field label={t("people.newPassword")} name="password" errors={errors}>
        <input value={password} onChange={(e) => setPassword(e.target.value)} data-testid="reset-password" />
      </Field>
      <FormError error={reset.error} shown={errors} />
    </ConfirmDialog>
  );
}
