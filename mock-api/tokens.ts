/** What the mock knows of a bearer token. */
export type TokenState = "valid" | "expired" | "unknown";

/** The bearer tokens the mock issued, each with its expiry by the mock's clock. */
export interface TokenStore {
  /** Issues a fresh random token that lives `ttlMs` from `now`. */
  issue(now: number): string;
  /** Tells whether `token` was issued here and is still alive at `now`. */
  check(token: string, now: number): TokenState;
}

/** Creates an empty token store whose tokens live `ttlMs`. */
export function createTokenStore(ttlMs: number): TokenStore {
  const expiries = new Map<string, number>();
  return {
    issue(now) {
      const token = `mock_${crypto.randomUUID().replaceAll("-", "")}`;
      expiries.set(token, now + ttlMs);
      return token;
    },
    check(token, now) {
      const expiresAt = expiries.get(token);
      if (expiresAt === undefined) return "unknown";
      return now < expiresAt ? "valid" : "expired";
    },
  };
}

/** Reads `Authorization: Basic base64(email:password)`; `undefined` when absent or malformed. */
export function parseBasic(header: string | null): { email: string; password: string } | undefined {
  const match = /^Basic\s+(\S+)\s*$/i.exec(header ?? "");
  if (!match) return undefined;
  let decoded: string;
  try {
    const bytes = Uint8Array.from(atob(match[1]!), (char) => char.charCodeAt(0));
    decoded = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { email: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Reads `Authorization: Bearer <token>`; `undefined` when absent or malformed. */
export function parseBearer(header: string | null): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(header ?? "")?.[1];
}
