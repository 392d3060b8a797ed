/** The mock's answers: JSON bodies, and requests held until released. */

/** A JSON answer with `status` and optional headers. */
export function json(status: number, body: unknown, headers?: Record<string, string>): Response {
  return Response.json(body, { status, headers });
}

/** Raised inside the handler when a held request is let go without an answer. */
export class Released extends Error {
  constructor(readonly reason: unknown) {
    super("Request released without an answer");
    this.name = "Released";
  }
}

/**
 * Holds requests: each waits `ms` (or forever), unless its client gives up or `closing` fires
 * first; it then rejects with {@linkcode Released}.
 */
export function createHold(
  closing: AbortSignal,
): (signal: AbortSignal, ms?: number) => Promise<void> {
  return (signal, ms) =>
    new Promise((resolve, reject) => {
      if (closing.aborted) return reject(new Released(closing.reason));
      if (signal.aborted) return reject(new Released(signal.reason));
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = (released?: Released) => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onClient);
        closing.removeEventListener("abort", onClose);
        if (released) reject(released);
        else resolve();
      };
      const onClient = () => finish(new Released(signal.reason));
      const onClose = () => finish(new Released(closing.reason));
      signal.addEventListener("abort", onClient, { once: true });
      closing.addEventListener("abort", onClose, { once: true });
      if (ms !== undefined) timer = setTimeout(finish, ms);
    });
}
