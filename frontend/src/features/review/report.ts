// The review report's shape (GET /streams/{id}/review). The backend answers it without a
// response_model (a computed document: app/services/review_report.py build_review), so
// it is typed here; the path itself is still checked against the generated schema.
import { api, ApiError, unwrap } from "../../api/client";
import { auth } from "../../auth/store";

export type Row = Record<string, unknown>;

export interface FunnelStep {
  step: string;
  count: number;
  viewers?: number;
  rate?: number | null;
}

export interface Diagnosis {
  code: string;
  severity: "warning" | "critical" | string;
  message: string;
  suggestion?: string;
  product_id?: number;
  segment_id?: number;
  evidence: Record<string, number | string | null>;
}

export interface Compared {
  value: number | string;
  median: number | string;
  change: number | null;
}

export interface Target {
  metric: string;
  target: number | string;
  actual: number | string;
  achievement: number;
  met: boolean;
}

export interface SegmentFigures extends Row {
  segment_id: number;
  position: number;
  kind: string;
  title: string;
  product_id: number | null;
  start: string | null;
  end: string | null;
  product_clicks: number;
  add_to_cart: number;
  orders: number;
  paid_orders: number;
  gmv: string;
  comments: number;
  online_start: number;
  online_end: number;
}

export interface ExplanationWindow extends Row {
  product_id: number;
  start: string;
  end: string;
  duration_seconds: number;
  product_clicks: number;
  add_to_cart: number;
  orders: number;
  paid_orders: number;
  units_sold: number;
  gmv: string;
}

export interface TimelineEntry {
  at: string;
  offset_seconds: number | null;
  kind: "incident" | "alert";
  type: string;
  level?: string;
  text: string;
  /** Alerts: `alert.<kind>` and its params, worded in the console's language. */
  code?: string;
  params?: Record<string, unknown>;
  resolved_at: string | null;
}

export interface QuestionItem {
  item_id: number;
  text: string;
  topic: string | null;
  askers: number;
  mentions: number;
  answered: boolean;
  answer_seconds: number | null;
}

export interface Questions {
  comments_classified: number;
  blocked: number;
  sentiment: Record<string, number>;
  negative_share: number;
  question_topics: { topic: string; questions: number; items: number }[];
  top_questions: QuestionItem[];
  top_complaints: QuestionItem[];
  queue: { question_items: number; askers: number; answered: number; unanswered: number; answer_rate: number; avg_answer_seconds: number | null };
}

export interface ReviewReport {
  stream_id: number;
  title: string;
  status: string;
  started_at: string | null;
  ended_at: string | null;
  duration_seconds: number;
  viewers: number;
  peak_online: number;
  avg_watch_seconds: number;
  interaction_rate: number;
  follower_conversion_rate: number;
  comments: number;
  likes: number;
  shares: number;
  follows: number;
  new_followers: number;
  gmv: string;
  refunds: string;
  net_gmv: string;
  orders: number;
  paid_orders: number;
  units_sold: number;
  paying_customers: number;
  aov: string;
  gpm: string;
  conversion_rate: number;
  refund_rate: number;
  funnel: FunnelStep[];
  products: Row[];
  minutes: Row[];
  traffic_sources: { source: string; viewers: number; share: number }[];
  new_vs_returning: { new_viewers: number; returning_viewers: number; returning_share: number };
  targets: Target[];
  segments: SegmentFigures[];
  explanations: ExplanationWindow[];
  timeline: TimelineEntry[];
  questions?: Questions;
  diagnoses: Diagnosis[];
  comparison: { last: number; stream_ids: number[]; figures: Record<string, Compared> };
  [k: string]: unknown;
}

export async function fetchReview(streamId: number, compareLast: number): Promise<ReviewReport> {
  const data: unknown = await unwrap(
    api.GET("/api/v1/streams/{stream_id}/review", {
      params: { path: { stream_id: streamId }, query: { compare_last: compareLast } },
    }),
  );
  return data as ReviewReport;
}

/** RFC 4180 CSV, with a BOM so spreadsheet apps read the Chinese correctly. */
export function toCsv(rows: Row[]): string {
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown) => {
    const s = v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return "\ufeff" + [cols.join(","), ...rows.map((r) => cols.map((c) => cell(r[c])).join(","))].join("\r\n") + "\r\n";
}

export function download(name: string, blob: Blob) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function exportRows(name: string, rows: Row[]) {
  download(name, new Blob([toCsv(rows)], { type: "text/csv;charset=utf-8" }));
}

/** Download a file endpoint with the staff token (CSV / XLSX exports). */
export async function downloadFile(path: string, name: string) {
  const res = await fetch(path, { headers: { Authorization: `Bearer ${auth.token() ?? ""}` } });
  if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
  download(name, await res.blob());
}

export function pct(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined || Number.isNaN(v) ? "—" : `${(v * 100).toFixed(digits)}%`;
}
