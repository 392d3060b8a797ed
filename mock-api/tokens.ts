/**
 * What the mock knows of a bearer token: `other-client` is a live token issued to another
 * `X-Client-ID` than the one it is used with.
 */
export type TokenState = "valid" | "expired" | "unknown" | "other-client";

/** The bearer tokens the mock issued, each bound to a client and with its expiry. */
export interface TokenStore {
  /** Issues a fresh random token for `client` that lives `ttlMs` from `now`. */
  issue(now: number, client: string): string;
  /** Tells whether `token` was issued here, to `client`, and is still alive at `now`. */
  check(token: string, now: number, client: string): TokenState;
}

/** Creates an empty token store whose tokens live `ttlMs`. */
export function createTokenStore(ttlMs: number): TokenStore {
  const issued = new Map<string, { client: string; expiresAt: number }>();
  return {
    issue(now, client) {
      const token = `mock_${crypto.randomUUID().replaceAll("-", "")}`;
      issued.set(token, { client, expiresAt: now + ttlMs });
      return token;
    },
    check(token, now, client) {
      const found = issued.get(token);
      if (found === undefined) return "unknown";
      if (found.client !== client) return "other-client";
      return now < found.expiresAt ? "valid" : "expired";
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
