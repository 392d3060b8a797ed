/** Requests to a worker thread that answers each one with one message, in the order asked. */
export interface WorkerRequests<Request, Reply> {
  /** Sends `request`; resolves to the worker's answer to it, or to `failed` if the worker fails. */
  ask(request: Request): Promise<Reply>;
  /** The message of the worker's failure, or undefined while it has not failed. */
  failure(): string | undefined;
}

/**
 * Takes over `worker`'s `onmessage` and `onerror`: each message answers the oldest request still
 * waiting. A worker that fails (an uncaught error, which ends a Deno worker) resolves every
 * request still waiting to `failed(message)` and does not end the process. A request sent after
 * that is never answered: a caller that may ask a failed worker checks `failure()` first.
 */
export function workerRequests<Request, Reply>(
  worker: Worker,
  failed: (message: string) => Reply,
): WorkerRequests<Request, Reply> {
  const waiting: Array<(reply: Reply) => void> = [];
  let failure: string | undefined;
  worker.onmessage = (event: MessageEvent<Reply>) => waiting.shift()?.(event.data);
  worker.onerror = (event) => {
    event.preventDefault();
    failure = event.message;
    for (const resolve of waiting.splice(0)) resolve(failed(event.message));
  };
  return {
    ask: (request) =>
      new Promise((resolve) => {
        waiting.push(resolve);
        worker.postMessage(request);
      }),
    failure: () => failure,
  };
}
