// Stream settings: every field the model holds — title, platform, theme, goal type,
// audience, description, schedule, planned minutes, rehearsal time and the targets.
// One form for creating (/streams/new) and editing (planning → settings).
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import { api, unwrap, type Schemas } from "../../api/client";
import { useStream } from "../../components/layout";
import { Card, ErrorText } from "../../components/ui";
import { useI18n, type MessageKey } from "../../i18n";
import { isClosed } from "../lifecycle/Lifecycle";
import { errorsOf, Field, FormError, fromLocalInput, toLocalInput } from "../common/forms";

type Stream = Schemas["StreamOut"];
type Platform = NonNullable<Schemas["StreamCreate"]["platform"]>;
type GoalType = NonNullable<Schemas["StreamCreate"]["goal_type"]>;
export const PLATFORMS: Platform[] = ["douyin", "taobao", "kuaishou", "wechat_channels", "xiaohongshu", "jd", "other"];
const GOALS: GoalType[] = ["launch", "clearance", "brand", "fans", "sales"];

interface FormState {
  title: string;
  platform: string;
  theme: string;
  goal_type: string;
  target_audience: string;
  description: string;
  scheduled_start: string;
  planned_minutes: string;
  rehearsal_at: string;
  target_gmv: string;
  target_viewers: string;
  target_conversion_pct: string;
  target_new_followers: string;
}

function fromStream(s: Stream | undefined): FormState {
  const pct = s?.target_conversion_rate;
  return {
    title: s?.title ?? "",
    platform: s?.platform ?? "",
    theme: s?.theme ?? "",
    goal_type: s?.goal_type ?? "",
    target_audience: s?.target_audience ?? "",
    description: s?.description ?? "",
    scheduled_start: toLocalInput(s?.scheduled_start),
    planned_minutes: s?.planned_minutes != null ? String(s.planned_minutes) : s ? "" : "120",
    rehearsal_at: toLocalInput(s?.rehearsal_at),
    target_gmv: s?.target_gmv ?? "",
    target_viewers: s?.target_viewers != null ? String(s.target_viewers) : "",
    // shown in percent; the API holds a fraction 0–1
    target_conversion_pct: pct != null && pct !== "" ? String(+(Number(pct) * 100).toFixed(2)) : "",
    target_new_followers: s?.target_new_followers != null ? String(s.target_new_followers) : "",
  };
}

const intOrNull = (v: string) => (v.trim() === "" ? null : Number(v));

function toBody(f: FormState): Schemas["StreamCreate"] {
  return {
    title: f.title,
    platform: (f.platform || null) as Platform | null,
    theme: f.theme,
    goal_type: (f.goal_type || null) as GoalType | null,
    target_audience: f.target_audience,
    description: f.description,
    scheduled_start: fromLocalInput(f.scheduled_start),
    planned_minutes: intOrNull(f.planned_minutes),
    rehearsal_at: fromLocalInput(f.rehearsal_at),
    target_gmv: f.target_gmv.trim() === "" ? null : f.target_gmv.trim(),
    target_viewers: intOrNull(f.target_viewers),
    target_conversion_rate:
      f.target_conversion_pct.trim() === "" ? null : String(+(Number(f.target_conversion_pct) / 100).toFixed(4)),
    target_new_followers: intOrNull(f.target_new_followers),
  };
}

export function NewStreamPage() {
  const { t } = useI18n();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const create = useMutation({
    mutationFn: (body: Schemas["StreamCreate"]) => unwrap(api.POST("/api/v1/streams", { body })),
    onSuccess: (s) => {
      void qc.invalidateQueries({ queryKey: ["streams"] });
      void navigate(`/streams/${s.id}/plan/settings`);
    },
  });
  return (
    <div className="page" data-testid="new-stream-page">
      <h1>{t("streams.new")}</h1>
      <StreamForm initial={fromStream(undefined)} busy={create.isPending} error={create.error} submitLabel={t("common.create")} onSubmit={(f) => create.mutate(toBody(f))} />
    </div>
  );
}

export function StreamSettings({ streamId, readOnly }: { streamId: number; readOnly?: boolean }) {
  const { t } = useI18n();
  const qc = useQueryClient();
  const stream = useStream(streamId);
  const save = useMutation({
    mutationFn: (body: Schemas["StreamUpdate"]) =>
      unwrap(api.PATCH("/api/v1/streams/{stream_id}", { params: { path: { stream_id: streamId } }, body })),
    onSuccess: (s) => {
      qc.setQueryData(["stream", streamId], s);
      void qc.invalidateQueries({ queryKey: ["streams"] });
    },
  });
  if (!stream.data) return <ErrorText error={stream.error} />;
  const s = stream.data;
  const locked = readOnly || isClosed(s.status);
  return (
    <StreamForm
      initial={fromStream(s)}
      busy={save.isPending}
      error={save.error}
      saved={save.isSuccess}
      readOnly={locked}
      campaignId={s.campaign_id ?? null}
      submitLabel={t("common.save")}
      onSubmit={(f) => {
        const body: Schemas["StreamUpdate"] = toBody(f);
        // a GMV target from a campaign split changes on the campaign page only
        if (s.campaign_id != null) delete body.target_gmv;
        save.mutate(body);
      }}
    />
  );
}

function StreamForm({
  initial,
  busy,
  error,
  saved,
  readOnly,
  campaignId,
  submitLabel,
  onSubmit,
}: {
  initial: FormState;
  busy: boolean;
  error: unknown;
  saved?: boolean;
  readOnly?: boolean;
  campaignId?: number | null;
  submitLabel: string;
  onSubmit: (f: FormState) => void;
}) {
  const { t } = useI18n();
  const [f, setF] = useState<FormState>(initial);
  const errors = errorsOf(error);
  if (errors["target_conversion_rate"]) errors["target_conversion_pct"] = errors["target_conversion_rate"];
  const set = (k: keyof FormState) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });
  function submit(e: FormEvent) {
    e.preventDefault();
    onSubmit(f);
  }
  return (
    <form onSubmit={submit} data-testid="stream-form">
      <fieldset className="pf-plain col" disabled={readOnly}>
        <Card title={t("settings.basics")}>
          <div className="pf-grid">
            <Field label={t("settings.title")} name="title" errors={errors} wide>
              <input value={f.title} onChange={set("title")} required maxLength={200} data-testid="s-title" />
            </Field>
            <Field label={t("settings.platform")} name="platform" errors={errors}>
              <select value={f.platform} onChange={set("platform")} data-testid="s-platform">
                <option value="">—</option>
                {PLATFORMS.map((p) => (
                  <option key={p} value={p}>
                    {t(`platform.${p}` as MessageKey)}
                  </option>
                ))}
              </select>
            </Field>
            <Field label={t("settings.goalType")} name="goal_type" errors={errors}>
              <select value={f.goal_type} onChange={set("goal_type")} data-testid="s-goal">
                <option value="">—</option>
                {GOALS.map((g) => (
                  <option key={g} value={g}>
                    {t(`goal.${g}` as MessageKey)}
                  </option>
                ))}
              </select>
            </Field>
            <Field label={t("settings.theme")} name="theme" errors={errors}>
              <input value={f.theme} onChange={set("theme")} maxLength={200} data-testid="s-theme" />
            </Field>
            <Field label={t("settings.audience")} name="target_audience" errors={errors} wide>
              <textarea value={f.target_audience} onChange={set("target_audience")} rows={2} data-testid="s-audience" />
            </Field>
            <Field label={t("settings.description")} name="description" errors={errors} wide>
              <textarea value={f.description} onChange={set("description")} rows={3} data-testid="s-description" />
            </Field>
          </div>
        </Card>
        <Card title={t("settings.schedule")}>
          <div className="pf-grid">
            <Field label={t("streams.scheduled")} name="scheduled_start" errors={errors}>
              <input type="datetime-local" value={f.scheduled_start} onChange={set("scheduled_start")} data-testid="s-start" />
            </Field>
            <Field label={t("streams.plannedMinutes")} name="planned_minutes" errors={errors}>
              <input type="number" value={f.planned_minutes} onChange={set("planned_minutes")} data-testid="s-minutes" />
            </Field>
            <Field label={t("settings.rehearsal")} name="rehearsal_at" errors={errors}>
              <input type="datetime-local" value={f.rehearsal_at} onChange={set("rehearsal_at")} data-testid="s-rehearsal" />
            </Field>
          </div>
        </Card>
        <Card title={t("settings.targets")}>
          <div className="pf-grid">
            <Field label={t("settings.targetGmv")} name="target_gmv" errors={errors} hint={campaignId != null ? t("settings.gmvFromCampaign", { id: campaignId }) : undefined}>
              <input inputMode="decimal" value={f.target_gmv} onChange={set("target_gmv")} disabled={campaignId != null} data-testid="s-gmv" />
            </Field>
            <Field label={t("settings.targetViewers")} name="target_viewers" errors={errors}>
              <input type="number" value={f.target_viewers} onChange={set("target_viewers")} data-testid="s-viewers" />
            </Field>
            <Field label={t("settings.targetConversion")} name="target_conversion_pct" errors={errors}>
              <input inputMode="decimal" value={f.target_conversion_pct} onChange={set("target_conversion_pct")} data-testid="s-conversion" />
            </Field>
            <Field label={t("settings.targetFollowers")} name="target_new_followers" errors={errors}>
              <input type="number" value={f.target_new_followers} onChange={set("target_new_followers")} data-testid="s-followers" />
            </Field>
          </div>
        </Card>
        {!readOnly && (
          <div className="row">
            <button className="primary" disabled={busy} data-testid="s-submit">
              {submitLabel}
            </button>
            {saved && <span className="good" data-testid="s-saved">{t("settings.saved")}</span>}
          </div>
        )}
      </fieldset>
      <FormError error={error} shown={errors} />
    </form>
  );
}
