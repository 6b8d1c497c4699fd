import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type DragEvent, type FormEvent } from "react";
import { api, unwrap } from "../../api/client";
import { Card, ErrorText, isMissing, Pending } from "../../components/ui";
import { useI18n, type MessageKey } from "../../i18n";
import { ClaimsPreview } from "./Claims";
import { LineupOffers } from "./LineupOffers";
import { useLineup, type LineupRow } from "../../live/streamData";

/** Move `from` before `to` in a list of ids. */
export function moveId(ids: number[], from: number, to: number): number[] {
  const out = ids.filter((x) => x !== from);
  const at = out.indexOf(to);
  out.splice(at < 0 ? out.length : at, 0, from);
  return out;
}

export function LineupPlan({ streamId }: { streamId: number }) {
  const { t, money, num } = useI18n();
  const qc = useQueryClient();
  const lineup = useLineup(streamId);
  const [order, setOrder] = useState<number[] | null>(null);
  const [dragging, setDragging] = useState<number | null>(null);
  const [over, setOver] = useState<number | null>(null);
  const [editing, setEditing] = useState<number | null>(null);
  const rows = [...(lineup.data ?? [])].sort((a, b) => a.position - b.position);
  const byId = new Map(rows.map((r) => [r.product_id, r]));
  const ids = order ?? rows.map((r) => r.product_id);
  const refresh = () => void qc.invalidateQueries({ queryKey: ["lineup", streamId] });

  const reorder = useMutation({
    mutationFn: (productIds: number[]) =>
      unwrap(api.PUT("/api/v1/streams/{stream_id}/lineup/order", { params: { path: { stream_id: streamId } }, body: { product_ids: productIds } })),
    onSettled: () => {
      setOrder(null);
      refresh();
    },
  });
  const remove = useMutation({
    mutationFn: (productId: number) =>
      unwrap(api.DELETE("/api/v1/streams/{stream_id}/lineup/{product_id}", { params: { path: { stream_id: streamId, product_id: productId } } })),
    onSettled: refresh,
  });
  const setLimit = useMutation({
    mutationFn: ({ productId, limit }: { productId: number; limit: number | null }) =>
      unwrap(
        api.PATCH("/api/v1/streams/{stream_id}/lineup/{product_id}", {
          params: { path: { stream_id: streamId, product_id: productId } },
          body: { per_viewer_limit: limit },
        }),
      ),
    onSettled: refresh,
  });

  function drop(e: DragEvent, target: number) {
    e.preventDefault();
    if (dragging === null || dragging === target) return;
    const next = moveId(ids, dragging, target);
    setOrder(next);
    reorder.mutate(next);
    setDragging(null);
    setOver(null);
  }

  return (
    <div className="grid-2">
      <Card title={t("plan.lineup")} testId="plan-lineup">
        {isMissing(lineup.error) ? <Pending what={t("plan.lineup")} /> : <ErrorText error={lineup.error ?? reorder.error ?? remove.error ?? setLimit.error} />}
        <p className="muted small">{t("plan.dragHint")}</p>
        <div className="drag-list">
          {ids.map((id, i) => {
            const r = byId.get(id);
            if (!r) return null;
            return (
              <div
                key={id}
                className={`drag-item${dragging === id ? " dragging" : ""}${over === id ? " over" : ""}`}
                draggable
                onDragStart={(e) => {
                  setDragging(id);
                  e.dataTransfer.effectAllowed = "move";
                  e.dataTransfer.setData("text/plain", String(id));
                }}
                onDragOver={(e) => {
                  e.preventDefault();
                  setOver(id);
                }}
                onDragLeave={() => setOver((o) => (o === id ? null : o))}
                onDragEnd={() => {
                  setDragging(null);
                  setOver(null);
                }}
                onDrop={(e) => drop(e, id)}
                data-testid={`plan-row-${id}`}
              >
                <span className="grip">⋮⋮</span>
                <strong>{i + 1}</strong>
                <span>
                  {r.name || `#${r.product_id}`} <span className="muted small">{r.sku}</span>
                </span>
                <span>{money(r.live_price)}</span>
                <span className="muted">{t("plan.allotted", { n: num(r.allotted_stock) })}</span>
                <label className="muted small row nowrap" title={t("plan.perViewerLimitHint")}>
                  {t("plan.perViewerLimit")}
                  <input
                    key={`${r.product_id}-${r.per_viewer_limit ?? ""}`}
                    defaultValue={r.per_viewer_limit ?? ""}
                    placeholder={t("plan.limitDefault")}
                    inputMode="numeric"
                    size={4}
                    data-testid={`plan-limit-${id}`}
                    onBlur={(e) => {
                      const v = e.target.value.trim();
                      const limit = v === "" ? null : Number(v);
                      if (limit !== r.per_viewer_limit && (limit === null || Number.isInteger(limit))) setLimit.mutate({ productId: r.product_id, limit });
                    }}
                  />
                </label>
                <span className="row nowrap">
                  <button type="button" className="small" style={{ whiteSpace: "nowrap" }} onClick={() => setEditing(editing === id ? null : id)} data-testid={`plan-offers-open-${id}`} title={t("plan.offersHint")}>
                    {t("plan.offers")}
                    {(r.full_reduction.length > 0 || r.coupon_discount != null || r.gifts.length > 0 || r.bundles.length > 0) && " ●"}
                  </button>
                  <span className={`badge badge-${r.status}`}>{t(`listing.${r.status}` as MessageKey)}</span>
                  <button className="small" onClick={() => remove.mutate(r.product_id)} disabled={r.status === "listed"} title={t("common.delete")}>
                    ✕
                  </button>
                </span>
              </div>
            );
          })}
          {lineup.data && rows.length === 0 && <p className="muted">{t("control.lineupEmpty")}</p>}
        </div>
        {editing !== null && byId.get(editing) && (
          <LineupOffers key={editing} streamId={streamId} row={byId.get(editing)!} rows={rows} onClose={() => setEditing(null)} />
        )}
      </Card>
      <AddToLineup streamId={streamId} inLineup={new Set(rows.map((r) => r.product_id))} rows={rows} />
    </div>
  );
}

function AddToLineup({ streamId, inLineup }: { streamId: number; inLineup: Set<number>; rows: LineupRow[] }) {
  const { t, money } = useI18n();
  const qc = useQueryClient();
  const catalog = useQuery({
    queryKey: ["catalog"],
    queryFn: () => unwrap(api.GET("/api/v1/products", { params: { query: { limit: 200 } } })),
  });
  const [pick, setPick] = useState({ product: "", price: "", stock: "100", limit: "" });
  const add = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/v1/streams/{stream_id}/lineup", {
          params: { path: { stream_id: streamId } },
          body: {
            product_id: Number(pick.product),
            live_price: pick.price,
            allotted_stock: Number(pick.stock),
            per_viewer_limit: pick.limit.trim() === "" ? null : Number(pick.limit),
          },
        }),
      ),
    onSuccess: () => {
      setPick({ product: "", price: "", stock: "100", limit: "" });
      void qc.invalidateQueries({ queryKey: ["lineup", streamId] });
    },
  });
  const [np, setNp] = useState({ sku: "", name: "", price: "", stock: "500", points: "" });
  const create = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/v1/products", {
          body: {
            sku: np.sku,
            name: np.name,
            list_price: np.price,
            stock: Number(np.stock),
            selling_points: np.points.split("\n").map((s) => s.trim()).filter(Boolean),
          },
        }),
      ),
    onSuccess: (p) => {
      setNp({ sku: "", name: "", price: "", stock: "500", points: "" });
      setPick({ product: String(p.id), price: p.list_price, stock: "100", limit: "" });
      void qc.invalidateQueries({ queryKey: ["catalog"] });
    },
  });
  const available = (catalog.data ?? []).filter((p) => !inLineup.has(p.id));
  const submit = (m: { mutate: () => void }) => (e: FormEvent) => {
    e.preventDefault();
    m.mutate();
  };
  return (
    <div className="col" style={{ gap: 14 }}>
      <Card title={t("plan.addToLineup")}>
        {isMissing(catalog.error) ? <Pending what={t("plan.catalog")} /> : <ErrorText error={catalog.error} />}
        <form className="col" onSubmit={submit(add)}>
          <select value={pick.product} onChange={(e) => setPick({ ...pick, product: e.target.value, price: available.find((p) => String(p.id) === e.target.value)?.list_price ?? pick.price })} required data-testid="lineup-pick">
            <option value="">{t("common.choose")}</option>
            {available.map((p) => (
              <option key={p.id} value={p.id}>
                {p.sku} · {p.name} · {money(p.list_price)}
              </option>
            ))}
          </select>
          <div className="row">
            <label>
              {t("product.livePrice")}
              <input value={pick.price} onChange={(e) => setPick({ ...pick, price: e.target.value })} inputMode="decimal" required size={8} data-testid="lineup-price" />
            </label>
            <label>
              {t("plan.allottedStock")}
              <input value={pick.stock} onChange={(e) => setPick({ ...pick, stock: e.target.value })} inputMode="numeric" required size={6} data-testid="lineup-stock" />
            </label>
            <label title={t("plan.perViewerLimitHint")}>
              {t("plan.perViewerLimit")}
              <input value={pick.limit} onChange={(e) => setPick({ ...pick, limit: e.target.value })} inputMode="numeric" placeholder={t("plan.limitDefault")} size={9} />
            </label>
          </div>
          <button className="primary" disabled={add.isPending} data-testid="lineup-add">
            {t("common.add")}
          </button>
          <ErrorText error={add.error} />
        </form>
      </Card>
      <Card title={t("plan.newProduct")}>
        <form className="col" onSubmit={submit(create)}>
          <div className="row">
            <input placeholder="SKU" value={np.sku} onChange={(e) => setNp({ ...np, sku: e.target.value })} required size={10} />
            <input placeholder={t("product.name")} value={np.name} onChange={(e) => setNp({ ...np, name: e.target.value })} required style={{ flex: 1 }} />
          </div>
          <div className="row">
            <label>
              {t("plan.listPrice")}
              <input value={np.price} onChange={(e) => setNp({ ...np, price: e.target.value })} inputMode="decimal" required size={8} />
            </label>
            <label>
              {t("plan.warehouseStock")}
              <input value={np.stock} onChange={(e) => setNp({ ...np, stock: e.target.value })} inputMode="numeric" required size={6} />
            </label>
          </div>
          <textarea rows={3} placeholder={t("plan.sellingPoints")} value={np.points} onChange={(e) => setNp({ ...np, points: e.target.value })} />
          <ClaimsPreview streamId={streamId} texts={[np.name, ...np.points.split("\n")]} />
          <button disabled={create.isPending}>{t("common.create")}</button>
          <ErrorText error={create.error} />
        </form>
      </Card>
    </div>
  );
}
