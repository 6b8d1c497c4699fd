// The typed API client: paths, bodies and answers come from src/api/schema.d.ts, which
// scripts/gen-api.mjs generates from the backend's OpenAPI schema on every build.
import createClient, { type Middleware } from "openapi-fetch";
import { auth } from "../auth/store";
import { storedLang } from "../i18n/server";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];

type JsonOk<O> = O extends { responses: { 200: { content: { "application/json": infer R } } } } ? R : never;
/** The JSON a GET answers with, by path: stable even when schema names get prefixed. */
export type GetResult<P extends keyof paths> = paths[P] extends { get: infer O } ? JsonOk<O> : never;

/** A 4xx/5xx answer: the backend's `{detail, code}` body, kept for the UI to show. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string | null;
  readonly body: unknown;
  constructor(status: number, body: unknown) {
    super(describeError(status, body));
    this.status = status;
    this.body = body;
    const code = isRecord(body) ? body["code"] : undefined;
    this.code = typeof code === "string" ? code : null;
  }
  /** The endpoint does not exist on this server (yet): the UI says so instead of failing. */
  get missing(): boolean {
    return this.status === 404 && this.code === null || this.status === 405;
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function describeError(status: number, body: unknown): string {
  if (isRecord(body)) {
    // `message` is worded for people in our Accept-Language (server-side, by `code`).
    const message = body["message"];
    if (typeof message === "string" && message) {
      const detail = body["detail"];
      if (Array.isArray(detail) && detail.length > 1) {
        return detail.map((d) => (isRecord(d) && typeof d["message"] === "string" ? d["message"] : message)).join("; ");
      }
      return message;
    }
    const detail = body["detail"];
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail
        .map((d) => (isRecord(d) ? `${String(d["field"] ?? d["loc"] ?? "")}: ${String(d["msg"] ?? "")}` : String(d)))
        .join("; ");
    }
  }
  return `HTTP ${status}`;
}

/** A 422's validation problems by field name (`{"field": "sla_seconds", "msg": ...}`),
 * for forms that show each message next to its input. */
export function fieldErrors(error: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!(error instanceof ApiError) || !isRecord(error.body)) return out;
  const detail = error.body["detail"];
  if (!Array.isArray(detail)) return out;
  for (const d of detail) {
    if (isRecord(d) && typeof d["field"] === "string" && d["field"] && !(d["field"] in out)) {
      out[d["field"]] = String(d["message"] ?? d["msg"] ?? "");
    }
  }
  return out;
}

const bearer: Middleware = {
  onRequest({ request }) {
    // Server texts for people (errors, findings, alerts) in the language the user chose.
    request.headers.set("Accept-Language", storedLang() === "en" ? "en" : "zh-CN");
    const token = auth.token();
    if (token && !request.headers.has("Authorization")) {
      request.headers.set("Authorization", `Bearer ${token}`);
    }
    return request;
  },
  onResponse({ request, response }) {
    // An expired or revoked staff token: back to the login page.
    if (response.status === 401 && !request.url.includes("/auth/login") && auth.token()) {
      const sentStaffToken = request.headers.get("Authorization") === `Bearer ${auth.token()}`;
      if (sentStaffToken) auth.logout();
    }
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: "" });
api.use(bearer);

/** Await an openapi-fetch call and return its data, or throw an ApiError. */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw new ApiError(response.status, error ?? null);
  return data as T;
}

export function newIdempotencyKey(): string {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}
