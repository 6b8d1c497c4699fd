// The review's tables as a report people read (#16): named columns in the console's
// language, money as ¥, rates as %, times in the team's time zone (HH:MM:SS, never an
// ISO string), durations as m:ss. Each table shows the columns a meeting talks about and
// wraps in its own box on a narrow screen; its CSV carries the same headings and cells.
import { formatDuration } from "../../components/ui";
import { useI18n, type I18n, type MessageKey } from "../../i18n";
import { exportRows, pct, type Row } from "./report";

export type Format = "text" | "num" | "money" | "pct" | "time" | "duration";

export interface Column {
  key: string;
  label: MessageKey;
  format?: Format;
  /** The cell from the whole row (e.g. a start–end range or a product's name). */
  value?: (row: Row) => unknown;
}

export function formatCell(i18n: I18n, format: Format, v: unknown): string {
  if (v === null || v === undefined || v === "") return "—";
  switch (format) {
    case "money":
      return i18n.money(v as string);
    case "pct":
      return pct(Number(v), 1);
    case "num":
      return typeof v === "number" ? i18n.num(v) : String(v);
    case "time":
      return i18n.time(String(v));
    case "duration":
      return formatDuration(Number(v));
    default:
      return String(v);
  }
}

const NUMERIC: Format[] = ["num", "money", "pct", "duration"];

export function ReportTable({ rows, columns, name, testId }: { rows: Row[]; columns: Column[]; name: string; testId?: string }) {
  const i18n = useI18n();
  const { t } = i18n;
  const cells = (r: Row) => columns.map((c) => formatCell(i18n, c.format ?? "text", c.value ? c.value(r) : r[c.key]));
  const download = () =>
    exportRows(
      name,
      rows.map((r) => {
        const shown = cells(r);
        return Object.fromEntries(columns.map((c, i) => [t(c.label), shown[i]]));
      }),
    );
  return (
    <div data-testid={testId} className="report-table">
      <div className="row no-print" style={{ justifyContent: "flex-end", marginBottom: 6 }}>
        <button className="small" onClick={download} disabled={rows.length === 0}>
          ⬇ {t("common.export")} CSV
        </button>
      </div>
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              {columns.map((c) => (
                <th key={c.key} className={NUMERIC.includes(c.format ?? "text") ? "num" : ""}>
                  {t(c.label)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r, i) => (
              <tr key={i}>
                {cells(r).map((v, j) => (
                  <td key={columns[j]!.key} className={NUMERIC.includes(columns[j]!.format ?? "text") ? "num" : ""}>
                    {v}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
