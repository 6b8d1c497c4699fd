// The product catalog (商品库): list and search, create and edit, CSV import (each bad
// row shown by its line) and export; and selection (选品): weights, scores per product,
// ranking with the score breakdown.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useRef, useState, type FormEvent } from "react";
import { NavLink, Navigate, Route, Routes } from "react-router";
import { api, ApiError, isRecord, unwrap, type Schemas } from "../../api/client";
import { useSession } from "../../auth/useAuth";
import { Card, ErrorText } from "../../components/ui";
import { serverText } from "../../i18n/server";
import { useI18n, type MessageKey } from "../../i18n";
import { downloadFile } from "../review/report";
import { Field, FormActions, errorsOf } from "../common/forms";
import { Selection } from "./Selection";
import { Shortfalls } from "./Shortfalls";

type Product = Schemas["ProductOut"];
type QC = Product["qc_status"];
const QCS: QC[] = ["pending", "passed", "failed"];

export function CatalogPage() {
  const { t } = useI18n();
  return (
    <div className="page" data-testid="catalog-page">
      <h1>{t("catalog.title")}</h1>
      <nav className="tabs">
        <NavLink to="/catalog/products" data-testid="tab-products">{t("catalog.products")}</NavLink>
        <NavLink to="/catalog/selection" data-testid="tab-selection">{t("selection.title")}</NavLink>
        <NavLink to="/catalog/shortfalls" data-testid="tab-shortfalls">{t("shortfall.title")}</NavLink>
      </nav>
      <Routes>
        <Route index element={<Navigate to="products" replace />} />
        <Route path="products" element={<Products />} />
        <Route path="selection" element={<Selection />} />
        <Route path="shortfalls" element={<Shortfalls />} />
      </Routes>
    </div>
  );
}

export function useCanWriteCatalog(): boolean {
  const role = useSession()?.user.role;
  return role === "admin" || role === "controller";
}

function Products() {
  const { t, money, num } = useI18n();
  const canWrite = useCanWriteCatalog();
  const [q, setQ] = useState("");
  const [qc, setQc] = useState<QC | "">("");
  const list = useQuery({
    queryKey: ["products", "list", q, qc],
    queryFn: () => unwrap(api.GET("/api/v1/products", { params: { query: { q: q || undefined, qc_status: qc || undefined, limit: 500 } } })),
  });
  const [editing, setEditing] = useState<Product | null>(null);
  const [exportError, setExportError] = useState<unknown>(null);
  return (
    <div className="col">
      {canWrite && <ImportCsv />}
      <Card
        title={t("catalog.products")}
        testId="product-list"
        actions={
          <button
            className="small"
            onClick={() => {
              setExportError(null);
              downloadFile("/api/v1/products/export", "products.csv").catch(setExportError);
            }}
            data-testid="catalog-export"
          >
            {t("catalog.export")}
          </button>
        }
      >
        <div className="row" style={{ marginBottom: 8 }}>
          <input value={q} onChange={(e) => setQ(e.target.value)} placeholder={t("catalog.search")} data-testid="catalog-search" style={{ flex: 1 }} />
          <select value={qc} onChange={(e) => setQc(e.target.value as QC | "")} aria-label={t("catalog.qc")}>
            <option value="">{t("catalog.qc")}: {t("common.all")}</option>
            {QCS.map((s) => (
              <option key={s} value={s}>
                {t(`qc.${s}` as MessageKey)}
              </option>
            ))}
          </select>
        </div>
        <ErrorText error={list.error ?? exportError} />
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>SKU</th>
                <th>{t("catalog.name")}</th>
                <th>{t("catalog.category")}</th>
                <th className="num">{t("catalog.listPrice")}</th>
                <th className="num">{t("catalog.cost")}</th>
                <th className="num">{t("catalog.stock")}</th>
                <th>{t("catalog.qc")}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {(list.data ?? []).map((p) => (
                <tr key={p.id} data-testid={`product-${p.sku}`}>
                  <td>
                    <code>{p.sku}</code>
                  </td>
                  <td>
                    {p.name}
                    {!p.licensed && <span className="badge badge-bad" style={{ marginLeft: 6 }}>{t("catalog.unlicensed")}</span>}
                  </td>
                  <td>{p.category || "—"}</td>
                  <td className="num">{money(p.list_price)}</td>
                  <td className="num">{money(p.cost)}</td>
                  <td className="num">{num(p.stock)}</td>
                  <td className={p.qc_status === "failed" ? "bad" : p.qc_status === "passed" ? "good" : "muted"}>{t(`qc.${p.qc_status}` as MessageKey)}</td>
                  <td>
                    {canWrite && (
                      <button className="small" onClick={() => setEditing(p)}>
                        {t("pg.edit")}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {list.data?.length === 0 && <p className="muted">{t("catalog.empty")}</p>}
      </Card>
      {canWrite && <ProductForm key={editing?.id ?? "new"} product={editing} onDone={() => setEditing(null)} />}
    </div>
  );
}

interface RowError {
  line: number;
  sku?: string | null;
  field?: string | null;
  reason: string;
  /** the reason's catalogue code and params, shown in the console's language */
  code?: string | null;
  params?: Record<string, string | number> | null;
}

function csvErrors(error: unknown): RowError[] | null {
  if (!(error instanceof ApiError) || error.code !== "csv_invalid" || !isRecord(error.body)) return null;
  const rows = error.body["errors"];
  return Array.isArray(rows) ? (rows as RowError[]) : [];
}

function ImportCsv() {
  const { t, lang } = useI18n();
  const qc = useQueryClient();
  const file = useRef<HTMLInputElement>(null);
  const [picked, setPicked] = useState<File | null>(null);
  const run = useMutation({
    mutationFn: async (f: File) => {
      const form = new FormData();
      form.append("file", f);
      return unwrap(
        api.POST("/api/v1/products/import", {
          body: form as never,
          bodySerializer: (b: unknown) => b as FormData,
        }),
      );
    },
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ["products"] });
      void qc.invalidateQueries({ queryKey: ["ranking"] });
    },
  });
  const bad = csvErrors(run.error);
  function submit(e: FormEvent) {
    e.preventDefault();
    if (picked) run.mutate(picked);
  }
  return (
    <Card title={t("catalog.import")} testId="csv-import">
      <p className="muted small">{t("catalog.importHelp")}</p>
      <form className="row" onSubmit={submit}>
        <input ref={file} type="file" accept=".csv,text/csv" onChange={(e) => setPicked(e.target.files?.[0] ?? null)} data-testid="csv-file" />
        <button className="primary" disabled={!picked || run.isPending} data-testid="csv-submit">
          {t("catalog.importRun")}
        </button>
      </form>
      {run.data && (
        <p className="good" data-testid="csv-result">
          {t("catalog.imported", { rows: run.data.rows, created: run.data.created, updated: run.data.updated })}
        </p>
      )}
      {bad ? (
        <div data-testid="csv-errors">
          <p className="bad">{t("catalog.importRefused", { n: bad.length })}</p>
          <table>
            <thead>
              <tr>
                <th>{t("catalog.line")}</th>
                <th>SKU</th>
                <th>{t("catalog.field")}</th>
                <th>{t("catalog.reason")}</th>
              </tr>
            </thead>
            <tbody>
              {bad.map((r, i) => (
                <tr key={i} data-testid="csv-error-row">
                  <td>{r.line}</td>
                  <td>{r.sku ?? "—"}</td>
                  <td>{r.field ?? "—"}</td>
                  <td>{serverText(lang, r.code, r.params, r.reason)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <ErrorText error={run.error} />
      )}
    </Card>
  );
}

const lines = (s: string) => s.split("\n").map((x) => x.trim()).filter(Boolean);

function ProductForm({ product, onDone }: { product: Product | null; onDone: () => void }) {
  const { t } = useI18n();
  const qc = useQueryClient();
  const [f, setF] = useState({
    sku: product?.sku ?? "",
    name: product?.name ?? "",
    category: product?.category ?? "",
    list_price: product?.list_price ?? "",
    cost: product?.cost ?? "",
    stock: product ? String(product.stock) : "",
    brand: product?.brand ?? "",
    supplier: product?.supplier ?? "",
    licensed: product?.licensed ?? true,
    qc_status: (product?.qc_status ?? "pending") as QC,
    selling_points: (product?.selling_points ?? []).join("\n"),
    usage_scenes: (product?.usage_scenes ?? []).join("\n"),
    competitor_differences: (product?.competitor_differences ?? []).join("\n"),
    image_urls: (product?.image_urls ?? []).join("\n"),
    description: product?.description ?? "",
  });
  const save = useMutation({
    mutationFn: () => {
      const body = {
        name: f.name,
        category: f.category,
        list_price: f.list_price,
        cost: f.cost.trim() === "" ? null : f.cost,
        stock: f.stock.trim() === "" ? (NaN as number) : Number(f.stock),
        brand: f.brand,
        supplier: f.supplier,
        licensed: f.licensed,
        qc_status: f.qc_status,
        selling_points: lines(f.selling_points),
        usage_scenes: lines(f.usage_scenes),
        competitor_differences: lines(f.competitor_differences),
        image_urls: lines(f.image_urls),
        description: f.description,
      };
      return product
        ? unwrap(api.PATCH("/api/v1/products/{product_id}", { params: { path: { product_id: product.id } }, body }))
        : unwrap(api.POST("/api/v1/products", { body: { ...body, sku: f.sku } }));
    },
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ["products"] });
      void qc.invalidateQueries({ queryKey: ["ranking"] });
      onDone();
    },
  });
  const errors = errorsOf(save.error);
  const set = (k: keyof typeof f) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });
  function submit(e: FormEvent) {
    e.preventDefault();
    save.mutate();
  }
  return (
    <Card title={product ? t("catalog.editProduct", { sku: product.sku }) : t("catalog.newProduct")} testId="product-form">
      <form onSubmit={submit} className="col">
        <div className="pf-grid">
          <Field label="SKU" name="sku" errors={errors}>
            <input value={f.sku} onChange={set("sku")} disabled={!!product} required data-testid="p-sku" />
          </Field>
          <Field label={t("catalog.name")} name="name" errors={errors}>
            <input value={f.name} onChange={set("name")} required data-testid="p-name" />
          </Field>
          <Field label={t("catalog.category")} name="category" errors={errors}>
            <input value={f.category} onChange={set("category")} data-testid="p-category" />
          </Field>
          <Field label={t("catalog.listPrice")} name="list_price" errors={errors}>
            <input inputMode="decimal" value={f.list_price} onChange={set("list_price")} required data-testid="p-price" />
          </Field>
          <Field label={t("catalog.cost")} name="cost" errors={errors}>
            <input inputMode="decimal" value={f.cost} onChange={set("cost")} data-testid="p-cost" />
          </Field>
          <Field label={t("catalog.stock")} name="stock" errors={errors}>
            <input type="number" value={f.stock} onChange={set("stock")} required data-testid="p-stock" />
          </Field>
          <Field label={t("catalog.brand")} name="brand" errors={errors}>
            <input value={f.brand} onChange={set("brand")} />
          </Field>
          <Field label={t("catalog.supplier")} name="supplier" errors={errors}>
            <input value={f.supplier} onChange={set("supplier")} />
          </Field>
          <Field label={t("catalog.qc")} name="qc_status" errors={errors}>
            <select value={f.qc_status} onChange={(e) => setF({ ...f, qc_status: e.target.value as QC })} data-testid="p-qc">
              {QCS.map((s) => (
                <option key={s} value={s}>
                  {t(`qc.${s}` as MessageKey)}
                </option>
              ))}
            </select>
          </Field>
          <label className="inline" style={{ alignSelf: "end" }}>
            <input type="checkbox" checked={f.licensed} onChange={(e) => setF({ ...f, licensed: e.target.checked })} data-testid="p-licensed" />
            {t("catalog.licensed")}
          </label>
          <Field label={t("catalog.sellingPoints")} name="selling_points" errors={errors} hint={t("catalog.onePerLine")}>
            <textarea value={f.selling_points} onChange={set("selling_points")} rows={3} data-testid="p-points" />
          </Field>
          <Field label={t("catalog.usageScenes")} name="usage_scenes" errors={errors}>
            <textarea value={f.usage_scenes} onChange={set("usage_scenes")} rows={3} />
          </Field>
          <Field label={t("catalog.competitors")} name="competitor_differences" errors={errors}>
            <textarea value={f.competitor_differences} onChange={set("competitor_differences")} rows={3} />
          </Field>
          <Field label={t("catalog.images")} name="image_urls" errors={errors}>
            <textarea value={f.image_urls} onChange={set("image_urls")} rows={3} placeholder="https://" />
          </Field>
          <Field label={t("settings.description")} name="description" errors={errors} wide>
            <textarea value={f.description} onChange={set("description")} rows={2} />
          </Field>
        </div>
        <FormActions
          editing={!!product}
          newLabel={t("common.create")}
          pending={save.isPending}
          error={save.error}
          shown={errors}
          onCancel={onDone}
          testId="p-submit"
        />
      </form>
    </Card>
  );
}
