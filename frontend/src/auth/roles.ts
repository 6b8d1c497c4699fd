// Which console each role may open. The server enforces the same rules on every
// endpoint and websocket; this only keeps people from opening a page that would refuse.
import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import type { Role } from "./store";
import { useSession } from "./useAuth";

export type ConsoleName = "plan" | "teleprompter" | "control" | "service" | "review" | "connect";

export const CONSOLE_ROLES: Record<ConsoleName, readonly Role[]> = {
  plan: ["admin", "controller", "host"], // the host reads the plan (read-only)
  teleprompter: ["admin", "host", "controller"],
  control: ["admin", "controller"],
  service: ["admin", "controller", "service"],
  review: ["admin", "controller", "analyst", "host"],
  connect: ["admin", "controller"], // 平台对接 (issue 18)
};

export const CONSOLES: readonly ConsoleName[] = ["plan", "teleprompter", "control", "service", "review", "connect"];

export function mayOpen(role: Role | null | undefined, console: ConsoleName): boolean {
  return !!role && CONSOLE_ROLES[console].includes(role);
}

/** The user's role on one stream: admin everywhere, else the team role (null: not on it). */
export function useStreamRole(streamId: number): { role: Role | null; loading: boolean } {
  const session = useSession();
  const user = session?.user;
  const isAdmin = user?.role === "admin";
  const team = useQuery({
    queryKey: ["team", streamId],
    enabled: !!user && !isAdmin && Number.isFinite(streamId),
    queryFn: () =>
      unwrap(api.GET("/api/v1/streams/{stream_id}/team", { params: { path: { stream_id: streamId } } })),
    retry: false,
  });
  if (!user) return { role: null, loading: false };
  if (isAdmin) return { role: "admin", loading: false };
  if (team.isPending) return { role: null, loading: true };
  const member = team.data?.find((m) => m.user_id === user.id);
  return { role: member?.role ?? null, loading: false };
}
