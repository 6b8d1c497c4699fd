// The watch page's viewer session: one per stream per browser, kept in localStorage so a
// reload is the same viewer (per-user limits and lottery entries depend on it).
import { api, unwrap, type Schemas } from "../../api/client";

export type ViewerSession = Schemas["ViewerSessionOut"];

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
  const v = await unwrap(api.POST("/api/v1/streams/{stream_id}/viewers", { params: { path: { stream_id: streamId } } }));
  localStorage.setItem(key(streamId), JSON.stringify(v));
  return v;
}

export function forgetViewer(streamId: number): void {
  localStorage.removeItem(key(streamId));
}

/** Headers for a call made as the viewer (their token, never a staff token). */
export function viewerHeaders(v: ViewerSession, extra: Record<string, string> = {}): Record<string, string> {
  return { ...extra, Authorization: `Bearer ${v.viewer_token}` };
}

export type ViewerEvent = Schemas["ViewerActionIn"];

/** Report a watch-page action (join, click, follow, …) as the viewer. */
export function viewerEvent(v: ViewerSession, streamId: number, body: ViewerEvent) {
  return unwrap(
    api.POST("/api/v1/streams/{stream_id}/viewer-events", {
      params: { path: { stream_id: streamId } },
      body,
      headers: viewerHeaders(v),
    }),
  );
}
