/** The mock's authentication: Basic credentials for a token, and the bearer check of the API. */
import type { ClientAccounts } from "./clients.ts";
import { json } from "./respond.ts";
import { parseBasic, parseBearer, type TokenStore } from "./tokens.ts";

/** What the authentication needs from the mock. */
export interface AuthOptions {
  tokens: TokenStore;
  accounts: ClientAccounts;
  /** Lifetime of a token, in ms. */
  tokenTtlMs: number;
  /** The mock's time. */
  now: () => number;
}

/** The mock's two authentication steps. */
export interface Auth {
  /** `POST /auth/token`: a token for the client's right credentials, else a 401. */
  issueToken(req: Request, client: string): Response;
  /** The 401 of a request without a live token issued to `client`; `undefined` when it has one. */
  bearer(req: Request, client: string): Response | undefined;
}

export function createAuth(options: AuthOptions): Auth {
  const { tokens, accounts, tokenTtlMs, now } = options;
  return {
    issueToken(req, client) {
      const credentials = parseBasic(req.headers.get("authorization"));
      if (!credentials) {
        return json(401, {
          error: "Unauthorized",
          message: "Send Authorization: Basic credentials",
        });
      }
      const expected = accounts.credentials(client);
      if (credentials.email !== expected.email || credentials.password !== expected.password) {
        return json(401, { error: "Invalid credentials", message: "Email or password is wrong" });
      }
      const issuedAt = now();
      return json(200, {
        access_token: tokens.issue(issuedAt, client),
        token_type: "Bearer",
        expires_in: tokenTtlMs / 1_000,
        issued_at: new Date(issuedAt).toISOString(),
      });
    },
    bearer(req, client) {
      const token = parseBearer(req.headers.get("authorization"));
      if (token === undefined) {
        return json(401, { error: "Missing token", message: "Send Authorization: Bearer <token>" });
      }
      const state = tokens.check(token, now(), client);
      if (state === "unknown") return json(401, { error: "Invalid token" });
      if (state === "other-client") {
        return json(401, {
          error: "Invalid token",
          message: "The token was issued to another client",
        });
      }
      if (state === "expired") return json(401, { error: "Token expired" });
      return undefined;
    },
  };
}
