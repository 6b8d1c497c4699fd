// Planning pages (直播策划): lineup with drag to reorder, script on a timeline,
// technical checklist, readiness and go-live.
import { NavLink, Navigate, Route, Routes } from "react-router";
import { useStreamId } from "../../components/layout";
import { useT } from "../../i18n";
import { CarryOver } from "./CarryOver";
import { ChecklistPlan } from "./Checklist";
import { LineupPlan } from "./LineupPlan";
import { Readiness } from "./Readiness";
import { ScriptEditor } from "./ScriptEditor";

export function PlanningPage() {
  const t = useT();
  const streamId = useStreamId();
  const base = `/streams/${streamId}/plan`;
  return (
    <div className="page" data-testid="planning">
      <CarryOver streamId={streamId} />
      <nav className="tabs">
        <NavLink to={`${base}/lineup`}>{t("plan.lineup")}</NavLink>
        <NavLink to={`${base}/script`}>{t("plan.script")}</NavLink>
        <NavLink to={`${base}/checklist`}>{t("plan.checklist")}</NavLink>
        <NavLink to={`${base}/readiness`}>{t("plan.readiness")}</NavLink>
      </nav>
      <Routes>
        <Route index element={<Navigate to="lineup" replace />} />
        <Route path="lineup" element={<LineupPlan streamId={streamId} />} />
        <Route path="script" element={<ScriptEditor streamId={streamId} />} />
        <Route path="checklist" element={<ChecklistPlan streamId={streamId} />} />
        <Route path="readiness" element={<Readiness streamId={streamId} />} />
      </Routes>
    </div>
  );
}
