// Planning pages (直播策划): settings, team, lineup with drag to reorder, script on a
// timeline, technical checklist, contingency plans, warm-ups and reservations, ingest
// keys, readiness and go-live. The host reads the plan; only admins and the stream's
// controllers change it (the server refuses the rest).
import { NavLink, Navigate, Route, Routes } from "react-router";
import { useStreamRole } from "../../auth/roles";
import { useStreamId } from "../../components/layout";
import { useT } from "../../i18n";
import { TeamPage } from "../people/TeamPage";
import { ContingencyPlans } from "../settings/Contingency";
import { IngestKeys } from "../settings/IngestKeys";
import { StreamSettings } from "../settings/StreamSettings";
import { Warmups } from "../settings/Warmups";
import { CarryOver } from "./CarryOver";
import { ChecklistPlan } from "./Checklist";
import { LineupPlan } from "./LineupPlan";
import { Readiness } from "./Readiness";
import { ScriptEditor } from "./ScriptEditor";

export function PlanningPage() {
  const t = useT();
  const streamId = useStreamId();
  const base = `/streams/${streamId}/plan`;
  const { role } = useStreamRole(streamId);
  const readOnly = role !== "admin" && role !== "controller";
  return (
    <div className="page" data-testid="planning">
      {!readOnly && <CarryOver streamId={streamId} />}
      {readOnly && (
        <div className="banner banner-warn" data-testid="plan-read-only">
          {t("plan.readOnly")}
        </div>
      )}
      <nav className="tabs">
        <NavLink to={`${base}/settings`} data-testid="tab-settings">{t("plan.settings")}</NavLink>
        <NavLink to={`${base}/team`} data-testid="tab-team">{t("plan.team")}</NavLink>
        <NavLink to={`${base}/lineup`} data-testid="tab-lineup">{t("plan.lineup")}</NavLink>
        <NavLink to={`${base}/script`} data-testid="tab-script">{t("plan.script")}</NavLink>
        <NavLink to={`${base}/checklist`} data-testid="tab-checklist">{t("plan.checklist")}</NavLink>
        <NavLink to={`${base}/contingency`} data-testid="tab-contingency">{t("plan.contingency")}</NavLink>
        <NavLink to={`${base}/warmups`} data-testid="tab-warmups">{t("plan.warmups")}</NavLink>
        {!readOnly && <NavLink to={`${base}/ingest`} data-testid="tab-ingest">{t("plan.ingest")}</NavLink>}
        <NavLink to={`${base}/readiness`} data-testid="tab-readiness">{t("plan.readiness")}</NavLink>
      </nav>
      {/* Read-only for the host: every control of the plan is disabled, not just refused. */}
      <fieldset className="pf-plain" disabled={readOnly}>
        <Routes>
          <Route index element={<Navigate to={readOnly ? "script" : "lineup"} replace />} />
          <Route path="settings" element={<StreamSettings streamId={streamId} readOnly={readOnly} />} />
          <Route path="team" element={<TeamPage streamId={streamId} />} />
          <Route path="lineup" element={<LineupPlan streamId={streamId} />} />
          <Route path="script" element={<ScriptEditor streamId={streamId} />} />
          <Route path="checklist" element={<ChecklistPlan streamId={streamId} />} />
          <Route path="contingency" element={<ContingencyPlans streamId={streamId} readOnly={readOnly} />} />
          <Route path="warmups" element={<Warmups streamId={streamId} readOnly={readOnly} />} />
          {!readOnly && <Route path="ingest" element={<IngestKeys streamId={streamId} />} />}
          <Route path="readiness" element={<Readiness streamId={streamId} />} />
        </Routes>
      </fieldset>
    </div>
  );
}
