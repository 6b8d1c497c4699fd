import { Link } from "react-router";
import { CONSOLES, mayOpen, useStreamRole } from "../../auth/roles";
import { useStream, useStreamId } from "../../components/layout";
import { Card, ErrorText } from "../../components/ui";
import { useI18n, type MessageKey } from "../../i18n";

export function StreamHome() {
  const { t, dateTime } = useI18n();
  const streamId = useStreamId();
  const stream = useStream(streamId);
  const { role } = useStreamRole(streamId);
  return (
    <div className="page">
      <ErrorText error={stream.error} />
      {stream.data && (
        <Card title={t("streams.details")}>
          <dl className="facts">
            <dt>{t("streams.scheduled")}</dt>
            <dd>{dateTime(stream.data.scheduled_start)}</dd>
            <dt>{t("streams.plannedMinutes")}</dt>
            <dd>{stream.data.planned_minutes ?? "—"}</dd>
            <dt>{t("streams.started")}</dt>
            <dd>{dateTime(stream.data.started_at)}</dd>
            <dt>{t("streams.ended")}</dt>
            <dd>{dateTime(stream.data.ended_at)}</dd>
            <dt>{t("streams.yourRole")}</dt>
            <dd>{role ? t(`role.${role}` as MessageKey) : t("role.none")}</dd>
          </dl>
        </Card>
      )}
      <div className="console-grid">
        {CONSOLES.filter((c) => mayOpen(role, c)).map((c) => (
          <Link key={c} className="console-card" to={`/streams/${streamId}/${c}`} data-testid={`open-${c}`}>
            <div className="console-card-title">{t(`console.${c}` as MessageKey)}</div>
            <div className="muted">{t(`console.${c}.desc` as MessageKey)}</div>
          </Link>
        ))}
        <a className="console-card" href={`/watch/${streamId}`} target="_blank" rel="noreferrer">
          <div className="console-card-title">{t("console.watch")} ↗</div>
          <div className="muted">{t("console.watch.desc")}</div>
        </a>
      </div>
    </div>
  );
}
