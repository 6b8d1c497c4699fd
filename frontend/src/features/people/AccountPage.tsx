// The signed-in user's own account: change the password (every other session ends).
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, unwrap } from "../../api/client";
import { auth } from "../../auth/store";
import { useSession } from "../../auth/useAuth";
import { Card, ErrorText } from "../../components/ui";
import { useI18n, type MessageKey } from "../../i18n";
import { ConfirmDialog, errorsOf, Field, FormError } from "../common/forms";

export function AccountPage() {
  const { t } = useI18n();
  const user = useSession()?.user;
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [again, setAgain] = useState("");
  const change = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/auth/password", { body: { current_password: current, new_password: next } })),
    onSuccess: (tok) => {
      // Every earlier token was revoked; this session goes on with the fresh one.
      auth.login(tok.access_token, tok.expires_at, tok.user);
      setCurrent("");
      setNext("");
      setAgain("");
    },
  });
  const errors = errorsOf(change.error);
  if (again && next !== again) errors["again"] = t("account.mismatch");
  function submit(e: FormEvent) {
    e.preventDefault();
    if (next !== again) return;
    change.mutate();
  }
  return (
    <div className="page" data-testid="account-page">
      <h1>{t("account.title")}</h1>
      {user && (
        <Card title={t("account.me")}>
          <dl className="facts">
            <dt>{t("login.username")}</dt>
            <dd>{user.username}</dd>
            <dt>{t("people.displayName")}</dt>
            <dd>{user.display_name || "—"}</dd>
            <dt>{t("people.role")}</dt>
            <dd>{t(`role.${user.role}` as MessageKey)}</dd>
          </dl>
        </Card>
      )}
      <SignOutEverywhere />
      <Card title={t("account.changePassword")}>
        <form onSubmit={submit} className="col" style={{ maxWidth: 420 }}>
          <Field label={t("account.current")} name="current_password" errors={errors}>
            <input type="password" value={current} onChange={(e) => setCurrent(e.target.value)} required autoComplete="current-password" data-testid="pw-current" />
          </Field>
          <Field label={t("people.newPassword")} name="new_password" errors={errors} hint={t("people.passwordHint")}>
            <input type="password" value={next} onChange={(e) => setNext(e.target.value)} required autoComplete="new-password" data-testid="pw-new" />
          </Field>
          <Field label={t("account.again")} name="again" errors={errors}>
            <input type="password" value={again} onChange={(e) => setAgain(e.target.value)} required autoComplete="new-password" data-testid="pw-again" />
          </Field>
          <div className="row">
            <button className="primary" disabled={change.isPending || next !== again} data-testid="pw-submit">
              {t("common.save")}
            </button>
            {change.isSuccess && <span className="good" data-testid="pw-done">{t("account.changed")}</span>}
          </div>
          <FormError error={change.error} shown={errors} />
        </form>
      </Card>
    </div>
  );
}

/** POST /auth/logout: every token of this user stops working, on every device. */
function SignOutEverywhere() {
  const { t } = useI18n();
  const [asking, setAsking] = useState(false);
  const out = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/auth/logout")),
    onSuccess: () => auth.logout(),
  });
  return (
    <Card title={t("account.sessions")}>
      <p className="muted small">{t("account.everywhereBody")}</p>
      <button className="danger" onClick={() => setAsking(true)} data-testid="logout-everywhere">
        {t("account.everywhere")}
      </button>
      <ErrorText error={out.error} />
      {asking && (
        <ConfirmDialog
          title={t("account.everywhereConfirm")}
          confirmLabel={t("account.everywhere")}
          danger
          busy={out.isPending}
          onCancel={() => setAsking(false)}
          onConfirm={() => out.mutate()}
        />
      )}
    </Card>
  );
}
