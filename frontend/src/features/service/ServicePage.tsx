import { Pending } from "../../components/ui";

export function ServicePage() {
  return <Pending what="ServicePage" />;
}
