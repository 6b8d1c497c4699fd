import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { api, unwrap, type Schemas } from "../../api/client";
import { Card, ErrorText, formatDuration, isMissing, Pending } from "../../components/ui";
import { useI18n, type MessageKey } from "../../i18n";
import { useLineup } from "../../live/streamData";
import { ClaimsPreview, ComplianceTerms } from "./Claims";

const KINDS = ["opening", "product", "interaction", "promotion", "closing", "other"] as const;

type SegmentRow = Schemas["SegmentOut"];

interface Draft {
  kind: SegmentRow["kind"];
  title: string;
  start: string; // minutes
  duration: string; // minutes
  points: string;
  cues: string;
  product: string;
}

const emptyDraft: Draft = { kind: "product", title: "", start: "", duration: "5", points: "", cues: "", product: "" };

function toDraft(s: SegmentRow): Draft {
  return {
    kind: s.kind,
    title: s.title,
    start: String(+(s.start_offset_seconds / 60).toFixed(2)),
    duration: String(+(s.duration_seconds / 60).toFixed(2)),
    points: s.talking_points.join("\n"),
    cues: s.cues.join("\n"),
    product: s.product_id ? String(s.product_id) : "",
  };
}

function lines(s: string): string[] {
  return s.split("\n").map((x) => x.trim()).filter(Boolean);
}

export function ScriptEditor({ streamId }: { streamId: number }) {
  const { t } = useI18n();
  const qc = useQueryClient();
  const script = useQuery({
    queryKey: ["script", streamId],
    queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/script", { params: { path: { stream_id: streamId } } })),
  });
  const lineup = useLineup(streamId);
  const [selected, setSelected] = useState<number | "new" | null>(null);
  const [draft, setDraft] = useState<Draft>(emptyDraft);
  const segs = script.data?.segments ?? [];
  const current = typeof selected === "number" ? segs.find((s) => s.id === selected) : undefined;
  useEffect(() => {
    if (current) setDraft(toDraft(current));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [selected, script.dataUpdatedAt]);

  const refresh = () => void qc.invalidateQueries({ queryKey: ["script", streamId] });
  const save = useMutation({
    mutationFn: () => {
      const body = {
        kind: draft.kind,
        title: draft.title,
        start_offset_seconds: draft.start === "" ? null : Math.round(Number(draft.start) * 60),
        duration_seconds: Math.max(1, Math.round(Number(draft.duration) * 60)),
        talking_points: lines(draft.points),
        cues: lines(draft.cues),
        product_id: draft.product ? Number(draft.product) : null,
      };
      return selected === "new" || selected === null
        ? unwrap(api.POST("/api/v1/streams/{stream_id}/script/segments", { params: { path: { stream_id: streamId } }, body }))
        : unwrap(
            api.PATCH("/api/v1/streams/{stream_id}/script/segments/{segment_id}", {
              params: { path: { stream_id: streamId, segment_id: selected } },
              body,
            }),
          );
    },
    onSuccess: (s) => {
      setSelected(s.id);
      refresh();
    },
  });
  const del = useMutation({
    mutationFn: (id: number) =>
      unwrap(api.DELETE("/api/v1/streams/{stream_id}/script/segments/{segment_id}", { params: { path: { stream_id: streamId, segment_id: id } } })),
    onSuccess: () => {
      setSelected(null);
      setDraft(emptyDraft);
      refresh();
    },
  });

  const span = Math.max(script.data?.span_seconds ?? 0, script.data?.planned_seconds ?? 0, 60);
  const ticks = 6;
  return (
    <div className="col" style={{ gap: 14 }}>
      <Card
        title={t("plan.script")}
        testId="script-timeline"
        actions={
          <button
            className="primary small"
            onClick={() => {
              setSelected("new");
              const end = script.data?.span_seconds ?? 0;
              setDraft({ ...emptyDraft, start: String(+(end / 60).toFixed(2)) });
            }}
          >
            + {t("plan.addSegment")}
          </button>
        }
      >
        {isMissing(script.error) ? <Pending what={t("plan.script")} /> : <ErrorText error={script.error} />}
        <div className="timeline">
          {segs.map((s) => (
            <div
              key={s.id}
              className={`timeline-seg seg-${s.kind}${selected === s.id ? " selected" : ""}`}
              style={{ left: `${(s.start_offset_seconds / span) * 100}%`, width: `${Math.max(0.8, (s.duration_seconds / span) * 100)}%` }}
              onClick={() => setSelected(s.id)}
              title={`${s.title} · ${formatDuration(s.duration_seconds)}`}
              data-testid="timeline-seg"
            >
              {s.title}
            </div>
          ))}
        </div>
        <div className="timeline-axis">
          {Array.from({ length: ticks + 1 }, (_, i) => (
            <span key={i}>{formatDuration((span * i) / ticks)}</span>
          ))}
        </div>
        {script.data && (
          <div className="row" style={{ marginTop: 8 }}>
            <span>{t("plan.totalDuration", { t: formatDuration(script.data.total_seconds) })}</span>
            {script.data.planned_seconds !== null && <span className="muted">{t("plan.plannedDuration", { t: formatDuration(script.data.planned_seconds) })}</span>}
            {script.data.difference_seconds !== null && script.data.difference_seconds !== 0 && (
              <span className="warn">
                {script.data.difference_seconds > 0 ? t("plan.tooLong", { t: formatDuration(script.data.difference_seconds) }) : t("plan.tooShort", { t: formatDuration(-script.data.difference_seconds) })}
              </span>
            )}
          </div>
        )}
        {script.data?.gaps.map((g, i) => (
          <div key={`g${i}`} className="finding warn">
            {t("plan.gap", { at: formatDuration(g.start_offset_seconds), t: formatDuration(g.seconds) })}
          </div>
        ))}
        {script.data?.overlaps.map((o, i) => (
          <div key={`o${i}`} className="finding block">
            {t("plan.overlap", { at: formatDuration(o.start_offset_seconds), t: formatDuration(o.seconds) })}
          </div>
        ))}
      </Card>
      {selected !== null && (
        <Card title={selected === "new" ? t("plan.addSegment") : t("plan.editSegment")} testId="segment-editor">
          <form
            className="col"
            onSubmit={(e) => {
              e.preventDefault();
              save.mutate();
            }}
          >
            <div className="row">
              <select value={draft.kind} onChange={(e) => setDraft({ ...draft, kind: e.target.value as Draft["kind"] })}>
                {KINDS.map((k) => (
                  <option key={k} value={k}>
                    {t(`segkind.${k}` as MessageKey)}
                  </option>
                ))}
              </select>
              <input value={draft.title} onChange={(e) => setDraft({ ...draft, title: e.target.value })} placeholder={t("plan.segmentTitle")} required style={{ flex: 1 }} />
            </div>
            <div className="row">
              <label>
                {t("plan.startMinute")}
                <input value={draft.start} onChange={(e) => setDraft({ ...draft, start: e.target.value })} inputMode="decimal" size={6} />
              </label>
              <label>
                {t("plan.durationMinutes")}
                <input value={draft.duration} onChange={(e) => setDraft({ ...draft, duration: e.target.value })} inputMode="decimal" required size={6} />
              </label>
              <label>
                {t("product.name")}
                <select value={draft.product} onChange={(e) => setDraft({ ...draft, product: e.target.value })}>
                  <option value="">—</option>
                  {(lineup.data ?? []).map((r) => (
                    <option key={r.product_id} value={r.product_id}>
                      {r.name || `#${r.product_id}`}
                    </option>
                  ))}
                </select>
              </label>
            </div>
            <label>
              {t("plan.talkingPoints")}
              <textarea rows={5} value={draft.points} onChange={(e) => setDraft({ ...draft, points: e.target.value })} />
            </label>
            <label>
              {t("plan.segmentCues")}
              <textarea rows={2} value={draft.cues} onChange={(e) => setDraft({ ...draft, cues: e.target.value })} />
            </label>
            <ClaimsPreview streamId={streamId} texts={[draft.title, ...lines(draft.points), ...lines(draft.cues)]} />
            <div className="row">
              <button className="primary" disabled={save.isPending}>
                {t("common.save")}
              </button>
              {typeof selected === "number" && (
                <button type="button" className="danger" onClick={() => del.mutate(selected)} disabled={del.isPending}>
                  {t("common.delete")}
                </button>
              )}
              <button type="button" onClick={() => setSelected(null)}>
                {t("common.cancel")}
              </button>
            </div>
            <ErrorText error={save.error ?? del.error} />
          </form>
        </Card>
      )}
      <ComplianceTerms streamId={streamId} />
    </div>
  );
}
