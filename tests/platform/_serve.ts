/** A tiny platform served over HTTP, for misbehaviour the mock cannot show (redirects, endless bodies). */
export interface TinyServer {
  /** Base URL, such as `http://127.0.0.1:40123`. */
  url: string;
  /** Every request received, as `METHOD /path?query`, with its headers. */
  received: Array<{ line: string; headers: Headers }>;
  close(): Promise<void>;
}

/** Serves `handler` on a free port of 127.0.0.1. */
export function serveTiny(handler: (req: Request) => Response | Promise<Response>): TinyServer {
  const received: TinyServer["received"] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (req) => {
    const url = new URL(req.url);
    received.push({ line: `${req.method} ${url.pathname}${url.search}`, headers: req.headers });
    return handler(req);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    received,
    close: () => server.shutdown(),
  };
}

/** A 200 whose body starts like JSON and never ends (until the client goes away). */
export function endlessBody(): Response {
  let timer: ReturnType<typeof setInterval> | undefined;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('{"data": ['));
      timer = setInterval(() => controller.enqueue(new TextEncoder().encode(" ")), 10);
    },
    cancel() {
      clearInterval(timer);
    },
  });
  return new Response(body, { headers: { "content-type": "application/json" } });
}

/** An answer that never comes: it waits until the client cuts the request, then gives a 500. */
export async function hangUntilCut(req: Request): Promise<Response> {
  await new Promise((resolve) => req.signal.addEventListener("abort", resolve));
  return new Response(null, { status: 500 });
}

/** A token answer as the platform sends it. */
export function tokenAnswer(token = "tiny-token"): Response {
  return Response.json({
    access_token: token,
    token_type: "Bearer",
    expires_in: 3600,
    issued_at: new Date().toISOString(),
  });
}
