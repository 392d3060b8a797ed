/** Requests to a worker thread that answers each one with one message, in the order asked. */
export interface WorkerRequests<Request, Reply> {
  /**
   * Sends `request`; resolves to the worker's answer to it, or to `failed` with the worker's error
   * if the worker failed, before or after the request was sent.
   */
  ask(request: Request): Promise<Reply>;
}

/**
 * Takes over `worker`'s `onmessage` and `onerror`: each message answers the oldest request still
 * waiting. A worker that fails (an uncaught error, which ends a Deno worker) resolves every
 * request still waiting to `failed(message)` and does not end the process; a request asked after
 * that resolves to the same at once, since no answer can come.
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
    ask(request) {
      if (failure !== undefined) return Promise.resolve(failed(failure));
      return new Promise((resolve) => {
        waiting.push(resolve);
        worker.postMessage(request);
      });
    },
  };
}
