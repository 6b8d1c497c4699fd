// Form pieces shared by the settings, people and catalog pages: a labelled field that
// shows the server's 422 message under its input, and a confirmation dialog.
import { useEffect, useRef, type ReactNode } from "react";
import { ApiError, fieldErrors } from "../../api/client";
import { ErrorText } from "../../components/ui";
import { useT } from "../../i18n";
import "./pages.css";

/** One input with its label and the server's message for it (422 `{field, msg}`). */
export function Field({
  label,
  name,
  errors,
  children,
  hint,
  wide,
}: {
  label: ReactNode;
  name: string;
  errors: Record<string, string>;
  children: ReactNode;
  hint?: ReactNode;
  wide?: boolean;
}) {
  const msg = errors[name];
  return (
    <label className={`pf-field${wide ? " wide" : ""}${msg ? " invalid" : ""}`} data-field={name}>
      <span>{label}</span>
      {children}
      {hint && !msg ? <span className="muted small">{hint}</span> : null}
      {msg ? (
        <span className="field-error" role="alert" data-testid={`field-error-${name}`}>
          {msg}
        </span>
      ) : null}
    </label>
  );
}

/** The 422's messages by field; nested fields ("steps.0") also count for their parent. */
export function errorsOf(error: unknown): Record<string, string> {
  const out = fieldErrors(error);
  for (const [k, v] of Object.entries(out)) {
    const root = k.split(".")[0];
    if (root && !(root in out)) out[root] = v;
  }
  return out;
}

/** The error as text unless every problem is already shown at its field. */
export function FormError({ error, shown }: { error: unknown; shown: Record<string, string> }) {
  if (!error) return null;
  if (error instanceof ApiError && error.status === 422 && Object.keys(shown).length > 0) return null;
  return <ErrorText error={error} />;
}

/** The foot of an add-or-edit form: submit (Save when editing, else `newLabel`), Cancel
 *  while editing, and the error that no field shows. */
export function FormActions({
  editing,
  newLabel,
  pending,
  error,
  shown,
  onCancel,
  testId,
}: {
  editing: boolean;
  newLabel: ReactNode;
  pending: boolean;
  error: unknown;
  shown: Record<string, string>;
  onCancel: () => void;
  testId: string;
}) {
  const t = useT();
  return (
    <>
      <div className="row">
        <button className="primary" disabled={pending} data-testid={testId}>
          {editing ? t("common.save") : newLabel}
        </button>
        {editing && (
          <button type="button" onClick={onCancel}>
            {t("common.cancel")}
          </button>
        )}
      </div>
      <FormError error={error} shown={shown} />
    </>
  );
}

/** A modal that asks before a consequential step; the text names what it acts on. */
export function ConfirmDialog({
  title,
  children,
  confirmLabel,
  danger,
  busy,
  onConfirm,
  onCancel,
}: {
  title: ReactNode;
  children?: ReactNode;
  confirmLabel: ReactNode;
  danger?: boolean;
  busy?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const t = useT();
  const ok = useRef<HTMLButtonElement>(null);
  useEffect(() => ok.current?.focus(), []);
  return (
    <div className="pf-modal" role="dialog" aria-modal="true" data-testid="confirm-dialog" onClick={onCancel}>
      <div className="pf-modal-body" onClick={(e) => e.stopPropagation()} onKeyDown={(e) => e.key === "Escape" && onCancel()}>
        <h2 data-testid="confirm-title">{title}</h2>
        {children}
        <div className="row" style={{ justifyContent: "flex-end", marginTop: 14 }}>
          <button type="button" onClick={onCancel} data-testid="confirm-cancel">
            {t("common.cancel")}
          </button>
          <button ref={ok} type="button" className={danger ? "danger" : "primary"} onClick={onConfirm} disabled={busy} data-testid="confirm-ok">
            {confirmLabel}
          </button>
        </div>
      </div>
    </div>
  );
}

/** `datetime-local` value ↔ ISO string with the browser's offset. */
export function toLocalInput(iso: string | null | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function fromLocalInput(value: string): string | null {
  if (!value) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}
