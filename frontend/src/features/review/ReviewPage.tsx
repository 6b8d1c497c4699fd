import { Pending } from "../../components/ui";

export function ReviewPage() {
  return <Pending what="ReviewPage" />;
}
