// The metric dictionary (指标说明): every review figure, its unit and its formula, so
// the team reads the numbers the same way (GET /metrics/dictionary; docs/metrics.md).
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { api, unwrap } from "../../api/client";
import { Card, ErrorText } from "../../components/ui";
import { useI18n } from "../../i18n";

export function MetricDictionaryPage() {
  const { t, lang } = useI18n();
  const [q, setQ] = useState("");
  const dict = useQuery({ queryKey: ["metric-dictionary"], queryFn: () => unwrap(api.GET("/api/v1/metrics/dictionary")), staleTime: Infinity });
  const needle = q.trim().toLowerCase();
  const rows = (dict.data ?? []).filter(
    (m) => !needle || [m.key, m.name, m.name_zh, m.formula].some((v) => v.toLowerCase().includes(needle)),
  );
  return (
    <div className="page" data-testid="metric-dictionary">
      <h1>{t("metrics.title")}</h1>
      <Card>
        <p className="muted small">{t("metrics.explain")}</p>
        <input value={q} onChange={(e) => setQ(e.target.value)} placeholder={t("metrics.search")} style={{ width: "100%", marginBottom: 8 }} />
        <ErrorText error={dict.error} />
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>{t("metrics.name")}</th>
                <th>{t("metrics.key")}</th>
                <th>{t("metrics.unit")}</th>
                <th>{t("metrics.formula")}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((m) => (
                <tr key={m.key} data-testid={`metric-${m.key}`}>
                  <td>
                    <strong>{lang === "zh" ? m.name_zh : m.name}</strong>
                    <div className="muted small">{lang === "zh" ? m.name : m.name_zh}</div>
                  </td>
                  <td>
                    <code>{m.key}</code>
                  </td>
                  <td className="small">{m.unit}</td>
                  <td className="small">
                    {m.formula}
                    {m.notes && <div className="muted">{m.notes}</div>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Card>
    </div>
  );
}
