// Moderation (审核设置) in the control console: the stream's blocked words beside the
// global ones, the muted viewers with lift-mute, and the service queue's SLA and cue
// threshold. The server checks every value and role; its 4xx answers are shown as given.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { Link } from "react-router";
import { api, fieldErrors, unwrap, type Schemas } from "../../api/client";
import { useSession } from "../../auth/useAuth";
import { Card, ErrorText } from "../../components/ui";
import { useI18n } from "../../i18n";
import type { LiveEvent } from "../../live/types";
import { AddWordsForm, WordChips } from "../shared/BlockedWords";

export function Moderation({ streamId, events }: { streamId: number; events: LiveEvent[] }) {
  const { t } = useI18n();
  return (
    <Card title={t("moderation.title")} testId="moderation">
      <div className="moderation">
        <StreamWords streamId={streamId} events={events} />
        <MutedViewers streamId={streamId} events={events} />
        <QueueSettingsForm streamId={streamId} events={events} />
      </div>
    </Card>
  );
}

function StreamWords({ streamId, events }: { streamId: number; events: LiveEvent[] }) {
  const { t } = useI18n();
  const qc = useQueryClient();
  const isAdmin = useSession()?.user.role === "admin";
  const path = { params: { path: { stream_id: streamId } } };
  const words = useQuery({
    queryKey: ["blocked-words", streamId],
    queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/blocked-words", path)),
  });
  const refresh = () => void qc.invalidateQueries({ queryKey: ["blocked-words", streamId] });
  // Words added or removed from another control console are announced.
  const lastChange = events.filter((e) => e.type === "blocked_words.changed").at(-1)?.seq;
  useEffect(() => {
    if (lastChange !== undefined) void qc.invalidateQueries({ queryKey: ["blocked-words", streamId] });
  }, [qc, streamId, lastChange]);
  const remove = useMutation({
    mutationFn: (wordId: number) =>
      unwrap(
        api.DELETE("/api/v1/streams/{stream_id}/blocked-words/{word_id}", {
          params: { path: { stream_id: streamId, word_id: wordId } },
        }),
      ),
    onSettled: refresh,
  });
  const add = async (list: string[]) => {
    const added = await unwrap(api.POST("/api/v1/streams/{stream_id}/blocked-words", { ...path, body: { words: list } }));
    refresh();
    return added;
  };
  // The stream's own words first (they are the ones this console manages).
  const rows = [...(words.data ?? [])].sort((a, b) => Number(a.stream_id === null) - Number(b.stream_id === null) || a.id - b.id);
  return (
    <section className="col" data-testid="stream-words">
      <div className="row">
        <h3>{t("moderation.words")}</h3>
        <span className="spacer" />
        {isAdmin && (
          <Link to="/admin/blocked-words" className="small" data-testid="manage-global-words">
            {t("moderation.manageGlobal")}
          </Link>
        )}
      </div>
      <p className="muted small">{t("moderation.wordsHint")}</p>
      <ErrorText error={words.error ?? remove.error} />
      {words.data && <WordChips words={rows} canRemove={(w) => w.stream_id !== null} onRemove={(w) => remove.mutate(w.id)} removing={remove.isPending} testId="stream-word-list" />}
      <AddWordsForm add={add} testId="add-stream-words" />
    </section>
  );
}

function MutedViewers({ streamId, events }: { streamId: number; events: LiveEvent[] }) {
  const { t, dateTime } = useI18n();
  const qc = useQueryClient();
  const path = { params: { path: { stream_id: streamId } } };
  const mutes = useQuery({
    queryKey: ["mutes", streamId],
    queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/mutes", path)),
    refetchInterval: 60_000, // mutes run out by themselves
  });
  const refresh = () => void qc.invalidateQueries({ queryKey: ["mutes", streamId] });
  // A mute or a lifted mute from any console (the comment stream, the service console)
  // is announced.
  const lastMute = events
    .filter((e) => e.type === "viewer.muted" || e.type === "viewer.unmuted")
    .at(-1)?.seq;
  useEffect(() => {
    if (lastMute !== undefined) void qc.invalidateQueries({ queryKey: ["mutes", streamId] });
  }, [qc, streamId, lastMute]);
  const lift = useMutation({
    mutationFn: (viewerId: string) =>
      unwrap(api.DELETE("/api/v1/streams/{stream_id}/mutes/{viewer_id}", { params: { path: { stream_id: streamId, viewer_id: viewerId } } })),
    onSettled: refresh,
  });
  const [viewer, setViewer] = useState("");
  const [minutes, setMinutes] = useState("10");
  const [reason, setReason] = useState("");
  const mute = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/v1/streams/{stream_id}/mutes", {
          ...path,
          body: { viewer_id: viewer.trim(), minutes: Number(minutes), reason },
        }),
      ),
    onSuccess: () => {
      setViewer("");
      setReason("");
    },
    onSettled: refresh,
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    mute.mutate();
  };
  return (
    <section className="col" data-testid="muted-viewers">
      <h3>{t("moderation.mutes")}</h3>
      <ErrorText error={mutes.error ?? lift.error} />
      <div className="feed" style={{ maxHeight: 180 }}>
        {(mutes.data ?? []).map((m) => (
          <div className="feed-item" key={m.viewer_id} data-testid="mute-row" data-viewer={m.viewer_id}>
            <span className="text">
              <strong>{m.viewer_id}</strong> {m.reason && <span className="muted">· {m.reason}</span>}
            </span>
            <span className="muted small">{t("moderation.until", { time: dateTime(m.until) })}</span>
            <button className="small" onClick={() => lift.mutate(m.viewer_id)} disabled={lift.isPending} data-testid="btn-unmute">
              {t("moderation.unmute")}
            </button>
          </div>
        ))}
        {mutes.data?.length === 0 && <span className="muted" data-testid="no-mutes">{t("moderation.noMutes")}</span>}
      </div>
      <form className="row" onSubmit={submit} data-testid="mute-form">
        <input value={viewer} onChange={(e) => setViewer(e.target.value)} placeholder={t("moderation.viewerId")} required style={{ flex: 1, minWidth: 120 }} data-testid="mute-viewer" />
        <label className="inline">
          {t("moderation.minutes")}
          <input type="number" value={minutes} onChange={(e) => setMinutes(e.target.value)} style={{ width: 80 }} data-testid="mute-minutes" />
        </label>
        <input value={reason} onChange={(e) => setReason(e.target.value)} placeholder={t("moderation.reason")} style={{ flex: 1, minWidth: 100 }} />
        <button disabled={mute.isPending || !viewer.trim()} data-testid="mute-submit">
          {t("comments.mute")}
        </button>
      </form>
      <ErrorText error={mute.error} />
    </section>
  );
}

type QueueSettings = Schemas["QueueSettingsOut"];

function QueueSettingsForm({ streamId, events }: { streamId: number; events: LiveEvent[] }) {
  const { t, dateTime } = useI18n();
  const qc = useQueryClient();
  const key = ["queue-settings", streamId];
  const path = { params: { path: { stream_id: streamId } } };
  const settings = useQuery({
    queryKey: key,
    queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/queue-settings", path)),
  });
  const lastChange = events.filter((e) => e.type === "queue.settings").at(-1)?.seq;
  useEffect(() => {
    if (lastChange !== undefined) void qc.invalidateQueries({ queryKey: ["queue-settings", streamId] });
  }, [qc, streamId, lastChange]);
  const [sla, setSla] = useState("");
  const [cue, setCue] = useState("");
  // The form starts from the stored values, and follows them until edited.
  const [edited, setEdited] = useState(false);
  useEffect(() => {
    if (settings.data && !edited) {
      setSla(String(settings.data.sla_seconds));
      setCue(String(settings.data.cue_threshold));
    }
  }, [settings.data, edited]);
  const [saved, setSaved] = useState(false);
  const save = useMutation({
    mutationFn: () => {
      // A field left empty keeps its value (the server says so when both are empty).
      const body: Schemas["QueueSettingsIn"] = {};
      if (sla.trim()) body.sla_seconds = Number(sla);
      if (cue.trim()) body.cue_threshold = Number(cue);
      return unwrap(api.PUT("/api/v1/streams/{stream_id}/queue-settings", { ...path, body }));
    },
    onSuccess: (data: QueueSettings) => {
      qc.setQueryData(key, data);
      setEdited(false);
      setSaved(true);
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSaved(false);
    save.mutate();
  };
  const bad = fieldErrors(save.error);
  const d = settings.data;
  return (
    <section className="col" data-testid="queue-settings">
      <h3>{t("queueSettings.title")}</h3>
      <ErrorText error={settings.error} />
      <form className="col" onSubmit={submit} noValidate>
        <div className="row" style={{ alignItems: "flex-start" }}>
          <label>
            {t("queueSettings.sla")}
            <input
              type="number"
              value={sla}
              onChange={(e) => {
                setSla(e.target.value);
                setEdited(true);
              }}
              style={{ width: 140 }}
              aria-invalid={!!bad["sla_seconds"]}
              data-testid="sla-seconds"
            />
            <span className="muted small">{t("queueSettings.slaHint")}</span>
            {bad["sla_seconds"] && (
              <span className="field-error" role="alert" data-testid="sla-error">
                {bad["sla_seconds"]}
              </span>
            )}
          </label>
          <label>
            {t("queueSettings.cue")}
            <input
              type="number"
              value={cue}
              onChange={(e) => {
                setCue(e.target.value);
                setEdited(true);
              }}
              style={{ width: 140 }}
              aria-invalid={!!bad["cue_threshold"]}
              data-testid="cue-threshold"
            />
            <span className="muted small">{t("queueSettings.cueHint")}</span>
            {bad["cue_threshold"] && (
              <span className="field-error" role="alert" data-testid="cue-error">
                {bad["cue_threshold"]}
              </span>
            )}
          </label>
        </div>
        <div className="row">
          <button className="primary" disabled={save.isPending || !d} data-testid="queue-settings-save">
            {t("common.save")}
          </button>
          {saved && !edited && (
            <span className="muted small" role="status" data-testid="queue-settings-saved">
              ✓ {t("queueSettings.saved")}
            </span>
          )}
          <span className="spacer" />
          {d && (
            <span className="muted small" data-testid="queue-settings-state">
              {d.is_default ? t("queueSettings.default") : t("queueSettings.updated", { time: dateTime(d.updated_at) })}
            </span>
          )}
        </div>
        {Object.keys(bad).length === 0 && <ErrorText error={save.error} />}
      </form>
    </section>
  );
}
