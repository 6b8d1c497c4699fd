import { Pending } from "../../components/ui";

export function ControlPage() {
  return <Pending what="ControlPage" />;
}
