import { useSyncExternalStore } from "react";
import { auth } from "./store";

export function useSession() {
  return useSyncExternalStore(auth.subscribe, auth.session);
}
