// Selection (选品): criterion weights, a product's scores, and the ranking with the
// weighted score broken down per criterion.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Fragment, useEffect, useState } from "react";
import { api, unwrap, type Schemas } from "../../api/client";
import { Card, ErrorText } from "../../components/ui";
import { useI18n, type MessageKey } from "../../i18n";
import { errorsOf, Field, FormError } from "../common/forms";
import { useCanWriteCatalog } from "./CatalogPage";

type Criterion = keyof Schemas["WeightsOut"]["weights"];
export const CRITERIA: Criterion[] = ["demand", "quality", "price_competitiveness", "brand", "host_fit", "margin", "visual_appeal", "supply_stability"];

export function Selection() {
  const { t } = useI18n();
  const canWrite = useCanWriteCatalog();
  const ranking = useQuery({ queryKey: ["ranking"], queryFn: () => unwrap(api.GET("/api/v1/selection/ranking")) });
  const weights = useQuery({ queryKey: ["weights"], queryFn: () => unwrap(api.GET("/api/v1/selection/weights")) });
  const [open, setOpen] = useState<number | null>(null);
  const w = weights.data?.weights ?? {};
  const total = CRITERIA.reduce<number>((s, c) => s + Number(w[c] ?? 0), 0);
  return (
    <div className="col">
      <Weights canWrite={canWrite} current={weights.data?.weights} />
      <Card title={t("selection.ranking")} testId="ranking">
        <ErrorText error={ranking.error} />
        <table>
          <thead>
            <tr>
              <th>#</th>
              <th>SKU</th>
              <th>{t("catalog.name")}</th>
              <th className="num">{t("selection.score")}</th>
              <th>{t("selection.missing")}</th>
              <th>{t("selection.eligible")}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {(ranking.data ?? []).map((r) => (
              <Fragment key={r.product_id}>
                <tr data-testid={`rank-${r.sku}`}>
                  <td>{r.rank}</td>
                  <td>
                    <code>{r.sku}</code>
                  </td>
                  <td>{r.name}</td>
                  <td className="num">
                    <strong>{Number(r.score).toFixed(2)}</strong>
                  </td>
                  <td className="small muted">{r.missing.map((c) => t(`criterion.${c}` as MessageKey)).join("、") || "—"}</td>
                  <td className={r.eligible ? "good" : "bad"}>{r.eligible ? t("common.yes") : r.ineligible_reason ?? t("common.no")}</td>
                  <td>
                    <button className="small" onClick={() => setOpen(open === r.product_id ? null : r.product_id)} data-testid="rank-open">
                      {open === r.product_id ? t("selection.close") : canWrite ? t("selection.scoreIt") : t("selection.breakdown")}
                    </button>
                  </td>
                </tr>
                {open === r.product_id && (
                  <tr>
                    <td colSpan={7}>
                      <Breakdown product={r} weights={w} total={total} canWrite={canWrite} />
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </table>
        {ranking.data?.length === 0 && <p className="muted">{t("catalog.empty")}</p>}
      </Card>
    </div>
  );
}

function Weights({ canWrite, current }: { canWrite: boolean; current: Partial<Record<Criterion, string>> | undefined }) {
  const { t } = useI18n();
  const qc = useQueryClient();
  const [w, setW] = useState<Record<string, string>>({});
  useEffect(() => {
    if (current) setW(Object.fromEntries(CRITERIA.map((c) => [c, String(current[c] ?? "0")])));
  }, [current]);
  const save = useMutation({
    mutationFn: () => unwrap(api.PUT("/api/v1/selection/weights", { body: { weights: Object.fromEntries(CRITERIA.map((c) => [c, w[c] ?? "0"])) as never } })),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ["weights"] });
      void qc.invalidateQueries({ queryKey: ["ranking"] });
    },
  });
  const errors = errorsOf(save.error);
  return (
    <Card title={t("selection.weights")} testId="weights">
      <fieldset className="pf-plain" disabled={!canWrite}>
        <div className="pf-grid">
          {CRITERIA.map((c) => (
            <Field key={c} label={t(`criterion.${c}` as MessageKey)} name={`weights.${c}`} errors={errors}>
              <input inputMode="decimal" value={w[c] ?? ""} onChange={(e) => setW({ ...w, [c]: e.target.value })} data-testid={`weight-${c}`} />
            </Field>
          ))}
        </div>
        {canWrite && (
          <div className="row" style={{ marginTop: 10 }}>
            <button className="primary" onClick={() => save.mutate()} disabled={save.isPending} data-testid="weights-save">
              {t("common.save")}
            </button>
            {save.isSuccess && <span className="good">{t("settings.saved")}</span>}
          </div>
        )}
      </fieldset>
      <FormError error={save.error} shown={errors} />
    </Card>
  );
}

function Breakdown({ product, weights, total, canWrite }: { product: Schemas["RankedProduct"]; weights: Partial<Record<Criterion, string>>; total: number; canWrite: boolean }) {
  const { t } = useI18n();
  const qc = useQueryClient();
  const [scores, setScores] = useState<Record<string, string>>(() =>
    Object.fromEntries(CRITERIA.map((c) => [c, product.scores[c] != null ? String(product.scores[c]) : ""])),
  );
  const [note, setNote] = useState("");
  const save = useMutation({
    mutationFn: () => {
      const sent = Object.fromEntries(CRITERIA.filter((c) => (scores[c] ?? "").trim() !== "").map((c) => [c, scores[c]]));
      return unwrap(
        api.PUT("/api/v1/products/{product_id}/scores", {
          params: { path: { product_id: product.product_id } },
          body: { scores: sent as never, note: note || null },
        }),
      );
    },
    onSuccess: () => void qc.invalidateQueries({ queryKey: ["ranking"] }),
  });
  const errors = errorsOf(save.error);
  return (
    <div className="col" data-testid="breakdown">
      <table>
        <thead>
          <tr>
            <th>{t("selection.criterion")}</th>
            <th className="num">{t("selection.weight")}</th>
            <th className="num">{t("selection.scoreCol")}</th>
            <th className="num">{t("selection.contribution")}</th>
          </tr>
        </thead>
        <tbody>
          {CRITERIA.map((c) => {
            const weight = Number(weights[c] ?? 0);
            const score = product.scores[c] != null ? Number(product.scores[c]) : null;
            const part = total > 0 && score !== null ? (weight * score) / total : 0;
            return (
              <tr key={c}>
                <td>{t(`criterion.${c}` as MessageKey)}</td>
                <td className="num">{weight}</td>
                <td className="num">
                  {canWrite ? (
                    <input
                      inputMode="decimal"
                      value={scores[c] ?? ""}
                      onChange={(e) => setScores({ ...scores, [c]: e.target.value })}
                      style={{ width: 70 }}
                      aria-label={t(`criterion.${c}` as MessageKey)}
                      aria-invalid={!!errors[`scores.${c}`]}
                      data-testid={`score-${c}`}
                    />
                  ) : score === null ? (
                    "—"
                  ) : (
                    score
                  )}
                  {errors[`scores.${c}`] && <div className="field-error">{errors[`scores.${c}`]}</div>}
                </td>
                <td className="num">{part.toFixed(2)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {canWrite && (
        <div className="row">
          <Field label={t("selection.note")} name="note" errors={errors}>
            <input value={note} onChange={(e) => setNote(e.target.value)} />
          </Field>
          <button className="primary" onClick={() => save.mutate()} disabled={save.isPending} data-testid="scores-save">
            {t("common.save")}
          </button>
        </div>
      )}
      <FormError error={save.error} shown={errors} />
    </div>
  );
}
