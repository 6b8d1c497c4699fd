// A websocket to /ws/streams/{id} that reconnects by itself and resumes from the last
// event it saw (`?since=seq`), so a console that drops misses nothing it must act on.
import type { LiveMessage, LiveStatus } from "./types";

export interface LiveSocketOptions {
  path: string; // e.g. "/ws/streams/7"
  token: () => string | null;
  onMessage: (message: LiveMessage) => void;
  onStatus: (status: LiveStatus, detail: { code?: number; reason?: string; retryInMs?: number }) => void;
}

const MAX_BACKOFF_MS = 8000;

export class LiveSocket {
  private ws: WebSocket | null = null;
  private lastSeq: number | null = null;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private readonly opts: LiveSocketOptions;

  constructor(opts: LiveSocketOptions) {
    this.opts = opts;
  }

  get seq(): number | null {
    return this.lastSeq;
  }

  start(): void {
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = null;
      ws.onmessage = null;
      ws.onerror = null;
      ws.close(1000, "leaving");
    }
  }

  /** Drop the connection now and reconnect (used when a gap in `seq` shows a lost event). */
  resync(): void {
    this.ws?.close(4000, "resync");
  }

  private url(): string {
    const qs = new URLSearchParams();
    const token = this.opts.token();
    if (token) qs.set("token", token);
    if (this.lastSeq !== null) qs.set("since", String(this.lastSeq));
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    return `${scheme}://${window.location.host}${this.opts.path}?${qs.toString()}`;
  }

  private open(): void {
    this.opts.onStatus(this.attempt === 0 ? "connecting" : "reconnecting", {});
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url());
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.opts.onStatus("open", {});
    };
    ws.onmessage = (e: MessageEvent) => {
      if (typeof e.data !== "string") return;
      let msg: unknown;
      try {
        msg = JSON.parse(e.data);
      } catch {
        return;
      }
      if (typeof msg !== "object" || msg === null || typeof (msg as { type?: unknown }).type !== "string") return;
      const m = msg as LiveMessage & { seq?: unknown };
      if (m.type === "snapshot") {
        if (typeof m.seq === "number") this.lastSeq = m.seq;
      } else if (typeof m.seq === "number") {
        if (this.lastSeq !== null && m.seq <= this.lastSeq) return; // already seen (resume overlap)
        if (this.lastSeq !== null && m.seq > this.lastSeq + 1) {
          // A gap: an event was lost. Reconnect from the last one we have.
          this.resync();
          return;
        }
        this.lastSeq = m.seq;
      }
      this.opts.onMessage(m);
    };
    ws.onclose = (e: CloseEvent) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      if (e.code === 4401 || e.code === 4403) {
        this.opts.onStatus("denied", { code: e.code, reason: e.reason });
        return;
      }
      this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    this.attempt += 1;
    const base = Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(this.attempt, 6));
    const delay = Math.round(base / 2 + Math.random() * (base / 2));
    this.opts.onStatus("reconnecting", { retryInMs: delay });
    this.timer = setTimeout(() => {
      this.timer = null;
      this.open();
    }, delay);
  }
}
