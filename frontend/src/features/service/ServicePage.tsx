// The customer-service console (客服工作台): merged, ranked viewer questions and
// complaints with counts and waiting time; claim / answer / dismiss; quick replies and
// suggestions; order requests; a filter by topic; a cue to the host in one click.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, rawApi, unwrap } from "../../api/client";
import { useSession } from "../../auth/useAuth";
import { useStreamId } from "../../components/layout";
import { Card, ConnectionBanner, ErrorText, formatDuration, isMissing, Pending, useNow } from "../../components/ui";
import { useI18n, type MessageKey } from "../../i18n";
import { useStreamLive } from "../../live/streamData";

export interface QueueItem {
  id: number;
  kind?: string; // question | complaint | order_request
  topic?: string | null;
  sentiment?: string | null;
  text: string;
  count?: number;
  askers?: unknown[];
  status?: string; // open | claimed | answered | dismissed
  claimed_by?: number | null;
  claimed_by_name?: string | null;
  first_at?: string;
  created_at?: string;
  first_asked_at?: string;
  waiting_seconds?: number;
  answer?: string | null;
  suggestions?: (string | { text: string })[];
  product_id?: number | null;
}

interface QuickReply {
  id: number;
  text: string;
  title?: string;
  product_id?: number | null;
}

interface OrderRequest {
  id: number;
  order_id: number;
  kind: string;
  status: string;
  reason: string;
  address: Record<string, string> | null;
  created_at: string;
}

const TOPICS = ["product", "promotion", "logistics", "after_sales", "order", "other"] as const;

function asList<T>(raw: unknown): T[] {
  if (Array.isArray(raw)) return raw as T[];
  if (raw && typeof raw === "object" && Array.isArray((raw as { items?: unknown }).items)) return (raw as { items: T[] }).items;
  return [];
}

export function waitingSince(q: QueueItem): string | undefined {
  return q.first_asked_at ?? q.first_at ?? q.created_at;
}

export function ServicePage() {
  const { t } = useI18n();
  const streamId = useStreamId();
  const live = useStreamLive(streamId);
  const [topic, setTopic] = useState<string>("");
  const [showDone, setShowDone] = useState(false);
  const items = useQuery({
    queryKey: ["questions", streamId, showDone],
    queryFn: () => rawApi<unknown>("GET", `/api/v1/streams/${streamId}/questions${showDone ? "?status=all" : ""}`),
    select: (raw) => asList<QueueItem>(raw),
    refetchInterval: 10_000,
  });
  const replies = useQuery({
    queryKey: ["quick-replies", streamId],
    queryFn: () => rawApi<unknown>("GET", `/api/v1/streams/${streamId}/quick-replies`),
    select: (raw) => asList<QuickReply>(raw),
    retry: false,
  });
  const shown = (items.data ?? []).filter((q) => !topic || q.topic === topic);
  return (
    <div className="page" data-testid="service-console">
      <ConnectionBanner live={live} />
      <div className="control-grid">
        <div className="col-main">
          <Card
            title={t("service.queue")}
            testId="queue"
            actions={
              <div className="row">
                <select value={topic} onChange={(e) => setTopic(e.target.value)} data-testid="topic-filter">
                  <option value="">{t("service.allTopics")}</option>
                  {TOPICS.map((k) => (
                    <option key={k} value={k}>
                      {t(`topic.${k}`)}
                    </option>
                  ))}
                </select>
                <label className="inline">
                  <input type="checkbox" checked={showDone} onChange={(e) => setShowDone(e.target.checked)} />
                  {t("service.showDone")}
                </label>
              </div>
            }
          >
            {isMissing(items.error) ? <Pending what={t("service.queue")} /> : <ErrorText error={items.error} />}
            <div className="queue">
              {shown.map((q) => (
                <QueueCard key={q.id} item={q} streamId={streamId} replies={replies.data ?? []} />
              ))}
              {items.data && shown.length === 0 && <p className="muted">{t("service.empty")}</p>}
            </div>
          </Card>
        </div>
        <div className="col-side">
          <OrderRequests streamId={streamId} />
          <QuickReplies streamId={streamId} replies={replies.data} error={replies.error} />
        </div>
      </div>
    </div>
  );
}

function QueueCard({ item, streamId, replies }: { item: QueueItem; streamId: number; replies: QuickReply[] }) {
  const { t } = useI18n();
  const qc = useQueryClient();
  const session = useSession();
  const now = useNow(1000);
  const [answer, setAnswer] = useState(item.answer ?? "");
  const [publicAnswer, setPublicAnswer] = useState(true);
  const since = waitingSince(item);
  const waited = since ? (now - Date.parse(since)) / 1000 : item.waiting_seconds ?? null;
  const mine = item.claimed_by !== null && item.claimed_by !== undefined && item.claimed_by === session?.user.id;
  const done = item.status === "answered" || item.status === "dismissed";
  const refresh = () => void qc.invalidateQueries({ queryKey: ["questions", streamId] });
  const act = useMutation({
    mutationFn: (action: "claim" | "answer" | "dismiss" | "reopen" | "cue") => {
      if (action === "cue") {
        return unwrap(
          api.POST("/api/v1/streams/{stream_id}/cues", {
            params: { path: { stream_id: streamId } },
            body: { text: t("service.cueText", { n: item.count ?? 1, text: item.text }).slice(0, 500), priority: (item.count ?? 1) >= 10 ? "high" : "normal", product_id: item.product_id ?? null },
          }),
        );
      }
      const body = action === "answer" ? { text: answer, public: publicAnswer } : undefined;
      return rawApi("POST", `/api/v1/streams/${streamId}/questions/${item.id}/${action}`, body);
    },
    onSettled: refresh,
  });
  const suggestions = (item.suggestions ?? []).map((s) => (typeof s === "string" ? s : s.text));
  return (
    <div className={`q-item${mine ? " claimed-mine" : ""}${!done && waited !== null && waited > 120 ? " late" : ""}`} data-testid="queue-item">
      <div className="q-head">
        <span className="q-count" data-testid="queue-count">×{item.count ?? 1}</span>
        {item.kind && <span className={`badge ${item.kind === "complaint" ? "badge-bad" : ""}`}>{t(`qkind.${item.kind}` as MessageKey)}</span>}
        {item.topic && <span className="badge">{t(`topic.${item.topic}` as MessageKey)}</span>}
        {item.sentiment === "negative" && <span className="badge badge-warn">{t("service.negative")}</span>}
        <span className="spacer" />
        {waited !== null && !done && (
          <span className={waited > 120 ? "bad" : "muted"} data-testid="queue-waiting">
            {t("service.waiting", { t: formatDuration(waited) })}
          </span>
        )}
        {item.status && <span className="badge">{t(`qstatus.${item.status}` as MessageKey)}</span>}
      </div>
      <div className="q-text" data-testid="queue-text">{item.text}</div>
      {item.claimed_by_name && !mine && <div className="muted small">{t("service.claimedBy", { name: item.claimed_by_name })}</div>}
      {done ? (
        <div className="row">
          {item.answer && <span className="muted">A: {item.answer}</span>}
          <span className="spacer" />
          <button className="small" onClick={() => act.mutate("reopen")}>
            {t("service.reopen")}
          </button>
        </div>
      ) : (
        <>
          {(suggestions.length > 0 || replies.length > 0) && (
            <div className="quick-replies">
              {suggestions.map((s, i) => (
                <button key={`s${i}`} className="small" onClick={() => setAnswer(s)} title={t("service.suggestion")}>
                  ✦ {s.length > 24 ? `${s.slice(0, 24)}…` : s}
                </button>
              ))}
              {replies.slice(0, 6).map((r) => (
                <button key={r.id} className="small" onClick={() => setAnswer(r.text)}>
                  {r.title || (r.text.length > 16 ? `${r.text.slice(0, 16)}…` : r.text)}
                </button>
              ))}
            </div>
          )}
          <textarea rows={2} value={answer} onChange={(e) => setAnswer(e.target.value)} placeholder={t("service.answerPlaceholder")} data-testid="answer-text" />
          <div className="row">
            {!mine && (
              <button className="small" onClick={() => act.mutate("claim")} disabled={act.isPending} data-testid="btn-claim">
                {t("service.claim")}
              </button>
            )}
            <label className="inline">
              <input type="checkbox" checked={publicAnswer} onChange={(e) => setPublicAnswer(e.target.checked)} data-testid="answer-public" />
              {t("service.public")}
            </label>
            <button className="small primary" onClick={() => act.mutate("answer")} disabled={act.isPending || !answer.trim()} data-testid="btn-answer">
              {t("service.answer")}
            </button>
            <button className="small" onClick={() => act.mutate("dismiss")} disabled={act.isPending} data-testid="btn-dismiss">
              {t("service.dismiss")}
            </button>
            <span className="spacer" />
            <button className="small" onClick={() => act.mutate("cue")} disabled={act.isPending} title={t("service.cueHost")}>
              ◆ {t("service.cueHost")}
            </button>
          </div>
        </>
      )}
      <ErrorText error={act.error} />
    </div>
  );
}

function OrderRequests({ streamId }: { streamId: number }) {
  const { t, time } = useI18n();
  const qc = useQueryClient();
  const reqs = useQuery({
    queryKey: ["order-requests", streamId],
    queryFn: () => rawApi<unknown>("GET", `/api/v1/streams/${streamId}/order-requests`),
    select: (raw) => asList<OrderRequest>(raw),
    refetchInterval: 15_000,
  });
  const decide = useMutation({
    mutationFn: ({ id, ok }: { id: number; ok: boolean }) => rawApi("POST", `/api/v1/streams/${streamId}/order-requests/${id}/${ok ? "approve" : "reject"}`, { note: "" }),
    onSettled: () => void qc.invalidateQueries({ queryKey: ["order-requests", streamId] }),
  });
  const open = (reqs.data ?? []).filter((r) => r.status === "pending" || r.status === "open");
  return (
    <Card title={t("service.orderRequests")} testId="order-requests">
      {isMissing(reqs.error) ? <Pending what={t("service.orderRequests")} /> : <ErrorText error={reqs.error ?? decide.error} />}
      <div className="feed">
        {open.map((r) => (
          <div className="feed-item" key={r.id}>
            <span className="feed-time">{time(r.created_at)}</span>
            <span className="text">
              <span className="badge">{t(`oreq.${r.kind}` as MessageKey)}</span> #{r.order_id} {r.reason}
              {r.address && <div className="muted small">{Object.values(r.address).filter(Boolean).join(" ")}</div>}
            </span>
            <button className="small good" onClick={() => decide.mutate({ id: r.id, ok: true })}>
              {t("service.approve")}
            </button>
            <button className="small" onClick={() => decide.mutate({ id: r.id, ok: false })}>
              {t("service.reject")}
            </button>
          </div>
        ))}
        {reqs.data && open.length === 0 && <span className="muted">{t("common.none")}</span>}
      </div>
    </Card>
  );
}

function QuickReplies({ streamId, replies, error }: { streamId: number; replies: QuickReply[] | undefined; error: unknown }) {
  const { t } = useI18n();
  const qc = useQueryClient();
  const [text, setText] = useState("");
  const add = useMutation({
    mutationFn: () => rawApi("POST", `/api/v1/streams/${streamId}/quick-replies`, { text }),
    onSuccess: () => {
      setText("");
      void qc.invalidateQueries({ queryKey: ["quick-replies", streamId] });
    },
  });
  return (
    <Card title={t("service.quickReplies")} testId="quick-replies">
      {isMissing(error) ? <Pending what={t("service.quickReplies")} /> : <ErrorText error={error ?? add.error} />}
      <div className="feed" style={{ maxHeight: 220 }}>
        {(replies ?? []).map((r) => (
          <div className="feed-item" key={r.id}>
            <span className="text">{r.text}</span>
          </div>
        ))}
      </div>
      <form
        className="row"
        style={{ marginTop: 8 }}
        onSubmit={(e) => {
          e.preventDefault();
          add.mutate();
        }}
      >
        <input value={text} onChange={(e) => setText(e.target.value)} placeholder={t("service.quickReplyPlaceholder")} required style={{ flex: 1 }} />
        <button disabled={add.isPending}>{t("common.add")}</button>
      </form>
      <p className="muted small">{t("service.quickReplyVars")}</p>
    </Card>
  );
}
