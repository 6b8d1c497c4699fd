// Contingency plans (应急预案): scenario, title, steps, owner from the team.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, unwrap, type Schemas } from "../../api/client";
import { Card, ErrorText } from "../../components/ui";
import { useI18n, type MessageKey } from "../../i18n";
import { ConfirmDialog, Field, FormActions, errorsOf } from "../common/forms";

type Scenario = Schemas["ContingencyIn"]["scenario"];
type Plan = Schemas["ContingencyOut"];
const SCENARIOS: Scenario[] = ["technical_failure", "out_of_stock", "quality_complaint", "host_slip", "negative_comments", "custom"];

export function useTeam(streamId: number) {
  return useQuery({
    queryKey: ["team", streamId],
    queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/team", { params: { path: { stream_id: streamId } } })),
  });
}

export function ContingencyPlans({ streamId, readOnly }: { streamId: number; readOnly?: boolean }) {
  const { t } = useI18n();
  const qc = useQueryClient();
  const team = useTeam(streamId);
  const plans = useQuery({
    queryKey: ["contingency", streamId],
    queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/contingency-plans", { params: { path: { stream_id: streamId } } })),
  });
  const refresh = () => {
    void qc.invalidateQueries({ queryKey: ["contingency", streamId] });
    void qc.invalidateQueries({ queryKey: ["readiness", streamId] });
  };
  const [editing, setEditing] = useState<Plan | null>(null);
  const [deleting, setDeleting] = useState<Plan | null>(null);
  const del = useMutation({
    mutationFn: (id: number) =>
      unwrap(api.DELETE("/api/v1/streams/{stream_id}/contingency-plans/{plan_id}", { params: { path: { stream_id: streamId, plan_id: id } } })),
    onSettled: () => {
      setDeleting(null);
      refresh();
    },
  });
  const owner = (id: number | null | undefined) => {
    const m = team.data?.find((x) => x.user_id === id);
    return m ? m.display_name || m.username : "—";
  };
  return (
    <div className="col">
      <Card title={t("contingency.title")} testId="contingency">
        <ErrorText error={plans.error ?? del.error} />
        {plans.data?.length === 0 && <p className="muted">{t("contingency.empty")}</p>}
        {(plans.data ?? []).map((p) => (
          <div key={p.id} className="finding warn" data-testid="contingency-plan">
            <div className="row">
              <strong>{t(`scenario.${p.scenario}` as MessageKey)}</strong> · {p.title}
              <span className="spacer" />
              <span className="muted small">
                {t("contingency.owner")}: {owner(p.owner_id)}
              </span>
              {!readOnly && (
                <>
                  <button className="small" onClick={() => setEditing(p)}>
                    {t("pg.edit")}
                  </button>
                  <button className="small" onClick={() => setDeleting(p)}>
                    {t("common.delete")}
                  </button>
                </>
              )}
            </div>
            <ol style={{ margin: "4px 0 0" }}>
              {p.steps.map((s, i) => (
                <li key={i}>{s}</li>
              ))}
            </ol>
          </div>
        ))}
      </Card>
      {!readOnly && <PlanForm key={editing?.id ?? "new"} streamId={streamId} plan={editing} team={team.data ?? []} onDone={() => { setEditing(null); refresh(); }} />}
      {deleting && (
        <ConfirmDialog
          title={t("contingency.confirmDelete", { title: deleting.title })}
          confirmLabel={t("common.delete")}
          danger
          busy={del.isPending}
          onCancel={() => setDeleting(null)}
          onConfirm={() => del.mutate(deleting.id)}
        />
      )}
    </div>
  );
}

function PlanForm({ streamId, plan, team, onDone }: { streamId: number; plan: Plan | null; team: Schemas["TeamMemberOut"][]; onDone: () => void }) {
  const { t } = useI18n();
  const [scenario, setScenario] = useState<Scenario>(plan?.scenario ?? "technical_failure");
  const [title, setTitle] = useState(plan?.title ?? "");
  const [steps, setSteps] = useState((plan?.steps ?? []).join("\n"));
  const [ownerId, setOwnerId] = useState(plan?.owner_id != null ? String(plan.owner_id) : "");
  const save = useMutation({
    mutationFn: () => {
      const body = {
        scenario,
        title,
        steps: steps.split("\n").map((s) => s.trim()).filter(Boolean),
        owner_id: ownerId ? Number(ownerId) : null,
      };
      return plan
        ? unwrap(api.PATCH("/api/v1/streams/{stream_id}/contingency-plans/{plan_id}", { params: { path: { stream_id: streamId, plan_id: plan.id } }, body }))
        : unwrap(api.POST("/api/v1/streams/{stream_id}/contingency-plans", { params: { path: { stream_id: streamId } }, body }));
    },
    onSuccess: () => {
      setTitle("");
      setSteps("");
      onDone();
    },
  });
  const errors = errorsOf(save.error);
  function submit(e: FormEvent) {
    e.preventDefault();
    save.mutate();
  }
  return (
    <Card title={plan ? t("contingency.edit", { title: plan.title }) : t("contingency.new")} testId="contingency-form">
      <form onSubmit={submit} className="col">
        <div className="pf-grid">
          <Field label={t("contingency.scenario")} name="scenario" errors={errors}>
            <select value={scenario} onChange={(e) => setScenario(e.target.value as Scenario)} data-testid="cp-scenario">
              {SCENARIOS.map((s) => (
                <option key={s} value={s}>
                  {t(`scenario.${s}` as MessageKey)}
                </option>
              ))}
            </select>
          </Field>
          <Field label={t("contingency.planTitle")} name="title" errors={errors}>
            <input value={title} onChange={(e) => setTitle(e.target.value)} data-testid="cp-title" />
          </Field>
          <Field label={t("contingency.owner")} name="owner_id" errors={errors}>
            <select value={ownerId} onChange={(e) => setOwnerId(e.target.value)} data-testid="cp-owner">
              <option value="">—</option>
              {team.map((m) => (
                <option key={m.user_id} value={m.user_id}>
                  {m.display_name || m.username} · {t(`role.${m.role}` as MessageKey)}
                </option>
              ))}
            </select>
          </Field>
          <Field label={t("contingency.steps")} name="steps" errors={errors} hint={t("contingency.stepsHint")} wide>
            <textarea value={steps} onChange={(e) => setSteps(e.target.value)} rows={4} data-testid="cp-steps" />
          </Field>
        </div>
        <FormActions
          editing={!!plan}
          newLabel={t("common.add")}
          pending={save.isPending}
          error={save.error}
          shown={errors}
          onCancel={onDone}
          testId="cp-submit"
        />
      </form>
    </Card>
  );
}
