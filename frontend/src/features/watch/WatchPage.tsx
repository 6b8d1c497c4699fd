import { Pending } from "../../components/ui";

export function WatchPage() {
  return <Pending what="WatchPage" />;
}
