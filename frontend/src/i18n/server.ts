// Messages the server sends for people (alerts, cues, readiness findings, errors) come
// with a stable `code` and `params`: the consoles word them in the chosen language from
// the "srv.*" block of messages.ts (the same catalogue as app/i18n.py), and fall back to
// the server's own text for a code they do not know.
import { messages, type MessageKey } from "./messages";
import { translate, type Lang } from "./index";

export type Params = Record<string, unknown>;

function show(value: unknown, lang: Lang): string | number {
  if (typeof value === "number") return value;
  if (typeof value === "string") {
    const key = `srv.${value}`;
    // a param that is itself a catalogue code: a reason, a claims rule or rewording
    return (value.startsWith("reason.") || value.startsWith("compliance.")) && key in messages ? translate(lang, key as MessageKey) : value;
  }
  if (Array.isArray(value)) return value.map(String).join(lang === "zh" ? "、" : ", ");
  return value === null || value === undefined ? "—" : String(value);
}

/** A claims-checker rule or rewording (`compliance.rule.<code>` /
 * `compliance.suggestion.<code>`) in `lang`; `fallback` (the server's words, e.g. a
 * team's own suggestion) without a code. */
export function complianceText(lang: Lang, kind: "rule" | "suggestion", code: string | null | undefined, fallback: string): string {
  return code ? serverText(lang, `compliance.${kind}.${code}`, null, fallback) : fallback;
}

/** The text of a server `code` in `lang`, or `fallback` for a code not in the catalogue. */
export function serverText(lang: Lang, code: string | null | undefined, params: Params | null | undefined, fallback: string): string {
  if (!code) return fallback;
  const key = `srv.${code}`;
  if (!(key in messages)) return fallback;
  const vars: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(params ?? {})) vars[k] = show(v, lang);
  return translate(lang, key as MessageKey, vars);
}

/** The current UI language, for requests (Accept-Language) outside React. */
export function storedLang(): Lang {
  try {
    return localStorage.getItem("lcr.lang") === "en" ? "en" : "zh";
  } catch {
    return "zh";
  }
}
