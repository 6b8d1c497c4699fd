import { useState, type FormEvent } from "react";
import { Navigate, useNavigate, useSearchParams } from "react-router";
import { api, ApiError } from "../../api/client";
import { auth } from "../../auth/store";
import { useSession } from "../../auth/useAuth";
import { LanguageSwitch } from "../../components/layout";
import { useT } from "../../i18n";

export function LoginPage() {
  const t = useT();
  const session = useSession();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const next = params.get("next") || "/";
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  if (session) return <Navigate to={next} replace />;

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { data, response, error: err } = await api.POST("/api/v1/auth/login", { body: { username, password } });
      if (data) {
        auth.login(data.access_token, data.expires_at, data.user);
        navigate(next, { replace: true });
      } else if (response.status === 401) setError(t("login.wrong"));
      else if (response.status === 429) setError(t("login.locked", { s: response.headers.get("Retry-After") ?? "60" }));
      else setError(new ApiError(response.status, err).message);
    } catch {
      setError(t("common.networkError"));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="login-page">
      <form className="login-card" onSubmit={submit} data-testid="login-form">
        <div className="login-head">
          <h1>{t("app.title")}</h1>
          <LanguageSwitch />
        </div>
        <p className="muted">{t("login.subtitle")}</p>
        <label>
          {t("login.username")}
          <input name="username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required autoFocus />
        </label>
        <label>
          {t("login.password")}
          <input name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        </label>
        {error && (
          <div className="error" role="alert" data-testid="login-error">
            {error}
          </div>
        )}
        <button type="submit" className="primary" disabled={busy} data-testid="login-submit">
          {busy ? t("common.loading") : t("login.submit")}
        </button>
      </form>
    </div>
  );
}
