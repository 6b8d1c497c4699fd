// A websocket to /ws/streams/{id} that reconnects by itself and resumes from the last
// position it saw (`?since=epoch:seq`), so a console that drops misses nothing it must
// act on. Positions are (epoch, seq) (app/realtime/protocol.py): a new epoch means the
// server's counter restarted, so the console takes the new base instead of dropping
// "old" seqs; events with an outbox `id` already seen are repeats and are dropped.
import type { LiveMessage, LiveStatus } from "./types";

export interface LiveSocketOptions {
  path: string; // e.g. "/ws/streams/7"
  token: () => string | null;
  onMessage: (message: LiveMessage) => void;
  onStatus: (status: LiveStatus, detail: { code?: number; reason?: string; retryInMs?: number }) => void;
}

const MAX_BACKOFF_MS = 8000;
const SILENCE_MS = 60_000;
const SEEN_IDS = 2048;

export class LiveSocket {
  private ws: WebSocket | null = null;
  private lastSeq: number | null = null;
  private epoch: string | null = null;
  private seenIds = new Set<number>();
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private lastMessageAt = 0;
  private watchdog: ReturnType<typeof setInterval> | null = null;
  private readonly opts: LiveSocketOptions;

  constructor(opts: LiveSocketOptions) {
    this.opts = opts;
  }

  get seq(): number | null {
    return this.lastSeq;
  }

  /** The last position seen, as sent in `?since=`. */
  get position(): string | null {
    return this.lastSeq !== null && this.epoch !== null ? `${this.epoch}:${this.lastSeq}` : null;
  }

  /** Remember an outbox id; false when it was seen already (a relayed repeat). */
  private firstSight(id: unknown): boolean {
    if (typeof id !== "number") return true;
    if (this.seenIds.has(id)) return false;
    this.seenIds.add(id);
    if (this.seenIds.size > SEEN_IDS) {
      const oldest = this.seenIds.values().next().value;
      if (oldest !== undefined) this.seenIds.delete(oldest);
    }
    return true;
  }

  start(): void {
    this.stopped = false;
    this.open();
    // The server pings after 25 s of silence; nothing for much longer means the
    // connection is dead without a close (sleeping laptop, lost Wi-Fi): reconnect.
    this.watchdog = setInterval(() => {
      if (this.ws && this.ws.readyState === WebSocket.OPEN && Date.now() - this.lastMessageAt > SILENCE_MS) {
        this.resync();
      }
    }, 5000);
  }

  stop(): void {
    this.stopped = true;
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
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

  /** Drop the connection now and reconnect (resuming from the last event seen). */
  resync(): void {
    this.ws?.close(4000, "resync");
  }

  private url(): string {
    const qs = new URLSearchParams();
    const token = this.opts.token();
    if (token) qs.set("token", token);
    const position = this.position;
    if (position !== null) qs.set("since", position);
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
      this.lastMessageAt = Date.now();
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
      const m = msg as LiveMessage & { seq?: unknown; epoch?: unknown; resumed?: unknown; id?: unknown };
      this.lastMessageAt = Date.now();
      if (m.type === "ping" || m.type === "pong") return;
      if (m.type === "snapshot") {
        // Resumed: the events we missed follow the snapshot, so keep our position to
        // accept them. Not resumed (another epoch, history too short): the snapshot is
        // the new base.
        if (typeof m.seq === "number" && !(m.resumed === true && this.lastSeq !== null)) {
          this.lastSeq = m.seq;
          this.epoch = typeof m.epoch === "string" ? m.epoch : null;
        }
      } else if (typeof m.seq === "number") {
        const epoch = typeof m.epoch === "string" ? m.epoch : null;
        // Gaps are normal (events for other roles are not sent to us); repeats are not.
        // Another epoch: the server's counter restarted, this event starts the new base.
        if (epoch === this.epoch && this.lastSeq !== null && m.seq <= this.lastSeq) return;
        if (!this.firstSight(m.id)) return;
        this.lastSeq = m.seq;
        this.epoch = epoch;
      } else if (!this.firstSight(m.id)) {
        return;
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
