import { advertiseOn, claimedWindow } from "./advertise.ts";
import { createAuth } from "./auth.ts";
import { createCampaignRoutes } from "./campaign_routes.ts";
import { DEFAULT_CLIENT, mulberry32 } from "./campaigns.ts";
import { createClientAccounts } from "./clients.ts";
import { MOCK_API_DEFAULTS, type MockApiOptions, type MockRequestLogEntry } from "./options.ts";
import { createRateWindow } from "./rate_window.ts";
import { createHold, json, Released } from "./respond.ts";
import { createTokenStore } from "./tokens.ts";

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
  const settings: MockApiOptions & { seed: number; now: () => number } = {
    ...MOCK_API_DEFAULTS,
    seed: crypto.getRandomValues(new Uint32Array(1))[0]!,
    now: Date.now,
    ...(defined as Partial<MockApiOptions>),
  };
  const { rateLimit, tokenTtlMs, penaltyMs, seed, now, onRequest, advertise } = settings;
  const { keepLog = true } = settings;

  const log: MockRequestLogEntry[] = [];
  const window = createRateWindow(rateLimit, { penaltyMs, limits: settings.clientRateLimits });
  const accounts = createClientAccounts(settings);
  const auth = createAuth({ tokens: createTokenStore(tokenTtlMs), accounts, tokenTtlMs, now });
  const closing = new AbortController();
  const campaignRoutes = createCampaignRoutes({
    settings,
    auth,
    window,
    accounts,
    hold: createHold(closing.signal),
    drawFailure: mulberry32(seed ^ 0x5bd1e995),
  });
  const startedAt = now();

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
    if (pathname === "/auth/token") return auth.issueToken(req, entry.client!);
    if (syncMatch) return campaignRoutes.sync(req, syncMatch[1]!, entry);
    return campaignRoutes.list(req, url, entry);
  }

  function record(entry: Partial<MockRequestLogEntry>, status: number, started: number) {
    const done = {
      ...entry,
      at: now(),
      status,
      latencyMs: Math.round(performance.now() - started),
    };
    if (keepLog) log.push(done as MockRequestLogEntry);
    onRequest?.(done as MockRequestLogEntry);
  }

  async function handler(req: Request): Promise<Response> {
    const started = performance.now();
    const url = new URL(req.url);
    const client = req.headers.get("x-client-id") || DEFAULT_CLIENT;
    const entry: Partial<MockRequestLogEntry> = { method: req.method, path: url.pathname, client };
    const userAgent = req.headers.get("user-agent");
    if (userAgent !== null) entry.userAgent = userAgent;
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
      const state = claimedWindow(window.peek(client, now()), settings.advertisedLimit);
      advertiseOn(response, advertise, state, now());
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
