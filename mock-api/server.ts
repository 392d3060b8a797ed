import { DEFAULT_CLIENT, mulberry32, paginate, parsePageQuery } from "./campaigns.ts";
import { createClientAccounts } from "./clients.ts";
import { MOCK_API_DEFAULTS, type MockApiOptions, type MockRequestLogEntry } from "./options.ts";
import { createRateWindow } from "./rate_window.ts";
import { advertiseOn } from "./advertise.ts";
import { createTokenStore, parseBasic, parseBearer } from "./tokens.ts";

export type { MockApiOptions, MockRequestLogEntry } from "./options.ts";
export type { MockClientCredentials } from "./clients.ts";

/** The mock as a plain handler, for tests that call it as `fetch`. */
export interface MockApi {
  /** Answers one request; rejects, like `fetch`, when the request's signal or `close()` aborts it. */
  handler: (req: Request) => Promise<Response>;
  /** Every request answered so far, in the order answered. */
  log: MockRequestLogEntry[];
  /** The seed in use (the one given, or the random one drawn). */
  seed: number;
  /** Releases every held request (hangs, slow syncs); later holds are released at once. */
  close(): void;
}

/** The mock served over HTTP. */
export interface ServedMockApi {
  /** Base URL, such as `http://127.0.0.1:40123`. */
  url: string;
  log: MockRequestLogEntry[];
  seed: number;
  /** Drops every open connection, releases held requests and stops the server. */
  close(): Promise<void>;
}

/** Raised inside the handler when a held request is let go without an answer. */
class Released extends Error {
  constructor(readonly reason: unknown) {
    super("Request released without an answer");
    this.name = "Released";
  }
}

const SYNC_PATH = /^\/api\/campaigns\/([^/]+)\/sync$/;

/**
 * Creates the mock Ad Platform as a `(Request) => Promise<Response>` handler plus its request log.
 *
 * @example
 * ```ts
 * const api = createMockApi({ seed: 1, errorRate: 0, hangRate: 0 });
 * const res = await api.handler(new Request("http://mock/health"));
 * ```
 */
export function createMockApi(options: Partial<MockApiOptions> = {}): MockApi {
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const {
    rateLimit,
    errorRate,
    hangRate,
    syncDelayMs,
    tokenTtlMs,
    campaigns,
    email,
    password,
    retryAfter,
    penaltyMs,
    hasMoreLies,
    pastEndRecords,
    maxLimit,
    seed = crypto.getRandomValues(new Uint32Array(1))[0]!,
    records,
    clients,
    now = Date.now,
    onRequest,
    advertise,
    clientRateLimits,
  }: MockApiOptions = { ...MOCK_API_DEFAULTS, ...(defined as Partial<MockApiOptions>) };

  const log: MockRequestLogEntry[] = [];
  const window = createRateWindow(rateLimit, { penaltyMs, limits: clientRateLimits });
  const drawFailure = mulberry32(seed ^ 0x5bd1e995);
  const tokens = createTokenStore(tokenTtlMs);
  const accounts = createClientAccounts({ campaigns, seed, records, email, password, clients });
  const startedAt = now();
  const closing = new AbortController();

  /** Waits `ms` (or forever), unless the client gives up or the mock closes first. */
  function hold(signal: AbortSignal, ms?: number): Promise<void> {
    return new Promise((resolve, reject) => {
      if (closing.signal.aborted) return reject(new Released(closing.signal.reason));
      if (signal.aborted) return reject(new Released(signal.reason));
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = (released?: Released) => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onClient);
        closing.signal.removeEventListener("abort", onClose);
        if (released) reject(released);
        else resolve();
      };
      const onClient = () => finish(new Released(signal.reason));
      const onClose = () => finish(new Released(closing.signal.reason));
      signal.addEventListener("abort", onClient, { once: true });
      closing.signal.addEventListener("abort", onClose, { once: true });
      if (ms !== undefined) timer = setTimeout(finish, ms);
    });
  }

  function bearer(req: Request, client: string): Response | undefined {
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
  }

  function limited(client: string): Response | undefined {
    const waitMs = window.admit(client, now());
    if (waitMs === 0) return undefined;
    const seconds = Math.max(1, Math.ceil(waitMs / 1_000));
    const headers = retryAfter === "body" ? undefined : { "Retry-After": String(seconds) };
    const body = retryAfter === "header"
      ? { error: "Too Many Requests" }
      : { error: "Too Many Requests", retry_after: seconds };
    return json(429, body, headers);
  }

  function issueToken(req: Request, client: string): Response {
    const credentials = parseBasic(req.headers.get("authorization"));
    if (!credentials) {
      return json(401, { error: "Unauthorized", message: "Send Authorization: Basic credentials" });
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
  }

  async function listCampaigns(req: Request, url: URL, entry: Partial<MockRequestLogEntry>) {
    const query = parsePageQuery(url.searchParams);
    if (query) entry.page = query.page;
    // Authenticate first: a request with a bad token must not spend the client's quota.
    const refusal = bearer(req, entry.client!) ?? limited(entry.client!);
    if (refusal) return refusal;
    if (!query) {
      return json(400, {
        error: "Bad Request",
        message: "page and limit must be whole numbers of 1 or more",
      });
    }
    const draw = drawFailure();
    if (draw < errorRate) return json(503, { error: "Service Unavailable" });
    if (draw < errorRate + hangRate) {
      entry.hung = true;
      await hold(req.signal);
    }
    const { records: served } = accounts.data(entry.client!);
    return json(
      200,
      paginate(served, query.page, query.limit, { hasMoreLies, pastEndRecords, maxLimit }),
    );
  }

  async function syncCampaign(req: Request, rawId: string, entry: Partial<MockRequestLogEntry>) {
    let id: string;
    try {
      id = decodeURIComponent(rawId);
    } catch {
      return json(400, { error: "Bad Request", message: "Malformed campaign id" });
    }
    entry.campaignId = id;
    const refusal = bearer(req, entry.client!) ?? limited(entry.client!);
    if (refusal) return refusal;
    if (!accounts.data(entry.client!).ids.has(id)) {
      return json(404, { error: "Not Found", message: "No such campaign" });
    }
    if (syncDelayMs > 0) await hold(req.signal, syncDelayMs);
    return json(200, {
      success: true,
      campaign_id: id,
      synced_at: new Date(now()).toISOString(),
      message: `Campaign ${id} synced successfully`,
    });
  }

  function route(req: Request, url: URL, entry: Partial<MockRequestLogEntry>) {
    const { pathname } = url;
    const syncMatch = SYNC_PATH.exec(pathname);
    const method = pathname === "/health" || pathname === "/api/campaigns"
      ? "GET"
      : pathname === "/auth/token" || syncMatch
      ? "POST"
      : undefined;
    if (!method) return json(404, { error: "Not Found", message: `No route for ${pathname}` });
    if (req.method !== method) return json(405, { error: "Method Not Allowed" }, { Allow: method });
    if (pathname === "/health") {
      const at = now();
      return json(200, {
        status: "ok",
        timestamp: new Date(at).toISOString(),
        uptime: (at - startedAt) / 1_000,
      });
    }
    if (pathname === "/auth/token") return issueToken(req, entry.client!);
    if (syncMatch) return syncCampaign(req, syncMatch[1]!, entry);
    return listCampaigns(req, url, entry);
  }

  function record(entry: Partial<MockRequestLogEntry>, status: number, started: number) {
    const done = {
      ...entry,
      at: now(),
      status,
      latencyMs: Math.round(performance.now() - started),
    };
    log.push(done as MockRequestLogEntry);
    onRequest?.(done as MockRequestLogEntry);
  }

  async function handler(req: Request): Promise<Response> {
    const started = performance.now();
    const url = new URL(req.url);
    const client = req.headers.get("x-client-id") || DEFAULT_CLIENT;
    const entry: Partial<MockRequestLogEntry> = { method: req.method, path: url.pathname, client };
    let response: Response;
    try {
      response = await route(req, url, entry);
    } catch (error) {
      if (error instanceof Released) {
        record(entry, 0, started);
        throw error.reason ?? new DOMException("The request was released", "AbortError");
      }
      response = json(500, { error: "Internal Server Error", message: String(error) });
    }
    // Every answer past the token check advertises the window, as real platforms do.
    if (url.pathname.startsWith("/api/") && ![401, 405].includes(response.status)) {
      advertiseOn(response, advertise, window.peek(client, now()), now());
    }
    record(entry, response.status, started);
    return response;
  }

  return {
    handler,
    log,
    seed,
    close() {
      closing.abort(new DOMException("The mock API closed", "AbortError"));
    },
  };
}

/**
 * Serves the mock over HTTP (port 0 picks a free port) and returns its URL and a `close()`.
 *
 * @example
 * ```ts
 * const mock = serveMockApi({ rateLimit: { count: 10, windowMs: 1_000 }, seed: 7 });
 * await fetch(`${mock.url}/health`);
 * await mock.close();
 * ```
 */
export function serveMockApi(
  options: Partial<MockApiOptions> & { port?: number; hostname?: string } = {},
): ServedMockApi {
  const { port = 0, hostname = "127.0.0.1", ...apiOptions } = options;
  const api = createMockApi(apiOptions);
  const shutdown = new AbortController();
  // A released request has no client left to read an answer, so this one is never delivered.
  const server = Deno.serve(
    { port, hostname, signal: shutdown.signal, onListen: () => {} },
    (req) => api.handler(req).catch(() => new Response(null, { status: 499 })),
  );
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  return {
    url: `http://${host}:${server.addr.port}`,
    log: api.log,
    seed: api.seed,
    async close() {
      shutdown.abort();
      api.close();
      await server.finished;
    },
  };
}

function json(status: number, body: unknown, headers?: Record<string, string>): Response {
  return Response.json(body, { status, headers });
}
