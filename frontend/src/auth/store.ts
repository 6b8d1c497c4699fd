// The signed-in staff user, remembered in localStorage so a reload keeps the session.
import type { components } from "../api/schema";

export type Role = components["schemas"]["Role"];
export type User = components["schemas"]["UserOut"];

interface Session {
  token: string;
  expiresAt: string;
  user: User;
}

const KEY = "lcr.auth";
const listeners = new Set<() => void>();

function load(): Session | null {
  try {
    const raw = localStorage.getItem(KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as Session;
    if (!s.token || !s.user) return null;
    if (s.expiresAt && Date.parse(s.expiresAt) < Date.now()) return null;
    return s;
  } catch {
    return null;
  }
}

let current: Session | null = load();

function emit(): void {
  for (const l of listeners) l();
}

export const auth = {
  session: (): Session | null => current,
  token: (): string | null => current?.token ?? null,
  user: (): User | null => current?.user ?? null,
  login(token: string, expiresAt: string, user: User): void {
    current = { token, expiresAt, user };
    localStorage.setItem(KEY, JSON.stringify(current));
    emit();
  },
  logout(): void {
    current = null;
    localStorage.removeItem(KEY);
    emit();
  },
  subscribe(listener: () => void): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};

// Another tab signed in or out.
window.addEventListener("storage", (e) => {
  if (e.key === KEY) {
    current = load();
    emit();
  }
});
