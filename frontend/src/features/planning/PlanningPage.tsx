import { Pending } from "../../components/ui";

export function PlanningPage() {
  return <Pending what="PlanningPage" />;
}
