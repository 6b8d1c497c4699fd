// Correct a comment's labels or block/unblock it (issue #14). The stream classifies the same
// comment this way from the next one on; the correction is stored with who and when.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, unwrap, type Schemas } from "../../api/client";
import { Card, ErrorText } from "../../components/ui";
import { useI18n, type MessageKey } from "../../i18n";
import { pollUnlessLive } from "../../live/streamData";

type CommentRow = Schemas["CommentOut"];
type Body = Schemas["CorrectionIn"];

const KINDS = ["question", "complaint", "purchase", "praise", "chitchat", "spam"] as const;
const TOPICS = ["product", "promo", "logistics", "after_sales", "order", "none"] as const;
const SENTIMENTS = ["positive", "neutral", "negative"] as const;

export function CorrectControl({ streamId, comment }: { streamId: number; comment: CommentRow }) {
  const { t } = useI18n();
  const qc = useQueryClient();
  const [open, setOpen] = useState(false);
  const fix = useMutation({
    mutationFn: (body: Body) =>
      unwrap(
        api.POST("/api/v1/streams/{stream_id}/comments/{comment_id}/correction", {
          params: { path: { stream_id: streamId, comment_id: comment.id } },
          body,
        }),
      ),
    onSuccess: () => {
      setOpen(false);
      void qc.invalidateQueries({ queryKey: ["comments", streamId] });
      void qc.invalidateQueries({ queryKey: ["questions", streamId] });
    },
  });
  return (
    <span className="correct-ctl" data-testid="correct-ctl">
      <button className="small" onClick={() => setOpen(!open)} title={t("text.correctTitle")} data-testid="btn-correct">
        {t("text.correct")}
      </button>
      <button className="small" onClick={() => fix.mutate({ blocked: !comment.blocked, ...(comment.blocked && comment.kind === "spam" ? { kind: "chitchat", topic: "none" } : {}) })} disabled={fix.isPending} data-testid="btn-block">
        {comment.blocked ? t("text.unblock") : t("text.block")}
      </button>
      {open && (
        <>
          <select aria-label={t("text.kind")} value={comment.kind} onChange={(e) => fix.mutate({ kind: e.target.value as Body["kind"] })} data-testid="fix-kind">
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {t(`kind.${k}` as MessageKey)}
              </option>
            ))}
          </select>
          <select aria-label={t("service.allTopics")} value={comment.topic} onChange={(e) => fix.mutate({ topic: e.target.value as Body["topic"] })} data-testid="fix-topic">
            {TOPICS.map((k) => (
              <option key={k} value={k}>
                {t(`topic.${k}` as MessageKey)}
              </option>
            ))}
          </select>
          <select aria-label={t("text.sentiment")} value={comment.sentiment} onChange={(e) => fix.mutate({ sentiment: e.target.value as Body["sentiment"] })} data-testid="fix-sentiment">
            {SENTIMENTS.map((k) => (
              <option key={k} value={k}>
                {t(`sentiment.${k}` as MessageKey)}
              </option>
            ))}
          </select>
        </>
      )}
      <ErrorText error={fix.error} />
    </span>
  );
}

/** The service console's latest comments, each with the correction control. */
export function RecentComments({ streamId }: { streamId: number }) {
  const { t, time } = useI18n();
  const comments = useQuery({
    queryKey: ["comments", streamId],
    queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/comments", { params: { path: { stream_id: streamId }, query: { limit: 30 } } })),
    refetchInterval: pollUnlessLive(streamId, 10_000),
  });
  return (
    <Card
      title={t("text.recentComments")}
      testId="recent-comments"
      actions={
        <a className="small" href={`/api/v1/streams/${streamId}/comment-corrections/export?format=csv`} target="_blank" rel="noreferrer">
          {t("text.exportCorrections")}
        </a>
      }
    >
      <ErrorText error={comments.error} />
      <div className="feed" style={{ maxHeight: 320 }}>
        {(comments.data ?? []).map((c) => (
          <div className={`feed-item${c.blocked ? " blocked" : ""}`} key={c.id} data-testid="recent-comment">
            <span className="feed-time">{time(c.created_at)}</span>
            <span className="text">
              <span className={`badge ${c.kind === "complaint" || c.kind === "spam" ? "badge-bad" : ""}`}>{t(`kind.${c.kind}` as MessageKey)}</span>
              {c.topic !== "none" && <span className="badge">{t(`topic.${c.topic}` as MessageKey)}</span>} {c.text}
            </span>
            <CorrectControl streamId={streamId} comment={c} />
          </div>
        ))}
        {comments.data?.length === 0 && <span className="muted">{t("common.none")}</span>}
      </div>
    </Card>
  );
}
