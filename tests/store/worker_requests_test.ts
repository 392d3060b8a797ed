import assert from "node:assert/strict";
import { workerRequests } from "../../src/store/worker_requests.ts";

/**
 * A worker that answers `echo` with its text after `delayMs` (later requests sooner, so that only
 * its own order keeps the answers in order), ignores `hold`, and throws on `throw`.
 */
const SOURCE = `
  let last = Promise.resolve();
  self.onmessage = ({ data }) => {
    if (data.type === "throw") throw new Error("the worker broke");
    if (data.type === "hold") return;
    const sleep = new Promise((resolve) => setTimeout(resolve, data.delayMs));
    last = last.then(() => sleep).then(() => self.postMessage({ type: "echo", text: data.text }));
  };
`;

type Request = { type: "echo"; text: string; delayMs: number } | { type: "hold" | "throw" };
type Reply = { type: "echo"; text: string } | { type: "failed"; message: string };

async function withWorker(fn: (worker: Worker) => Promise<void>): Promise<void> {
  const url = `data:application/javascript,${encodeURIComponent(SOURCE)}`;
  const worker = new Worker(url, { type: "module" });
  try {
    await fn(worker);
  } finally {
    worker.terminate();
  }
}

const failed = (message: string): Reply => ({ type: "failed", message });

Deno.test("workerRequests resolves each request to its own answer, in the order asked", async () => {
  await withWorker(async (worker) => {
    const { ask } = workerRequests<Request, Reply>(worker, failed);
    const replies = await Promise.all([
      ask({ type: "echo", text: "first", delayMs: 60 }),
      ask({ type: "echo", text: "second", delayMs: 30 }),
      ask({ type: "echo", text: "third", delayMs: 0 }),
    ]);
    assert.deepEqual(replies.map((reply) => "text" in reply ? reply.text : reply.message), [
      "first",
      "second",
      "third",
    ]);
  });
});

Deno.test("workerRequests fails every waiting request when the worker fails, not the process, and every later one at once", async () => {
  await withWorker(async (worker) => {
    const { ask } = workerRequests<Request, Reply>(worker, failed);
    const replies = await Promise.all([
      ask({ type: "hold" }),
      ask({ type: "hold" }),
      ask({ type: "throw" }),
    ]);
    for (const reply of replies) {
      assert.equal(reply.type, "failed");
      assert.match("message" in reply ? reply.message : "", /the worker broke/);
    }
    // No answer can come from a dead worker: a later request gets its error, not a wait.
    const later = await ask({ type: "echo", text: "after", delayMs: 0 });
    assert.equal(later.type, "failed");
    assert.match("message" in later ? later.message : "", /the worker broke/);
  });
});
