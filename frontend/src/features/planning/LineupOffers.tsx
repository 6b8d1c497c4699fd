import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, unwrap } from "../../api/client";
import { Card, ErrorText } from "../../components/ui";
import { useI18n } from "../../i18n";
import type { LineupRow } from "../../live/streamData";
import { ClaimsPreview } from "./Claims";

type Tier = { threshold: string; discount: string };
type BundleDraft = { name: string; product_ids: number[]; price: string };

type Draft = {
  tiers: Tier[];
  couponDiscount: string;
  couponMinSpend: string;
  gifts: string;
  giftStock: string;
  bundles: BundleDraft[];
  restock: boolean;
  flashAllotment: string;
  notes: string;
};

function draftOf(r: LineupRow): Draft {
  return {
    tiers: r.full_reduction.map((t) => ({ threshold: t.threshold, discount: t.discount })),
    couponDiscount: r.coupon_discount ?? "",
    couponMinSpend: r.coupon_min_spend ?? "",
    gifts: r.gifts.join("\n"),
    giftStock: r.gift_stock == null ? "" : String(r.gift_stock),
    bundles: r.bundles.map((b) => ({ name: b.name, product_ids: [...b.product_ids], price: b.price })),
    restock: r.restock_on_return ?? true,
    flashAllotment: String(r.flash_sale_allotment),
    notes: r.notes,
  };
}

const blank = (s: string) => s.trim() === "";

/**
 * A lineup item's offers and return policy, as the API takes them (`PATCH
 * /lineup/{product_id}`): 满减 tiers, the item's coupon, gifts and the gift stock,
 * bundles with other products of the lineup, restock on return, the flash-sale
 * allotment and notes. The server checks every rule; its answer is shown as is.
 */
export function LineupOffers({ streamId, row, rows, onClose }: { streamId: number; row: LineupRow; rows: LineupRow[]; onClose: () => void }) {
  const { t, money } = useI18n();
  const qc = useQueryClient();
  const [d, setD] = useState<Draft>(() => draftOf(row));
  const [saved, setSaved] = useState(false);
  const others = rows.filter((r) => r.product_id !== row.product_id);
  const id = row.product_id;
  const change = (patch: Partial<Draft>) => {
    setSaved(false);
    setD({ ...d, ...patch });
  };
  const save = useMutation({
    mutationFn: () =>
      unwrap(
        api.PATCH("/api/v1/streams/{stream_id}/lineup/{product_id}", {
          params: { path: { stream_id: streamId, product_id: id } },
          body: {
            full_reduction: d.tiers.filter((x) => !blank(x.threshold) || !blank(x.discount)),
            coupon_discount: blank(d.couponDiscount) ? null : d.couponDiscount.trim(),
            coupon_min_spend: blank(d.couponMinSpend) ? null : d.couponMinSpend.trim(),
            gifts: d.gifts.split("\n").map((s) => s.trim()).filter(Boolean),
            gift_stock: blank(d.giftStock) ? null : Number(d.giftStock),
            bundles: d.bundles.map((b) => ({ name: b.name.trim(), product_ids: b.product_ids, price: b.price.trim() })),
            restock_on_return: d.restock,
            flash_sale_allotment: blank(d.flashAllotment) ? 0 : Number(d.flashAllotment),
            notes: d.notes,
          },
        }),
      ),
    onSuccess: () => {
      setSaved(true);
      void qc.invalidateQueries({ queryKey: ["lineup", streamId] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate();
  };
  const setTier = (i: number, patch: Partial<Tier>) => change({ tiers: d.tiers.map((x, j) => (j === i ? { ...x, ...patch } : x)) });
  const setBundle = (i: number, patch: Partial<BundleDraft>) => change({ bundles: d.bundles.map((x, j) => (j === i ? { ...x, ...patch } : x)) });

  return (
    <Card title={t("plan.offersFor", { name: row.name || `#${id}` })} testId="plan-offers">
      <form className="col" onSubmit={submit} data-testid={`plan-offers-${id}`}>
        <fieldset className="col">
          <legend>{t("plan.tiers")}</legend>
          {d.tiers.map((x, i) => (
            <div className="row nowrap" key={i} data-testid="offer-tier">
              <label>
                {t("plan.tierThreshold")}
                <input value={x.threshold} onChange={(e) => setTier(i, { threshold: e.target.value })} inputMode="decimal" size={7} data-testid={`tier-threshold-${i}`} />
              </label>
              <label>
                {t("plan.tierDiscount")}
                <input value={x.discount} onChange={(e) => setTier(i, { discount: e.target.value })} inputMode="decimal" size={7} data-testid={`tier-discount-${i}`} />
              </label>
              <button type="button" className="small" onClick={() => change({ tiers: d.tiers.filter((_, j) => j !== i) })} title={t("common.delete")}>
                ✕
              </button>
            </div>
          ))}
          <button type="button" className="small" onClick={() => change({ tiers: [...d.tiers, { threshold: "", discount: "" }] })} data-testid="add-tier">
            {t("plan.addTier")}
          </button>
        </fieldset>

        <fieldset className="row">
          <legend>{t("plan.coupon")}</legend>
          <label>
            {t("plan.couponDiscount")}
            <input value={d.couponDiscount} onChange={(e) => change({ couponDiscount: e.target.value })} inputMode="decimal" size={7} data-testid="coupon-discount" />
          </label>
          <label title={t("plan.couponMinSpendHint")}>
            {t("plan.couponMinSpend")}
            <input value={d.couponMinSpend} onChange={(e) => change({ couponMinSpend: e.target.value })} inputMode="decimal" size={7} data-testid="coupon-min-spend" />
          </label>
        </fieldset>

        <fieldset className="col">
          <legend>{t("plan.gifts")}</legend>
          <textarea rows={2} value={d.gifts} onChange={(e) => change({ gifts: e.target.value })} placeholder={t("plan.giftsHint")} data-testid="offer-gifts" />
          <ClaimsPreview streamId={streamId} texts={d.gifts.split("\n")} />
          <label className="inline" title={t("plan.giftStockHint")}>
            {t("plan.giftStock")}
            <input value={d.giftStock} onChange={(e) => change({ giftStock: e.target.value })} inputMode="numeric" placeholder={t("plan.giftStockUncounted")} size={9} data-testid="offer-gift-stock" />
          </label>
          {(row.gifts_given ?? 0) > 0 && <span className="muted small">{t("plan.giftsGiven", { n: row.gifts_given ?? 0 })}</span>}
        </fieldset>

        <fieldset className="col">
          <legend>{t("plan.bundles")}</legend>
          {d.bundles.map((b, i) => (
            <div className="col" key={i} data-testid="offer-bundle">
              <div className="row nowrap">
                <input value={b.name} onChange={(e) => setBundle(i, { name: e.target.value })} placeholder={t("plan.bundleName")} size={12} data-testid={`bundle-name-${i}`} />
                <label>
                  {t("plan.bundlePrice")}
                  <input value={b.price} onChange={(e) => setBundle(i, { price: e.target.value })} inputMode="decimal" size={7} data-testid={`bundle-price-${i}`} />
                </label>
                <button type="button" className="small" onClick={() => change({ bundles: d.bundles.filter((_, j) => j !== i) })} title={t("common.delete")}>
                  ✕
                </button>
              </div>
              <div className="row">
                <span className="muted small">{t("plan.bundleWith")}</span>
                {others.map((o) => (
                  <label key={o.product_id} className="inline small nowrap">
                    <input
                      type="checkbox"
                      checked={b.product_ids.includes(o.product_id)}
                      onChange={(e) => setBundle(i, { product_ids: e.target.checked ? [...b.product_ids, o.product_id] : b.product_ids.filter((p) => p !== o.product_id) })}
                      data-testid={`bundle-${i}-with-${o.product_id}`}
                    />
                    {o.name || `#${o.product_id}`} ({money(o.live_price)})
                  </label>
                ))}
                {others.length === 0 && <span className="muted small">{t("plan.bundleNoOthers")}</span>}
              </div>
            </div>
          ))}
          <button type="button" className="small" onClick={() => change({ bundles: [...d.bundles, { name: "", product_ids: [], price: "" }] })} disabled={others.length === 0} data-testid="add-bundle">
            {t("plan.addBundle")}
          </button>
        </fieldset>

        <label className="inline" title={t("plan.restockHint")}>
          <input type="checkbox" checked={d.restock} onChange={(e) => change({ restock: e.target.checked })} data-testid="offer-restock" />
          {t("plan.restock")}
        </label>
        <div className="row">
          <label className="inline">
            {t("plan.flashAllotment")}
            <input value={d.flashAllotment} onChange={(e) => change({ flashAllotment: e.target.value })} inputMode="numeric" size={6} data-testid="offer-flash-allotment" />
          </label>
        </div>
        <textarea rows={2} value={d.notes} onChange={(e) => change({ notes: e.target.value })} placeholder={t("plan.notes")} data-testid="offer-notes" />

        <div className="row">
          <button className="primary" disabled={save.isPending} data-testid="offers-save">
            {t("common.save")}
          </button>
          <button type="button" onClick={onClose}>
            {t("common.done")}
          </button>
          {saved && (
            <span className="muted" data-testid="offers-saved">
              {t("queueSettings.saved")}
            </span>
          )}
        </div>
        <ErrorText error={save.error} />
      </form>
    </Card>
  );
}
