// Claims underlined where the team writes what will be said (issue #14): the checker
// (POST /api/v1/compliance/check, with the stream's own terms) marks each phrase, wavy red
// for "must not say", amber for "needs proof"; hovering shows the rule and a rewording.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { api, unwrap, type Schemas } from "../../api/client";
import { Card, ErrorText } from "../../components/ui";
import { useI18n, type MessageKey } from "../../i18n";
import { complianceText } from "../../i18n/server";

type Finding = Schemas["ClaimFindingOut"];

export function useClaims(streamId: number, texts: string[]) {
  const key = texts.join("\u0001");
  return useQuery({
    queryKey: ["claims", streamId, key],
    enabled: texts.length > 0,
    staleTime: 30_000,
    queryFn: () => unwrap(api.POST("/api/v1/compliance/check", { body: { texts, stream_id: streamId } })),
  });
}

function Underlined({ text, findings }: { text: string; findings: Finding[] }) {
  const { t, lang } = useI18n();
  const parts: React.ReactNode[] = [];
  let at = 0;
  findings.forEach((f, i) => {
    if (f.start < at) return;
    parts.push(text.slice(at, f.start));
    const title = `${t(`claims.cat.${f.category}` as MessageKey)} · ${f.severity === "block" ? t("claims.block") : t("claims.warn")}\n${complianceText(lang, "rule", f.rule_code, f.rule)}\n${t("claims.suggest", { s: complianceText(lang, "suggestion", f.suggestion_code, f.suggestion) })}`;
    parts.push(
      <span key={i} className={`claim ${f.severity}`} title={title} data-testid="claim">
        {text.slice(f.start, f.end)}
      </span>,
    );
    at = f.end;
  });
  parts.push(text.slice(at));
  return <div className="claims-line">{parts}</div>;
}

/** The lines with their claims underlined, and a count; nothing while there is no text. */
export function ClaimsPreview({ streamId, texts }: { streamId: number; texts: string[] }) {
  const { t } = useI18n();
  const typed = texts.map((s) => s.trim()).filter(Boolean);
  // Checked half a second after typing stops, not on every key.
  const [lines, setLines] = useState(typed);
  const typedKey = typed.join("\u0001");
  useEffect(() => {
    const id = setTimeout(() => setLines(typedKey ? typedKey.split("\u0001") : []), 500);
    return () => clearTimeout(id);
  }, [typedKey]);
  const claims = useClaims(streamId, lines);
  if (lines.length === 0) return null;
  const results = claims.data?.results ?? [];
  const n = results.reduce((sum, r) => sum + r.findings.length, 0);
  return (
    <div className="col" data-testid="claims-preview" style={{ gap: 2 }}>
      <span className={n ? "warn small" : "muted small"}>
        {t("claims.title")}: {claims.data ? (n ? t("claims.count", { n }) : t("claims.none")) : "…"}
      </span>
      {results.map((r, i) => (r.findings.length ? <Underlined key={i} text={lines[i] ?? ""} findings={r.findings} /> : null))}
      <ErrorText error={claims.error} />
    </div>
  );
}

/** The team's own terms: listed, added (comma-separated), removed. */
export function ComplianceTerms({ streamId }: { streamId: number }) {
  const { t } = useI18n();
  const qc = useQueryClient();
  const path = { params: { path: { stream_id: streamId } } };
  const terms = useQuery({
    queryKey: ["compliance-terms", streamId],
    queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/compliance-terms", path)),
  });
  const [text, setText] = useState("");
  const [warnOnly, setWarnOnly] = useState(false);
  const refresh = () => {
    void qc.invalidateQueries({ queryKey: ["compliance-terms", streamId] });
    void qc.invalidateQueries({ queryKey: ["claims", streamId] });
  };
  const add = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/v1/streams/{stream_id}/compliance-terms", {
          ...path,
          body: { phrases: text.split(/[,，、\n]/).map((s) => s.trim()).filter(Boolean), severity: warnOnly ? "warn" : "block" },
        }),
      ),
    onSuccess: () => {
      setText("");
      refresh();
    },
  });
  const del = useMutation({
    mutationFn: (id: number) => unwrap(api.DELETE("/api/v1/streams/{stream_id}/compliance-terms/{term_id}", { params: { path: { stream_id: streamId, term_id: id } } })),
    onSuccess: refresh,
  });
  return (
    <Card title={t("claims.terms")} testId="compliance-terms">
      <p className="muted small">{t("claims.termsHelp")}</p>
      <div className="row" style={{ flexWrap: "wrap" }}>
        {(terms.data ?? []).map((term) => (
          <span key={term.id} className={`badge ${term.severity === "block" ? "badge-bad" : "badge-warn"}`}>
            {term.phrase}{" "}
            <button className="small" onClick={() => del.mutate(term.id)} aria-label={t("common.delete")}>
              ×
            </button>
          </span>
        ))}
      </div>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          if (text.trim()) add.mutate();
        }}
      >
        <input value={text} onChange={(e) => setText(e.target.value)} placeholder={t("claims.termPlaceholder")} style={{ flex: 1 }} data-testid="term-input" />
        <label className="inline">
          <input type="checkbox" checked={warnOnly} onChange={(e) => setWarnOnly(e.target.checked)} />
          {t("claims.warnOnly")}
        </label>
        <button disabled={add.isPending}>{t("common.add")}</button>
      </form>
      <ErrorText error={terms.error ?? add.error ?? del.error} />
    </Card>
  );
}
