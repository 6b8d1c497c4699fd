// Satisfaction surveys (满意度调查) on the watch page: the viewer answers once per survey,
// with their own viewer token; scores 1–5 by tapping stars, text questions typed.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, ApiError, unwrap, type Schemas } from "../../api/client";
import { useI18n } from "../../i18n";
import { viewerHeaders, type ViewerSession } from "./viewer";

type Survey = Schemas["ViewerSurveyOut"];

function questionKind(q: Record<string, unknown>): "score" | "text" {
  return q["kind"] === "text" ? "text" : "score";
}

export function WatchSurveys({ streamId, viewer }: { streamId: number; viewer: ViewerSession }) {
  const surveys = useQuery({
    queryKey: ["my-surveys", streamId, viewer.viewer_id],
    refetchInterval: 30_000,
    queryFn: () =>
      unwrap(api.GET("/api/v1/streams/{stream_id}/my-surveys", { params: { path: { stream_id: streamId } }, headers: viewerHeaders(viewer) })),
  });
  const { t } = useI18n();
  const open = (surveys.data ?? []).filter((s) => !s.answered);
  const [closed, setClosed] = useState<number[]>([]);
  // Answered here just now: thanked until closed (the refetch lists it as answered).
  const [thanked, setThanked] = useState<number | null>(null);
  if (thanked !== null) {
    return (
      <div className="w-answers row" data-testid="watch-survey-thanks">
        <span style={{ flex: 1 }}>✓ {t("watch.surveyThanks")}</span>
        <button type="button" className="small" onClick={() => setThanked(null)} aria-label={t("common.cancel")}>
          ✕
        </button>
      </div>
    );
  }
  const shown = open.filter((s) => !closed.includes(s.id))[0];
  if (!shown) return null;
  return (
    <SurveyCard
      key={shown.id}
      streamId={streamId}
      viewer={viewer}
      survey={shown}
      onClose={() => setClosed((c) => [...c, shown.id])}
      onAnswered={() => setThanked(shown.id)}
    />
  );
}

function SurveyCard({
  streamId,
  viewer,
  survey,
  onClose,
  onAnswered,
}: {
  streamId: number;
  viewer: ViewerSession;
  survey: Survey;
  onClose: () => void;
  onAnswered: () => void;
}) {
  const { t } = useI18n();
  const qc = useQueryClient();
  const [answers, setAnswers] = useState<(number | string | null)[]>(() => survey.questions.map(() => null));
  const send = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/v1/streams/{stream_id}/my-surveys/{survey_id}/response", {
          params: { path: { stream_id: streamId, survey_id: survey.id } },
          body: { answers: answers.map((a) => (a === "" ? null : a)) },
          headers: viewerHeaders(viewer),
        }),
      ),
    onSuccess: () => {
      onAnswered();
      void qc.invalidateQueries({ queryKey: ["my-surveys", streamId] });
    },
  });
  const set = (i: number, v: number | string | null) => setAnswers((a) => a.map((x, j) => (j === i ? v : x)));
  return (
    <form
      className="w-answers"
      data-testid="watch-survey"
      onSubmit={(e) => {
        e.preventDefault();
        send.mutate();
      }}
    >
      <div className="row">
        <strong style={{ flex: 1 }}>📝 {survey.title}</strong>
        <button type="button" className="small" onClick={onClose} aria-label={t("common.cancel")}>
          ✕
        </button>
      </div>
      {survey.questions.map((q, i) => (
        <div key={i} style={{ marginTop: 6 }}>
          <div className="small">{String(q["text"] ?? "")}</div>
          {questionKind(q) === "score" ? (
            <div className="row" role="radiogroup" aria-label={String(q["text"] ?? "")}>
              {[1, 2, 3, 4, 5].map((n) => (
                <button
                  key={n}
                  type="button"
                  className="small"
                  role="radio"
                  aria-checked={answers[i] === n}
                  aria-label={t("watch.surveyStars", { n })}
                  data-testid={`survey-q${i}-${n}`}
                  onClick={() => set(i, n)}
                  style={{ color: typeof answers[i] === "number" && (answers[i] as number) >= n ? "#f59e0b" : undefined }}
                >
                  ★
                </button>
              ))}
            </div>
          ) : (
            <input value={typeof answers[i] === "string" ? (answers[i] as string) : ""} onChange={(e) => set(i, e.target.value)} maxLength={2000} style={{ width: "100%" }} />
          )}
        </div>
      ))}
      <div className="row" style={{ marginTop: 6 }}>
        <button className="small primary" disabled={send.isPending} data-testid="watch-survey-send">
          {t("watch.surveySend")}
        </button>
        {send.error !== null && (
          <span className="bad small">{send.error instanceof ApiError && send.error.code === "already_answered" ? t("watch.surveyAlready") : send.error.message}</span>
        )}
      </div>
    </form>
  );
}
