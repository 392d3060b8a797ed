/**
 * The checkpoint's writer, on a thread of its own. SQLite runs synchronously: on the event loop,
 * the checkpoint's writes (every send, every synced campaign, every committed batch) held it for
 * a tenth of its work at 10,000 accounts (CPU profile), while every request of every account
 * waited for it. Here they run beside it; the loop only reads (WAL lets a reader in while a write
 * is under way). The transactions are those of a group commit: a group's writes in one, and each
 * write alone when that one fails, so that a write fails for itself only.
 * @module
 */
import { DatabaseSync, type SQLInputValue } from "node:sqlite";
import { prepareWrites } from "./checkpoint_schema.ts";
import { errorMessage } from "../errors.ts";

/** A statement the checkpoint writes with. */
export type StatementName = keyof ReturnType<typeof prepareWrites>;

/**
 * One statement of a write, and its parameters. A step with a `run` updates that run's row: if it
 * changes no row, the run is unknown and the write fails. Of the `touch`es of one run in a
 * transaction, only the last runs: it sets the latest `updated_at`, and if the run is unknown the
 * transaction fails, and each write is run alone.
 */
export type Step =
  | { statement: "touch"; params: SQLInputValue[]; run: string }
  | {
    statement: Exclude<StatementName, "touch">;
    params: SQLInputValue[];
    /** The run whose row the statement updates. */
    run?: string;
  };

/** What the checkpoint asks of its writer. */
export type WriterRequest =
  | { type: "open"; path: string; busyTimeoutMs: number }
  | { type: "write"; writes: Step[][] }
  | { type: "close" };

/** What the writer answers, one answer a request, in order. */
export type WriterReply =
  | { type: "opened" }
  | { type: "written"; errors: Array<string | undefined> }
  | { type: "closed" }
  | { type: "failed"; message: string };

const scope = self as unknown as {
  onmessage: ((event: MessageEvent<WriterRequest>) => void) | null;
  postMessage(reply: WriterReply): void;
};

let db: DatabaseSync | undefined;
let statements: ReturnType<typeof prepareWrites> | undefined;

function open(path: string, busyTimeoutMs: number): WriterReply {
  try {
    db = new DatabaseSync(path, { timeout: busyTimeoutMs });
    // Per connection: see src/store/checkpoint.ts for why NORMAL.
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA foreign_keys = ON");
    statements = prepareWrites(db);
    return { type: "opened" };
  } catch (error) {
    return { type: "failed", message: errorMessage(error) };
  }
}

/** Runs `writes` in one transaction: undefined when it committed, else the reason it failed. */
function transaction(writes: readonly Step[][]): string | undefined {
  if (!db || !statements) return "the checkpoint's writer is not open";
  // A run's `updated_at` is set by the last touch of it only: a group holds many writes of one run.
  const lastTouch = new Map<string, Step>();
  for (const steps of writes) {
    for (const step of steps) if (step.statement === "touch") lastTouch.set(step.run, step);
  }
  try {
    db.exec("BEGIN IMMEDIATE");
    for (const steps of writes) {
      for (const step of steps) {
        if (step.statement === "touch" && lastTouch.get(step.run) !== step) continue;
        const { changes } = statements[step.statement].run(...step.params);
        if (step.run !== undefined && Number(changes) === 0) {
          throw new Error(`unknown run ${step.run}`);
        }
      }
    }
    db.exec("COMMIT");
    return undefined;
  } catch (error) {
    if (db.isOpen && db.isTransaction) db.exec("ROLLBACK");
    return errorMessage(error);
  }
}

function write(writes: Step[][]): WriterReply {
  const failed = writes.length > 1 ? transaction(writes) : "alone";
  const errors = failed === undefined
    ? writes.map(() => undefined)
    : writes.map((steps) => transaction([steps]));
  return { type: "written", errors };
}

scope.onmessage = ({ data: request }) => {
  if (request.type === "open") return scope.postMessage(open(request.path, request.busyTimeoutMs));
  if (request.type === "write") return scope.postMessage(write(request.writes));
  if (db?.isOpen) db.close();
  scope.postMessage({ type: "closed" });
};
