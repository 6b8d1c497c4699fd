// The customer-service console (客服工作台): merged, ranked viewer questions and
// complaints with counts and waiting time; claim / answer / dismiss; quick replies and
// suggestions; order requests; a filter by topic; a cue to the host in one click.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, unwrap, type Schemas } from "../../api/client";
import { useSession } from "../../auth/useAuth";
import { useStreamId } from "../../components/layout";
import { Card, ConnectionBanner, ErrorText, formatDuration, isMissing, Pending, useNow } from "../../components/ui";
import { useI18n, type MessageKey } from "../../i18n";
import { pollUnlessLive, useStreamLive } from "../../live/streamData";
import { ClaimsPreview } from "../planning/Claims";
import { RecentComments } from "./CorrectComment";

export type QueueItem = Schemas["QueueItemOut"];
type QuickReply = Schemas["ReplyOut"];


const TOPICS = ["product", "promo", "logistics", "after_sales", "order", "none"] as const;

export function ServicePage() {
  const { t } = useI18n();
  const streamId = useStreamId();
  const live = useStreamLive(streamId);
  const [topic, setTopic] = useState<string>("");
  const [showDone, setShowDone] = useState(false);
  const path = { params: { path: { stream_id: streamId } } };
  const items = useQuery({
    queryKey: ["questions", streamId, showDone],
    queryFn: () =>
      unwrap(api.GET("/api/v1/streams/{stream_id}/queue", { params: { path: { stream_id: streamId }, query: showDone ? { status: ["open", "claimed", "answered", "dismissed"] } : {} } })),
    refetchInterval: pollUnlessLive(streamId, 15_000),
  });
  const replies = useQuery({
    queryKey: ["quick-replies", streamId],
    queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/quick-replies", path)),
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
            <ErrorText error={items.error} />
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
          <RecentComments streamId={streamId} />
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
  // Answering publicly (on screen for the whole room) is a deliberate choice, not the default.
  const [publicAnswer, setPublicAnswer] = useState(false);
  const [open, setOpen] = useState(false);
  const ids = { params: { path: { stream_id: streamId, item_id: item.id } } };
  // Suggestions (FAQ matches) and the askers come with the item's detail, fetched on demand.
  const detail = useQuery({
    queryKey: ["questions", streamId, "detail", item.id],
    enabled: open,
    queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/queue/{item_id}", ids)),
  });
  const mine = item.claimed_by !== null && item.claimed_by === session?.user.id;
  const done = item.status === "answered" || item.status === "dismissed";
  const waited = (now - Date.parse(item.first_at)) / 1000;
  // Graded by the item's own SLA clock, ticking here: due soon (amber), then late (red).
  const left = (Date.parse(item.sla_due_at) - now) / 1000;
  const urgency = done ? "" : left < 0 ? "late" : left < 30 ? "due-soon" : "";
  const refresh = () => void qc.invalidateQueries({ queryKey: ["questions", streamId] });
  const act = useMutation({
    mutationFn: (action: "claim" | "answer" | "dismiss" | "reopen" | "cue"): Promise<unknown> => {
      switch (action) {
        case "claim":
          return unwrap(api.POST("/api/v1/streams/{stream_id}/queue/{item_id}/claim", ids));
        case "answer":
          return unwrap(api.POST("/api/v1/streams/{stream_id}/queue/{item_id}/answer", { ...ids, body: { text: answer, public: publicAnswer } }));
        case "dismiss":
          return unwrap(api.POST("/api/v1/streams/{stream_id}/queue/{item_id}/dismiss", ids));
        case "reopen":
          return unwrap(api.POST("/api/v1/streams/{stream_id}/queue/{item_id}/reopen", ids));
        case "cue":
          return unwrap(api.POST("/api/v1/streams/{stream_id}/queue/{item_id}/cue", ids));
      }
    },
    onSettled: refresh,
  });
  const suggestions = (detail.data?.suggestions ?? []).map((s) => s.answer);
  const itemReplies = detail.data?.quick_replies ?? replies;
  return (
    <div className={`q-item${mine ? " claimed-mine" : ""}${urgency ? ` ${urgency}` : ""}`} data-urgency={urgency || "ok"} data-testid="queue-item" onFocus={() => setOpen(true)} onMouseEnter={() => setOpen(true)}>
      <div className="q-head">
        <span className="q-count" data-testid="queue-count">
          ×{item.asker_count}
        </span>
        <span className={`badge ${item.kind === "complaint" ? "badge-bad" : ""}`}>{t(`qkind.${item.kind}` as MessageKey)}</span>
        <span className="badge">{t(`topic.${item.topic}` as MessageKey)}</span>
        {item.negative_count > 0 && <span className="badge badge-warn">{t("service.negative")}</span>}
        <span className="spacer" />
        {!done && (
          <span className={urgency === "late" ? "bad" : urgency === "due-soon" ? "warn" : "muted"} data-testid="queue-waiting">
            {t("service.waiting", { t: formatDuration(waited) })}
          </span>
        )}
        <span className="badge" data-testid="queue-status">{t(`qstatus.${item.status}` as MessageKey)}</span>
      </div>
      <div className="q-text" data-testid="queue-text">
        {item.title}
      </div>
      {item.claimed_by !== null && !mine && !done && <div className="muted small">{t("service.claimedByOther")}</div>}
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
          {(suggestions.length > 0 || itemReplies.length > 0) && (
            <div className="quick-replies">
              {suggestions.map((s, i) => (
                <button key={`s${i}`} className="small" onClick={() => setAnswer(s)} title={t("service.suggestion")}>
                  ✦ {s.length > 24 ? `${s.slice(0, 24)}…` : s}
                </button>
              ))}
              {itemReplies.slice(0, 6).map((r) => (
                <button key={r.id} className="small" onClick={() => setAnswer(r.rendered || r.body)}>
                  {r.title}
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
            <button className="small" onClick={() => act.mutate("cue")} disabled={act.isPending || !!item.cue_sent_at} title={t("service.cueHost")}>
              ◆ {item.cue_sent_at ? t("service.cueSent") : t("service.cueHost")}
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
    queryFn: () =>
      unwrap(api.GET("/api/v1/streams/{stream_id}/order-requests", { params: { path: { stream_id: streamId }, query: { status: "pending" } } })),
    refetchInterval: 15_000,
  });
  const decide = useMutation({
    mutationFn: ({ id, ok }: { id: number; ok: boolean }) => {
      const params = { path: { stream_id: streamId, request_id: id } };
      return unwrap(
        ok
          ? api.POST("/api/v1/streams/{stream_id}/order-requests/{request_id}/approve", { params, body: { note: "" } })
          : api.POST("/api/v1/streams/{stream_id}/order-requests/{request_id}/reject", { params, body: { note: "" } }),
      );
    },
    onSettled: () => void qc.invalidateQueries({ queryKey: ["order-requests", streamId] }),
  });
  const open = (reqs.data ?? []).filter((r) => r.status === "pending");
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
    mutationFn: () =>
      unwrap(
        api.POST("/api/v1/streams/{stream_id}/quick-replies", {
          params: { path: { stream_id: streamId } },
          body: { title: text.slice(0, 12), body: text },
        }),
      ),
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
            <span className="text">
              <strong>{r.title}</strong> {r.body}
            </span>
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
      <ClaimsPreview streamId={streamId} texts={[text]} />
      <p className="muted small">{t("service.quickReplyVars")}</p>
    </Card>
  );
}
