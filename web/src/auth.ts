// Who the tab is signed in as. The token lives in sessionStorage, so two tabs can be two
// users; the demo users' tokens come from the server's development-only /dev/tokens.

export interface Session {
  token: string;
  /** "demo": from /dev/tokens, renewed from there when it expires; "pasted": by hand. */
  source: "demo" | "pasted";
}

export interface DemoUser {
  id: string;
  name: string;
  role: string;
  token: string;
}

export interface Claims {
  sub: string;
  name?: string;
  exp?: number;
}

const KEY = "tasklive.session";
const RENEW_BEFORE_SECONDS = 60;

export function loadSession(): Session | null {
  const raw = sessionStorage.getItem(KEY);
  if (!raw) return null;
  try {
    const session = JSON.parse(raw) as Session;
    return claimsOf(session.token) ? session : null;
  } catch {
    return null;
  }
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(KEY, JSON.stringify(session));
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY);
}

/** The token's claims, read without verifying it (the server does that). */
export function claimsOf(token: string): Claims | null {
  const part = token.trim().split(".")[1];
  if (!part) return null;
  try {
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
    const claims = JSON.parse(json) as Claims;
    return typeof claims.sub === "string" ? claims : null;
  } catch {
    return null;
  }
}

/** The demo users and their tokens, or null when the server has no demo sign-in. */
export async function fetchDemoUsers(): Promise<DemoUser[] | null> {
  const reply = await fetch("/dev/tokens", { headers: { accept: "application/json" } });
  if (!reply.ok) return null;
  const body = (await reply.json()) as { users: DemoUser[] };
  return body.users;
}

/** The session's token; a demo token is renewed from /dev/tokens first when it is about to
 * expire, or when `refused` says the server turned it down. */
export async function currentToken(session: Session, refused = false): Promise<string> {
  const claims = claimsOf(session.token);
  const expiring = claims?.exp !== undefined && claims.exp - Date.now() / 1000 < RENEW_BEFORE_SECONDS;
  if (session.source !== "demo" || !(expiring || refused)) return session.token;
  const users = await fetchDemoUsers().catch(() => null);
  const fresh = users?.find((u) => u.id === claims?.sub);
  if (!fresh) return session.token;
  session.token = fresh.token;
  saveSession(session);
  return fresh.token;
}
