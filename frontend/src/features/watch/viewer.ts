// The watch page's viewer session: one per stream per browser, kept in localStorage so a
// reload is the same viewer (per-user limits and lottery entries depend on it).
import { rawApi } from "../../api/client";

export interface ViewerSession {
  viewer_id: string;
  viewer_token: string;
  expires_at?: string;
}

const key = (streamId: number) => `lcr.viewer.${streamId}`;

export function storedViewer(streamId: number): ViewerSession | null {
  try {
    const v = JSON.parse(localStorage.getItem(key(streamId)) ?? "null") as ViewerSession | null;
    if (!v?.viewer_token) return null;
    if (v.expires_at && Date.parse(v.expires_at) < Date.now() + 60_000) return null;
    return v;
  } catch {
    return null;
  }
}

export async function openViewer(streamId: number): Promise<ViewerSession> {
  const existing = storedViewer(streamId);
  if (existing) return existing;
  const v = await rawApi<ViewerSession>("POST", `/api/v1/streams/${streamId}/viewers`, {});
  localStorage.setItem(key(streamId), JSON.stringify(v));
  return v;
}

export function forgetViewer(streamId: number): void {
  localStorage.removeItem(key(streamId));
}

/** A call made as the viewer (their token, never a staff token). */
export function asViewer<T>(v: ViewerSession, method: "GET" | "POST", path: string, body?: unknown, headers: Record<string, string> = {}) {
  return rawApi<T>(method, path, body, { ...headers, Authorization: `Bearer ${v.viewer_token}` });
}
