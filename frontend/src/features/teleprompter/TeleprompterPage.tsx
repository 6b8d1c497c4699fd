import { Pending } from "../../components/ui";

export function TeleprompterPage() {
  return <Pending what="TeleprompterPage" />;
}
