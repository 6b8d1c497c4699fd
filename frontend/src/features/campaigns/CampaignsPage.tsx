// Campaigns (营销活动): one GMV target split over streams — the parts must add up, and
// the sum is shown as they are typed — and a campaign view with target vs actual per
// stream.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { api, unwrap, type Schemas } from "../../api/client";
import { useSession } from "../../auth/useAuth";
import { Card, ErrorText } from "../../components/ui";
import { useI18n, type MessageKey } from "../../i18n";
import { errorsOf, Field, FormError } from "../common/forms";

type Campaign = Schemas["CampaignOut"];
interface Part {
  stream_id: string;
  gmv_target: string;
}

/** Cents of a decimal string, or null when it is not a money amount. */
function cents(v: string): number | null {
  const s = v.trim();
  if (!/^\d+(\.\d{1,2})?$/.test(s)) return null;
  const [i = "0", f = ""] = s.split(".");
  return Number(i) * 100 + Number(f.padEnd(2, "0"));
}

const yuan = (c: number) => (c / 100).toFixed(2);

function useCanPlan(): boolean {
  const role = useSession()?.user.role;
  return role === "admin" || role === "controller";
}

export function CampaignsPage() {
  const { t, money } = useI18n();
  const canPlan = useCanPlan();
  const list = useQuery({ queryKey: ["campaigns"], queryFn: () => unwrap(api.GET("/api/v1/campaigns")) });
  return (
    <div className="page" data-testid="campaigns-page">
      <h1>{t("campaign.title")}</h1>
      <Card title={t("campaign.all")}>
        <ErrorText error={list.error} />
        {list.data?.length === 0 && <p className="muted">{t("campaign.empty")}</p>}
        <table>
          <tbody>
            {(list.data ?? []).map((c) => (
              <tr key={c.id} data-testid={`campaign-${c.id}`}>
                <td>
                  <Link to={`/campaigns/${c.id}`}>{c.name}</Link>
                </td>
                <td className="num">{money(c.gmv_target)}</td>
                <td className="muted small">{t("campaign.streamsN", { n: c.parts.length })}</td>
                <td className={Number(c.unallocated) === 0 ? "good small" : "warn small"}>
                  {Number(c.unallocated) === 0 ? t("campaign.fullySplit") : t("campaign.unallocated", { amount: money(c.unallocated) })}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
      {canPlan && <NewCampaign />}
    </div>
  );
}

function SplitEditor({ target, parts, setParts, errors }: { target: string; parts: Part[]; setParts: (p: Part[]) => void; errors: Record<string, string> }) {
  const { t, money } = useI18n();
  const streams = useQuery({ queryKey: ["streams"], queryFn: () => unwrap(api.GET("/api/v1/streams")) });
  const targetCents = cents(target);
  const partCents = parts.map((p) => cents(p.gmv_target));
  const sum = partCents.reduce<number>((s, c) => s + (c ?? 0), 0);
  const bad = partCents.some((c, i) => c === null && (parts[i]?.gmv_target ?? "") !== "");
  const ok = targetCents !== null && sum === targetCents && !bad;
  return (
    <div className="col" data-testid="split-editor">
      {parts.map((p, i) => (
        <div key={i} className="row">
          <select
            value={p.stream_id}
            onChange={(e) => setParts(parts.map((x, j) => (j === i ? { ...x, stream_id: e.target.value } : x)))}
            aria-label={t("campaign.stream")}
            data-testid="split-stream"
          >
            <option value="">{t("campaign.pickStream")}</option>
            {(streams.data ?? []).map((s) => (
              <option key={s.id} value={s.id}>
                {s.title} · {t(`status.${s.status}` as MessageKey)}
              </option>
            ))}
          </select>
          <input
            inputMode="decimal"
            value={p.gmv_target}
            onChange={(e) => setParts(parts.map((x, j) => (j === i ? { ...x, gmv_target: e.target.value } : x)))}
            placeholder={t("campaign.part")}
            aria-invalid={partCents[i] === null && p.gmv_target !== ""}
            style={{ width: 140 }}
            data-testid="split-amount"
          />
          <button type="button" className="small" onClick={() => setParts(parts.filter((_, j) => j !== i))}>
            ✕
          </button>
          {errors[`parts.${i}.gmv_target`] || errors[`split.${i}.gmv_target`] ? (
            <span className="field-error">{errors[`parts.${i}.gmv_target`] ?? errors[`split.${i}.gmv_target`]}</span>
          ) : null}
        </div>
      ))}
      <div className="row">
        <button type="button" className="small" onClick={() => setParts([...parts, { stream_id: "", gmv_target: "" }])} data-testid="split-add">
          + {t("campaign.addStream")}
        </button>
        {parts.length > 0 && (
          <span className={ok ? "pf-sum-ok" : "pf-sum-bad"} data-testid="split-sum" data-ok={ok}>
            {t("campaign.sum", { sum: money(yuan(sum)), target: targetCents === null ? "—" : money(yuan(targetCents)) })}{" "}
            {ok ? "✓" : targetCents !== null ? t("campaign.diff", { diff: money(yuan(targetCents - sum)) }) : ""}
          </span>
        )}
      </div>
    </div>
  );
}

function splitBody(parts: Part[]) {
  return parts.filter((p) => p.stream_id).map((p) => ({ stream_id: Number(p.stream_id), gmv_target: p.gmv_target.trim() }));
}

function NewCampaign() {
  const { t } = useI18n();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [name, setName] = useState("");
  const [target, setTarget] = useState("");
  const [description, setDescription] = useState("");
  const [parts, setParts] = useState<Part[]>([]);
  const create = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/campaigns", { body: { name, gmv_target: target.trim(), description, split: splitBody(parts) } })),
    onSuccess: (c) => {
      void qc.invalidateQueries({ queryKey: ["campaigns"] });
      void navigate(`/campaigns/${c.id}`);
    },
  });
  const errors = errorsOf(create.error);
  function submit(e: FormEvent) {
    e.preventDefault();
    create.mutate();
  }
  return (
    <Card title={t("campaign.new")} testId="new-campaign">
      <form onSubmit={submit} className="col">
        <div className="pf-grid">
          <Field label={t("campaign.name")} name="name" errors={errors}>
            <input value={name} onChange={(e) => setName(e.target.value)} required data-testid="c-name" />
          </Field>
          <Field label={t("campaign.target")} name="gmv_target" errors={errors}>
            <input inputMode="decimal" value={target} onChange={(e) => setTarget(e.target.value)} required data-testid="c-target" />
          </Field>
          <Field label={t("settings.description")} name="description" errors={errors} wide>
            <textarea value={description} onChange={(e) => setDescription(e.target.value)} rows={2} />
          </Field>
        </div>
        <h3 className="small muted">{t("campaign.split")}</h3>
        <SplitEditor target={target} parts={parts} setParts={setParts} errors={errors} />
        <div className="row">
          <button className="primary" disabled={create.isPending} data-testid="c-submit">
            {t("common.create")}
          </button>
        </div>
        <FormError error={create.error} shown={errors} />
      </form>
    </Card>
  );
}

export function CampaignView() {
  const { t, money, dateTime } = useI18n();
  const { campaignId } = useParams();
  const id = Number(campaignId);
  const qc = useQueryClient();
  const canPlan = useCanPlan();
  const c = useQuery({
    queryKey: ["campaigns", id],
    queryFn: () => unwrap(api.GET("/api/v1/campaigns/{campaign_id}", { params: { path: { campaign_id: id } } })),
  });
  const [editing, setEditing] = useState(false);
  return (
    <div className="page" data-testid="campaign-view">
      <Link to="/campaigns">← {t("campaign.title")}</Link>
      <ErrorText error={c.error} />
      {c.data && (
        <>
          {canPlan ? (
            <CampaignInfo campaign={c.data} />
          ) : (
            <>
              <h1>{c.data.name}</h1>
              {c.data.description && <p className="muted">{c.data.description}</p>}
            </>
          )}
          <Card
            title={t("campaign.targetVsActual")}
            testId="campaign-parts"
            actions={
              canPlan && !editing ? (
                <button className="small" onClick={() => setEditing(true)} data-testid="split-edit">
                  {t("campaign.editSplit")}
                </button>
              ) : null
            }
          >
            <p>
              {t("campaign.target")}: <strong>{money(c.data.gmv_target)}</strong> · {t("campaign.allocated")}: {money(c.data.allocated)} ·{" "}
              <span className={Number(c.data.unallocated) === 0 ? "good" : "warn"}>{t("campaign.unallocated", { amount: money(c.data.unallocated) })}</span>
            </p>
            <table>
              <thead>
                <tr>
                  <th>{t("campaign.stream")}</th>
                  <th>{t("streams.scheduled")}</th>
                  <th className="num">{t("campaign.part")}</th>
                  <th className="num">{t("campaign.actual")}</th>
                  <th>{t("campaign.progress")}</th>
                </tr>
              </thead>
              <tbody>
                {c.data.parts.map((p) => {
                  const ratio = p.gmv_actual != null && p.gmv_target && Number(p.gmv_target) > 0 ? Number(p.gmv_actual) / Number(p.gmv_target) : null;
                  return (
                    <tr key={p.stream_id} data-testid={`part-${p.stream_id}`}>
                      <td>
                        <Link to={`/streams/${p.stream_id}`}>{p.title}</Link>{" "}
                        <span className={`status status-${p.status}`}>{t(`status.${p.status}` as MessageKey)}</span>
                      </td>
                      <td className="small">{dateTime(p.scheduled_start)}</td>
                      <td className="num">{money(p.gmv_target)}</td>
                      <td className="num" data-testid="part-actual">{p.gmv_actual == null ? t("campaign.notStarted") : money(p.gmv_actual)}</td>
                      <td>
                        {ratio !== null && (
                          <div className="pf-bars">
                            <div className="pf-bar">
                              <span style={{ width: `${Math.min(100, ratio * 100)}%` }} />
                            </div>
                            <span className="small muted">{(ratio * 100).toFixed(1)}%</span>
                          </div>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </Card>
          {editing && <EditSplit campaign={c.data} onDone={() => { setEditing(false); void qc.invalidateQueries({ queryKey: ["campaigns"] }); }} />}
        </>
      )}
    </div>
  );
}

function EditSplit({ campaign, onDone }: { campaign: Campaign; onDone: () => void }) {
  const { t } = useI18n();
  const [target, setTarget] = useState(campaign.gmv_target);
  const [parts, setParts] = useState<Part[]>(campaign.parts.map((p) => ({ stream_id: String(p.stream_id), gmv_target: p.gmv_target ?? "" })));
  const save = useMutation({
    mutationFn: () =>
      unwrap(
        api.PUT("/api/v1/campaigns/{campaign_id}/split", {
          params: { path: { campaign_id: campaign.id } },
          body: { gmv_target: target.trim(), parts: splitBody(parts) },
        }),
      ),
    onSuccess: onDone,
  });
  const errors = errorsOf(save.error);
  return (
    <Card title={t("campaign.editSplit")} testId="edit-split">
      <div className="col">
        <Field label={t("campaign.target")} name="gmv_target" errors={errors}>
          <input inputMode="decimal" value={target} onChange={(e) => setTarget(e.target.value)} style={{ maxWidth: 200 }} />
        </Field>
        <SplitEditor target={target} parts={parts} setParts={setParts} errors={errors} />
        <div className="row">
          <button className="primary" onClick={() => save.mutate()} disabled={save.isPending} data-testid="split-save">
            {t("common.save")}
          </button>
          <button onClick={onDone}>{t("common.cancel")}</button>
        </div>
        <FormError error={save.error} shown={errors} />
      </div>
    </Card>
  );
}

/** Name and description (PATCH /campaigns/{id}); the target changes with the split. */
function CampaignInfo({ campaign }: { campaign: Campaign }) {
  const { t } = useI18n();
  const qc = useQueryClient();
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(campaign.name);
  const [description, setDescription] = useState(campaign.description);
  const save = useMutation({
    mutationFn: () =>
      unwrap(api.PATCH("/api/v1/campaigns/{campaign_id}", { params: { path: { campaign_id: campaign.id } }, body: { name, description } })),
    onSuccess: () => {
      setEditing(false);
      void qc.invalidateQueries({ queryKey: ["campaigns"] });
    },
  });
  const errors = errorsOf(save.error);
  if (!editing) {
    return (
      <div className="col">
        <div className="row">
          <h1 style={{ margin: 0 }}>{campaign.name}</h1>
          <button className="small" onClick={() => setEditing(true)} data-testid="campaign-rename">
            {t("pg.edit")}
          </button>
        </div>
        {campaign.description && <p className="muted">{campaign.description}</p>}
      </div>
    );
  }
  return (
    <Card title={t("campaign.editInfo")}>
      <div className="pf-grid">
        <Field label={t("campaign.name")} name="name" errors={errors}>
          <input value={name} onChange={(e) => setName(e.target.value)} data-testid="campaign-name" />
        </Field>
        <Field label={t("settings.description")} name="description" errors={errors} wide>
          <textarea value={description} onChange={(e) => setDescription(e.target.value)} rows={2} />
        </Field>
      </div>
      <div className="row" style={{ marginTop: 8 }}>
        <button className="primary" onClick={() => save.mutate()} disabled={save.isPending} data-testid="campaign-save">
          {t("common.save")}
        </button>
        <button onClick={() => setEditing(false)}>{t("common.cancel")}</button>
      </div>
      <FormError error={save.error} shown={errors} />
    </Card>
  );
}
