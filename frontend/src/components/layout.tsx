import { useQuery } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { Link, Navigate, NavLink, Outlet, useLocation, useParams } from "react-router";
import { api, unwrap } from "../api/client";
import { CONSOLES, mayOpen, useStreamRole, type ConsoleName } from "../auth/roles";
import { auth } from "../auth/store";
import { useSession } from "../auth/useAuth";
import { useI18n, useT, type MessageKey } from "../i18n";

export function LanguageSwitch() {
  const { lang, setLang, t } = useI18n();
  return (
    <button
      type="button"
      className="lang-switch"
      data-testid="lang-switch"
      onClick={() => setLang(lang === "zh" ? "en" : "zh")}
      title={t("common.language")}
    >
      {lang === "zh" ? "EN" : "中文"}
    </button>
  );
}

export function RequireLogin({ children }: { children: ReactNode }) {
  const session = useSession();
  const location = useLocation();
  if (!session) return <Navigate to={`/login?next=${encodeURIComponent(location.pathname + location.search)}`} replace />;
  return <>{children}</>;
}

export function useStreamId(): number {
  const { streamId } = useParams();
  return Number(streamId);
}

/** Shows the page only to roles that may open this console on this stream. */
export function RequireConsole({ console, children }: { console: ConsoleName; children: ReactNode }) {
  const t = useT();
  const streamId = useStreamId();
  const { role, loading } = useStreamRole(streamId);
  if (loading) return <div className="loading">{t("common.loading")}</div>;
  if (!mayOpen(role, console)) {
    return (
      <div className="forbidden" data-testid="forbidden" role="alert">
        <h2>{t("common.forbiddenTitle")}</h2>
        <p>{t("common.forbiddenConsole", { console: t(`console.${console}` as MessageKey), role: role ? t(`role.${role}` as MessageKey) : t("role.none") })}</p>
        <Link to={`/streams/${streamId}`}>{t("common.back")}</Link>
      </div>
    );
  }
  return <>{children}</>;
}

export function AppLayout() {
  const t = useT();
  const session = useSession();
  const user = session?.user;
  return (
    <div className="app">
      <header className="topbar">
        <Link to="/" className="brand">
          {t("app.title")}
        </Link>
        <nav className="topnav">
          <NavLink to="/" end>
            {t("nav.streams")}
          </NavLink>
          {user?.role === "admin" && (
            <NavLink to="/admin/blocked-words" data-testid="nav-global-words">
              {t("nav.globalWords")}
            </NavLink>
          )}
          {/* issue #12: people, catalog, campaigns */}
          {(user?.role === "admin" || user?.role === "controller" || user?.role === "analyst") && (
            <>
              <NavLink to="/catalog" data-testid="nav-catalog">
                {t("nav.catalog")}
              </NavLink>
              <NavLink to="/campaigns" data-testid="nav-campaigns">
                {t("nav.campaigns")}
              </NavLink>
            </>
          )}
          <NavLink to="/dictionary" data-testid="nav-metrics">
            {t("nav.metrics")}
          </NavLink>
          {user?.role === "admin" && (
            <NavLink to="/admin/users" data-testid="nav-users">
              {t("nav.users")}
            </NavLink>
          )}
        </nav>
        <div className="spacer" />
        <LanguageSwitch />
        {user && (
          <Link to="/account" className="who" data-testid="who" title={t("nav.account")}>
            {user.display_name || user.username} · {t(`role.${user.role}` as MessageKey)}
          </Link>
        )}
        <button type="button" className="ghost" onClick={() => auth.logout()} data-testid="logout">
          {t("nav.logout")}
        </button>
      </header>
      <main className="main">
        <Outlet />
      </main>
    </div>
  );
}

export function useStream(streamId: number) {
  return useQuery({
    queryKey: ["stream", streamId],
    queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}", { params: { path: { stream_id: streamId } } })),
  });
}

export function StreamLayout() {
  const t = useT();
  const streamId = useStreamId();
  const stream = useStream(streamId);
  const { role } = useStreamRole(streamId);
  return (
    <div className="stream-layout">
      <div className="stream-bar">
        <h1 className="stream-title" data-testid="stream-title">
          {stream.data?.title ?? `#${streamId}`}
          {stream.data && (
            <span className={`status status-${stream.data.status}`}>{t(`status.${stream.data.status}` as MessageKey)}</span>
          )}
        </h1>
        <nav className="console-tabs">
          {CONSOLES.filter((c) => mayOpen(role, c)).map((c) =>
            c === "teleprompter" ? (
              <Link key={c} to={`/streams/${streamId}/teleprompter`} data-testid={`nav-${c}`}>
                {t(`console.${c}`)}
              </Link>
            ) : (
              <NavLink key={c} to={`/streams/${streamId}/${c}`} data-testid={`nav-${c}`}>
                {t(`console.${c}` as MessageKey)}
              </NavLink>
            ),
          )}
          <a href={`/watch/${streamId}`} target="_blank" rel="noreferrer" data-testid="nav-watch">
            {t("console.watch")} ↗
          </a>
        </nav>
      </div>
      <Outlet />
    </div>
  );
}
