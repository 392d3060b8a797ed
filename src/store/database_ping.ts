import type postgres from "postgres";
import { deadline } from "../deadline.ts";

/** Options of {@linkcode pingDatabase}. */
export interface PingOptions {
  /** How long the database may take to answer. @default 2_000 */
  timeoutMs?: number;
}

/**
 * Whether the database answers `select 1` within the deadline: what a readiness probe asks. Never
 * throws.
 */
export async function pingDatabase(sql: postgres.Sql, options: PingOptions = {}): Promise<boolean> {
  const { timeoutMs = 2_000 } = options;
  return await answerWithin(sql`select 1`.then(() => true), timeoutMs) ?? false;
}

/**
 * What `query` resolves to, or `undefined` when it fails or is still pending after `timeoutMs`
 * (a frozen server never answers; the query is then left to settle on its own).
 */
export async function answerWithin<T>(
  query: Promise<T>,
  timeoutMs: number,
): Promise<T | undefined> {
  return await deadline(query, timeoutMs).catch(() => undefined);
}
