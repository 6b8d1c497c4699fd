// Small shared pieces: connection banner, metric tile, notices, errors.
import { useEffect, useState, type ReactNode } from "react";
import { ApiError } from "../api/client";
import { useT } from "../i18n";
import type { LiveState } from "../live/useLive";

/** Shown whenever the live feed is not connected and current: figures may be stale. */
export function ConnectionBanner({ live }: { live: LiveState }) {
  const t = useT();
  if (live.status === "denied") {
    return (
      <div className="banner banner-error" role="alert" data-testid="conn-banner">
        {live.closeCode === 4401 ? t("live.deniedAuth") : t("live.deniedRole")}
      </div>
    );
  }
  if (live.status === "open" && live.fresh) return null;
  const text =
    live.status === "connecting"
      ? t("live.connecting")
      : live.status === "open"
        ? t("live.syncing")
        : live.retryInMs !== null
          ? t("live.reconnectingIn", { s: Math.max(1, Math.round(live.retryInMs / 1000)) })
          : t("live.reconnecting");
  return (
    <div className="banner banner-warn" role="status" data-testid="conn-banner">
      {text} · {t("live.staleNote")}
    </div>
  );
}

/** Re-render every `ms` so relative times ("5 s ago", countdowns) move. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(id);
  }, [ms]);
  return now;
}

export function MetricTile({
  label,
  value,
  at,
  fresh,
  testId,
  big,
}: {
  label: string;
  value: ReactNode;
  at: number | null;
  fresh: boolean;
  testId?: string;
  big?: boolean;
}) {
  const t = useT();
  const now = useNow(1000);
  const age = at === null ? null : Math.max(0, Math.round((now - at) / 1000));
  const stale = !fresh || at === null;
  return (
    <div className={`tile${stale ? " stale" : ""}${big ? " tile-big" : ""}`} data-testid={testId} data-stale={stale}>
      <div className="tile-label">{label}</div>
      <div className="tile-value">{value}</div>
      <div className="tile-age">
        {stale ? t("live.stale") : age === null ? "" : age < 2 ? t("live.justNow") : t("live.secondsAgo", { s: age })}
      </div>
    </div>
  );
}

export function ErrorText({ error }: { error: unknown }) {
  const t = useT();
  if (!error) return null;
  let text: string;
  if (error instanceof ApiError) {
    if (error.missing) text = t("common.backendMissing");
    else if (error.status === 403) text = `${t("common.forbidden")} (${error.message})`;
    else if (error.status >= 502 && error.status <= 504) text = t("common.serverDown");
    else text = error.message;
  } else if (error instanceof TypeError) {
    // fetch() itself failed ("Failed to fetch"): the server or the network is away.
    text = t("common.serverDown");
  } else if (error instanceof Error) text = error.message;
  else text = String(error);
  return (
    <div className="error" role="alert">
      {text}
    </div>
  );
}

/** A section whose backend is not on this server yet: said plainly, not a blank box. */
export function Pending({ what }: { what: string }) {
  const t = useT();
  return (
    <div className="pending" data-testid="pending">
      {t("common.pendingFeature", { what })}
    </div>
  );
}

export function isMissing(error: unknown): boolean {
  return error instanceof ApiError && error.missing;
}

export function Card({ title, children, actions, className, testId }: {
  title?: ReactNode;
  children: ReactNode;
  actions?: ReactNode;
  className?: string;
  testId?: string;
}) {
  return (
    <section className={`card ${className ?? ""}`} data-testid={testId}>
      {(title || actions) && (
        <header className="card-head">
          <h2>{title}</h2>
          <div className="card-actions">{actions}</div>
        </header>
      )}
      {children}
    </section>
  );
}

export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const mm = String(m).padStart(2, "0");
  const ss = String(sec).padStart(2, "0");
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}
