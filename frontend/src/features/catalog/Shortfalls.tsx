// Stock shortfalls across every draft, scheduled and live stream: a product allotted
// beyond its warehouse stock, alone or with streams planned at overlapping times.
import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router";
import { api, unwrap } from "../../api/client";
import { Card, ErrorText } from "../../components/ui";
import { useI18n } from "../../i18n";

interface Shortfall {
  stream_id: number;
  stream_title: string;
  product_id: number;
  sku: string;
  name: string;
  warehouse_stock: number;
  allotted: number;
  total_allotted: number;
  own_shortfall: number;
  shortfall: number;
  overlapping: { stream_id: number; title: string; allotted: number }[];
}

export function Shortfalls() {
  const { t, num } = useI18n();
  const report = useQuery({
    queryKey: ["shortfalls"],
    queryFn: async () => (await unwrap(api.GET("/api/v1/inventory/shortfalls"))) as unknown as Shortfall[],
  });
  return (
    <Card title={t("shortfall.title")} testId="shortfalls">
      <p className="muted small">{t("shortfall.explain")}</p>
      <ErrorText error={report.error} />
      {report.data?.length === 0 && <p className="good">{t("shortfall.none")}</p>}
      {(report.data?.length ?? 0) > 0 && (
        <table>
          <thead>
            <tr>
              <th>{t("campaign.stream")}</th>
              <th>SKU</th>
              <th>{t("catalog.name")}</th>
              <th className="num">{t("catalog.stock")}</th>
              <th className="num">{t("shortfall.allotted")}</th>
              <th className="num">{t("shortfall.total")}</th>
              <th className="num">{t("shortfall.short")}</th>
              <th>{t("shortfall.overlapping")}</th>
            </tr>
          </thead>
          <tbody>
            {(report.data ?? []).map((r) => (
              <tr key={`${r.stream_id}-${r.product_id}`} data-testid="shortfall-row">
                <td>
                  <Link to={`/streams/${r.stream_id}/plan/lineup`}>{r.stream_title}</Link>
                </td>
                <td>
                  <code>{r.sku}</code>
                </td>
                <td>{r.name}</td>
                <td className="num">{num(r.warehouse_stock)}</td>
                <td className="num">{num(r.allotted)}</td>
                <td className="num">{num(r.total_allotted)}</td>
                <td className="num bad">{num(r.shortfall)}</td>
                <td className="small">{r.overlapping.map((o) => `${o.title} (${num(o.allotted)})`).join("、") || "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}
