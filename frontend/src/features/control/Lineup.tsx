// The lineup with live stock and per-product figures; list / delist / explain.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import { Card, ErrorText, isMissing, Pending } from "../../components/ui";
import { useI18n, type MessageKey } from "../../i18n";
import { pct } from "../shared/Figures";
import { productMetrics, useLineup, useProducts, type LineupRow } from "../../live/streamData";
import type { Metrics } from "../../live/types";

type Action = "list" | "delist" | "explain";

export function stockLeft(row: LineupRow, metrics: Metrics | null): number {
  const live = productMetrics(metrics, row.product_id);
  return live?.stock_left ?? row.allotted_stock - row.sold_units;
}

export function LineupControl({ streamId, metrics, fresh }: { streamId: number; metrics: Metrics | null; fresh: boolean }) {
  const { t, money, num } = useI18n();
  const qc = useQueryClient();
  const lineup = useLineup(streamId);
  const rows = [...(lineup.data ?? [])].sort((a, b) => a.position - b.position);
  const products = useProducts(rows.filter((r) => !r.name).map((r) => r.product_id));
  const act = useMutation({
    mutationFn: ({ action, productId }: { action: Action; productId: number }) => {
      const params = { params: { path: { stream_id: streamId, product_id: productId } } };
      if (action === "list") return unwrap(api.POST("/api/v1/streams/{stream_id}/lineup/{product_id}/list", params));
      if (action === "delist") return unwrap(api.POST("/api/v1/streams/{stream_id}/lineup/{product_id}/delist", params));
      return unwrap(api.POST("/api/v1/streams/{stream_id}/lineup/{product_id}/explain", params));
    },
    onSettled: () => void qc.invalidateQueries({ queryKey: ["lineup", streamId] }),
  });

  return (
    <Card title={t("control.lineup")} testId="lineup">
      {isMissing(lineup.error) ? <Pending what={t("control.lineup")} /> : <ErrorText error={lineup.error} />}
      <ErrorText error={act.error} />
      {lineup.data && rows.length === 0 && <p className="muted">{t("control.lineupEmpty")}</p>}
      {rows.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>#</th>
                <th>{t("product.name")}</th>
                <th className="num">{t("product.livePrice")}</th>
                <th>{t("product.status")}</th>
                <th className="num">{t("product.stockLeft")}</th>
                <th className="num">{t("m.product_clicks")}</th>
                <th className="num">{t("m.add_to_cart")}</th>
                <th className="num">{t("m.orders")}</th>
                <th className="num" title={t("rate.productCvrHint")}>{t("rate.productCvr")}</th>
                <th className="num">{t("m.units_sold")}</th>
                <th className="num">{t("m.gmv")}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => {
                const pm = productMetrics(metrics, r.product_id);
                const left = stockLeft(r, metrics);
                const name = r.name || products.data?.get(r.product_id)?.name || `#${r.product_id}`;
                const busy = act.isPending && act.variables?.productId === r.product_id;
                return (
                  <tr key={r.product_id} className={r.explaining ? "explaining" : ""} data-testid={`lineup-row-${r.product_id}`}>
                    <td>{r.position}</td>
                    <td>
                      {name}
                      {r.sku ? <div className="muted small">{r.sku}</div> : null}
                    </td>
                    <td className="num">{money(r.live_price)}</td>
                    <td>
                      <span className={`badge badge-${r.status}`} data-testid="listing-status">
                        {t(`listing.${r.status}` as MessageKey)}
                      </span>{" "}
                      {r.explaining && <span className="badge badge-explaining">{t("listing.explaining")}</span>}
                    </td>
                    <td className={`num${fresh ? "" : " stale-text"}`} data-testid="stock-left">
                      <strong className={left <= 0 ? "bad" : left < Math.max(5, r.allotted_stock * 0.1) ? "warn" : ""}>{num(left)}</strong>
                      <span className="muted"> / {num(r.allotted_stock)}</span>
                    </td>
                    <td className="num">{num(pm?.clicks ?? 0)}</td>
                    <td className="num">{num(pm?.add_to_cart ?? 0)}</td>
                    <td className="num" data-testid="product-orders">{num(pm?.orders ?? 0)}</td>
                    <td className="num" data-testid="product-cvr">{pct(pm?.orders, pm?.clicks)}</td>
                    <td className="num">{num(pm?.units_sold ?? 0)}</td>
                    <td className="num">{money(pm?.gmv ?? "0.00")}</td>
                    <td>
                      <div className="row nowrap">
                        {r.status !== "listed" ? (
                          <button className="small good" disabled={busy} onClick={() => act.mutate({ action: "list", productId: r.product_id })} data-testid="btn-list">
                            {t("action.list")}
                          </button>
                        ) : (
                          <button className="small" disabled={busy} onClick={() => act.mutate({ action: "delist", productId: r.product_id })} data-testid="btn-delist">
                            {t("action.delist")}
                          </button>
                        )}
                        <button
                          className="small"
                          disabled={busy || r.explaining || r.status === "delisted"}
                          onClick={() => act.mutate({ action: "explain", productId: r.product_id })}
                          data-testid="btn-explain"
                        >
                          {t("action.explain")}
                        </button>
                      </div>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}
