// One i18n layer for every string on every console: Simplified Chinese by default,
// English on request; the choice is remembered in localStorage.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { messages, type MessageKey } from "./messages";

export type Lang = "zh" | "en";

/** Times are shown in the team's time zone (#16; the server's TEAM_TIMEZONE default),
 * whatever the device's own zone: a stream planned for 20:00 Beijing time shows 20:00. */
export const TEAM_TIME_ZONE = "Asia/Shanghai";
const KEY = "lcr.lang";

function initialLang(): Lang {
  try {
    const stored = localStorage.getItem(KEY);
    if (stored === "zh" || stored === "en") return stored;
  } catch {
    /* private mode: default */
  }
  return "zh";
}

export type Vars = Record<string, string | number>;
export type TFunction = (key: MessageKey, vars?: Vars) => string;

export interface I18n {
  lang: Lang;
  setLang: (lang: Lang) => void;
  t: TFunction;
  /** "59.90" → "¥59.90"; "123456.00" → "¥123,456.00" (no float rounding: display only). */
  money: (value: string | number | null | undefined) => string;
  num: (value: number | null | undefined) => string;
  time: (iso: string | null | undefined) => string;
  dateTime: (iso: string | null | undefined) => string;
}

export function translate(lang: Lang, key: MessageKey, vars?: Vars): string {
  const entry = messages[key];
  let text: string = entry[lang === "zh" ? 0 : 1];
  if (vars) {
    for (const [name, value] of Object.entries(vars)) text = text.split(`{${name}}`).join(String(value));
    if (lang === "en") text = singular(text);
  }
  return text;
}

// English plurals (#16): "1 winners" → "1 winner". Chinese has no plural forms.
const PLURAL_NOUNS = /(^|[^\d.,])1 (winner|viewer|item|order|unit|product|segment|question|comment|minute|second|cue|alert|asker|member|action|finding|reply|replie|entrant|coupon)s\b/g;
export function singular(text: string): string {
  return text
    .replace(PLURAL_NOUNS, (_m, pre: string, noun: string) => `${pre}1 ${noun === "replie" ? "reply" : noun}`)
    .replace(/(^|[^\d.,])1 (viewer|asker) are\b/g, "$11 $2 is");
}

export function formatMoney(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === "") return "—";
  const s = typeof value === "number" ? value.toFixed(2) : value;
  const negative = s.startsWith("-");
  const [intPart = "0", frac = "00"] = (negative ? s.slice(1) : s).split(".");
  const grouped = intPart.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${negative ? "-" : ""}¥${grouped}.${frac.padEnd(2, "0").slice(0, 2)}`;
}

const Ctx = createContext<I18n | null>(null);

export function I18nProvider({ children }: { children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(initialLang);
  const setLang = useCallback((next: Lang) => {
    setLangState(next);
    try {
      localStorage.setItem(KEY, next);
    } catch {
      /* not remembered, still switched */
    }
  }, []);
  useEffect(() => {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    document.title = translate(lang, "app.title");
  }, [lang]);
  const value = useMemo<I18n>(() => {
    const locale = lang === "zh" ? "zh-CN" : "en-US";
    const nf = new Intl.NumberFormat(locale);
    const tf = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false, timeZone: TEAM_TIME_ZONE });
    const dtf = new Intl.DateTimeFormat(locale, {
      timeZone: TEAM_TIME_ZONE,
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hour12: false,
    });
    return {
      lang,
      setLang,
      t: (key, vars) => translate(lang, key, vars),
      money: formatMoney,
      num: (v) => (v === null || v === undefined || Number.isNaN(v) ? "—" : nf.format(v)),
      time: (iso) => (iso ? tf.format(new Date(iso)) : "—"),
      dateTime: (iso) => (iso ? dtf.format(new Date(iso)) : "—"),
    };
  }, [lang, setLang]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useI18n(): I18n {
  const v = useContext(Ctx);
  if (!v) throw new Error("useI18n outside I18nProvider");
  return v;
}

export function useT(): TFunction {
  return useI18n().t;
}

export type { MessageKey };
