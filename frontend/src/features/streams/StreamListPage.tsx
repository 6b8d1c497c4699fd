import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link } from "react-router";
import { api, unwrap } from "../../api/client";
import { useSession } from "../../auth/useAuth";
import { Card, ErrorText } from "../../components/ui";
import { useI18n, type MessageKey } from "../../i18n";

export function StreamListPage() {
  const { t, dateTime } = useI18n();
  const session = useSession();
  const qc = useQueryClient();
  const streams = useQuery({ queryKey: ["streams"], queryFn: () => unwrap(api.GET("/api/v1/streams")) });
  const canCreate = session?.user.role === "admin" || session?.user.role === "controller";
  const [title, setTitle] = useState("");
  const [minutes, setMinutes] = useState("120");
  const create = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/v1/streams", {
          body: { title, planned_minutes: minutes ? Number(minutes) : null },
        }),
      ),
    onSuccess: () => {
      setTitle("");
      void qc.invalidateQueries({ queryKey: ["streams"] });
    },
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    create.mutate();
  }

  return (
    <div className="page">
      <h1>{t("streams.title")}</h1>
      {canCreate && (
        <Card title={t("streams.new")}>
          <form className="row" onSubmit={submit}>
            <input placeholder={t("streams.titlePlaceholder")} value={title} onChange={(e) => setTitle(e.target.value)} required data-testid="new-stream-title" />
            <label className="inline">
              {t("streams.plannedMinutes")}
              <input type="number" min={1} value={minutes} onChange={(e) => setMinutes(e.target.value)} style={{ width: 90 }} />
            </label>
            <button className="primary" type="submit" disabled={create.isPending}>
              {t("common.create")}
            </button>
          </form>
          <ErrorText error={create.error} />
          <Link to="/streams/new" className="small" data-testid="new-stream-full">
            {t("settings.fullForm")} →
          </Link>
        </Card>
      )}
      <ErrorText error={streams.error} />
      {streams.data && streams.data.length === 0 && <p className="muted">{t("streams.empty")}</p>}
      <div className="stream-grid" data-testid="stream-list">
        {streams.data?.map((s) => (
          <Link key={s.id} to={`/streams/${s.id}`} className="stream-card" data-testid={`stream-${s.id}`}>
            <div className="stream-card-title">{s.title}</div>
            <div className="stream-card-meta">
              <span className={`status status-${s.status}`}>{t(`status.${s.status}` as MessageKey)}</span>
              <span>{s.scheduled_start ? dateTime(s.scheduled_start) : t("streams.unscheduled")}</span>
              {s.planned_minutes ? <span>{t("streams.minutes", { n: s.planned_minutes })}</span> : null}
            </div>
          </Link>
        ))}
      </div>
    </div>
  );
}
