import assert from "node:assert/strict";
import { StoreError } from "../../src/errors.ts";
import { createDatabaseGuard, isTransient } from "../../src/store/database_guard.ts";
import { createFakeClock, settle } from "../_fake_clock.ts";

const LABEL = "PostgreSQL at 127.0.0.1:5432/adsync";

function refused(): Error {
  return Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), {
    code: "ECONNREFUSED",
  });
}

/** A promise that never settles: a frozen server holds the socket open and never answers. */
const never = () => new Promise<never>(() => {});

/** Starts `promise` and records how it settles, so the test can move the clock meanwhile. */
function track<T>(promise: Promise<T>) {
  const outcome: { value?: T; error?: unknown; settled: boolean } = { settled: false };
  promise.then(
    (value) => Object.assign(outcome, { value, settled: true }),
    (error) => Object.assign(outcome, { error, settled: true }),
  );
  return outcome;
}

Deno.test("A database operation that never answers fails at its deadline, naming the database", async () => {
  const clock = createFakeClock();
  const guard = createDatabaseGuard(LABEL, { clock, timeoutMs: 30_000 });
  const result = track(guard.once("write 100 campaigns to", never));
  await clock.tick(29_999);
  assert.equal(result.settled, false);
  await clock.tick(1);
  assert.ok(result.error instanceof StoreError);
  assert.equal(
    result.error.message,
    "Cannot write 100 campaigns to PostgreSQL at 127.0.0.1:5432/adsync: no answer within 30 s",
  );
});

Deno.test("A stop request ends the wait on a frozen database within the closing bound", async () => {
  const clock = createFakeClock();
  const stop = new AbortController();
  const guard = createDatabaseGuard(LABEL, { clock, signal: stop.signal, closingMs: 1_000 });
  const result = track(guard.retrying("write 5 campaigns to", never));
  await clock.tick(5_000);
  stop.abort();
  await clock.tick(1_000);
  assert.ok(result.error instanceof StoreError);
  assert.match(
    result.error.message,
    /^Cannot write 5 campaigns to PostgreSQL at 127\.0\.0\.1:5432\/adsync: /,
  );
  assert.match(result.error.message, /no answer within 1 s after the stop/);
  assert.equal(clock.pending, 0, "no timer is left behind");
});

Deno.test("An operation started after the stop gets only the closing bound", async () => {
  const clock = createFakeClock();
  const stop = new AbortController();
  stop.abort();
  const guard = createDatabaseGuard(LABEL, { clock, signal: stop.signal, closingMs: 500 });
  const result = track(guard.once("record the run end in", never));
  await clock.tick(500);
  assert.ok(result.error instanceof StoreError);
  assert.equal(
    result.error.message,
    "Cannot record the run end in PostgreSQL at 127.0.0.1:5432/adsync: " +
      "no answer within 0.5 s after the stop",
  );
});

Deno.test("A write is retried with growing waits through a short outage and then succeeds", async () => {
  const clock = createFakeClock();
  const attempts: number[] = [];
  const guard = createDatabaseGuard(LABEL, { clock, retryDelayMs: 250, outageMs: 60_000 });
  const result = track(guard.retrying("write 3 campaigns to", () => {
    attempts.push(clock.now());
    return attempts.length <= 3 ? Promise.reject(refused()) : Promise.resolve("committed");
  }));
  await clock.runAll();
  assert.equal(result.value, "committed");
  const gaps = attempts.slice(1).map((at, i) => at - attempts[i]!);
  assert.deepEqual(gaps, [250, 500, 1_000]);
});

Deno.test("A database unreachable past the outage bound fails the write with a resumable line", async () => {
  const clock = createFakeClock();
  const start = clock.now();
  let attempts = 0;
  const guard = createDatabaseGuard(LABEL, { clock, outageMs: 10_000 });
  const result = track(guard.retrying("write 7 campaigns to", () => {
    attempts++;
    return Promise.reject(refused());
  }));
  await clock.runAll();
  assert.ok(result.error instanceof StoreError);
  assert.equal(
    result.error.message,
    "Cannot write 7 campaigns to PostgreSQL at 127.0.0.1:5432/adsync: the database is " +
      "unreachable (connect ECONNREFUSED 127.0.0.1:5432; retried for 10 s); " +
      "the work done is kept in the checkpoint: --resume continues",
  );
  assert.equal(clock.now() - start, 10_000, "it gives up when the bound is spent, not later");
  assert.ok(attempts > 3);
});

Deno.test("A frozen database counts as an outage and is given up on at the bound", async () => {
  const clock = createFakeClock();
  const start = clock.now();
  const guard = createDatabaseGuard(LABEL, { clock, timeoutMs: 4_000, outageMs: 10_000 });
  const result = track(guard.retrying("write 1 campaigns to", never));
  await clock.runAll();
  assert.ok(result.error instanceof StoreError);
  assert.match(
    result.error.message,
    /the database is unreachable \(no answer within [\d.]+ s; retried for 10 s\)/,
  );
  assert.equal(clock.now() - start, 10_000);
});

Deno.test("An error in the statement itself is not retried", async () => {
  const clock = createFakeClock();
  let attempts = 0;
  const guard = createDatabaseGuard(LABEL, { clock });
  const error = Object.assign(new Error('relation "campaigns" does not exist'), { code: "42P01" });
  const result = track(guard.retrying("write 2 campaigns to", () => {
    attempts++;
    return Promise.reject(error);
  }));
  await settle();
  await settle();
  assert.equal(attempts, 1);
  assert.ok(result.error instanceof StoreError);
  assert.equal(
    result.error.message,
    'Cannot write 2 campaigns to PostgreSQL at 127.0.0.1:5432/adsync: relation "campaigns" does not exist',
  );
  assert.equal(result.error.cause, error);
});

Deno.test("A stop during an outage makes one last short attempt and then gives up", async () => {
  const clock = createFakeClock();
  const stop = new AbortController();
  let attempts = 0;
  const guard = createDatabaseGuard(LABEL, { clock, signal: stop.signal, retryDelayMs: 5_000 });
  const result = track(guard.retrying("write 4 campaigns to", () => {
    attempts++;
    return Promise.reject(refused());
  }));
  await clock.tick(100);
  stop.abort();
  await clock.runAll();
  assert.equal(attempts, 2);
  assert.ok(result.error instanceof StoreError);
  assert.match(result.error.message, /the database is unreachable .*--resume continues$/);
  assert.ok(clock.now() < 1_700_000_005_000, "it did not wait out the backoff");
});

Deno.test("Restarts, refused connections and lost connections count as transient; bad SQL does not", () => {
  for (const code of ["57P01", "57P03", "08006", "ECONNREFUSED", "CONNECTION_CLOSED"]) {
    assert.equal(isTransient(Object.assign(new Error(code), { code })), true, code);
  }
  for (const code of ["23505", "42P01", "CONNECTION_ENDED", undefined]) {
    assert.equal(isTransient(Object.assign(new Error(String(code)), { code })), false, code);
  }
});

Deno.test("isTransient knows node-postgres's connection losses, which carry no code", () => {
  assert.equal(isTransient(new Error("Connection terminated unexpectedly")), true);
  assert.equal(isTransient({ message: "Connection terminated due to connection timeout" }), true);
  assert.equal(isTransient(new Error('relation "x" does not exist')), false);
});
