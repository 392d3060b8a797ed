import { getLogger } from "@logtape/logtape";
import { Registry } from "prom-client";
import { errorFields, errorMessage } from "../errors.ts";

const log = getLogger(["adsync", "http"]);

/** What the endpoint answers with. */
export interface EndpointSources {
  /** The Prometheus text of `GET /metrics`, read at each scrape. */
  metrics: () => Promise<string>;
  /** `undefined` when the process is ready for work, else why not (a short sentence). */
  ready: () => Promise<string | undefined>;
}

/** Options of {@linkcode startHttpEndpoint}. */
export interface HttpEndpointOptions extends EndpointSources {
  /** The port to listen on; 0 picks a free one (the address is logged). */
  port: number;
  /** The address to listen on. @default "127.0.0.1" */
  hostname?: string;
}

/** A listening endpoint. */
export interface HttpEndpoint {
  /** Its base URL, such as `http://127.0.0.1:9464`. */
  url: string;
  /** Stops listening, once the requests being answered are answered; safe to call twice. */
  close(): Promise<void>;
}

const TEXT = { "content-type": "text/plain; charset=utf-8" };

/**
 * The endpoint as a plain handler: `GET /metrics` (Prometheus text), `GET /healthz` (200 while the
 * process runs) and `GET /readyz` (200, or 503 with the reason).
 */
export function createEndpointHandler(
  sources: EndpointSources,
): (request: Request) => Promise<Response> {
  return async (request) => {
    const { pathname } = new URL(request.url);
    if (!["/metrics", "/healthz", "/readyz"].includes(pathname)) {
      return new Response("not found: try /metrics, /healthz or /readyz\n", {
        status: 404,
        headers: TEXT,
      });
    }
    if (request.method !== "GET") {
      return new Response("method not allowed\n", {
        status: 405,
        headers: { ...TEXT, allow: "GET" },
      });
    }
    if (pathname === "/healthz") return new Response("ok\n", { headers: TEXT });
    if (pathname === "/readyz") {
      const reason = await sources.ready().catch((error) => errorMessage(error));
      return reason === undefined
        ? new Response("ready\n", { headers: TEXT })
        : new Response(`not ready: ${reason}\n`, { status: 503, headers: TEXT });
    }
    try {
      const text = await sources.metrics();
      return new Response(text, { headers: { "content-type": Registry.PROMETHEUS_CONTENT_TYPE } });
    } catch (error) {
      log.warn("Cannot collect the metrics: {error}", errorFields(error));
      return new Response(`cannot collect the metrics: ${errorMessage(error)}\n`, {
        status: 500,
        headers: TEXT,
      });
    }
  };
}

/**
 * Serves {@linkcode createEndpointHandler} on `hostname:port` with `Deno.serve` and logs the address
 * (the port chosen when asked for 0). Throws when the address cannot be listened on.
 *
 * @example
 * ```ts
 * const endpoint = startHttpEndpoint({ port: 0, metrics, ready });
 * try { await work(); } finally { await endpoint.close(); }
 * ```
 */
export function startHttpEndpoint(options: HttpEndpointOptions): HttpEndpoint {
  const { port, hostname = "127.0.0.1" } = options;
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({ port, hostname, onListen: () => {} }, createEndpointHandler(options));
  } catch (error) {
    throw new Error(`Cannot listen on ${hostname}:${port} (--http-port): ${errorMessage(error)}`, {
      cause: error,
    });
  }
  const { hostname: host, port: chosen } = server.addr;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${chosen}`;
  log.info("Serving /metrics, /healthz and /readyz on {url}", { url });
  let closing: Promise<void> | undefined;
  return {
    url,
    close: () => closing ??= server.shutdown(),
  };
}
