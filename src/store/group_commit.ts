/**
 * Group commit: many callers' writes, from every account of a process, go to the database in one
 * statement. Each caller awaits its own item's result, which resolves only once the statement
 * holding it committed (and rejects if that statement failed).
 *
 * How long a group gathers is sized from the work by Little's law: rows per statement = arrival
 * rate x wait. The writer measures the arrival rate and waits just long enough for `targetRows`
 * items to gather, never longer than `maxWaitMs` (so that, at a low rate, an item waits at most
 * that). One statement is in flight at a time: items arriving meanwhile gather for the next one,
 * so a slow database gets fewer, larger statements rather than a queue of small ones.
 */
import { type Clock, systemClock } from "../clock.ts";

/** Options of {@linkcode createGroupCommit}. */
export interface GroupCommitOptions<T = unknown> {
  /** Items a statement aims to carry: the wait is what the measured rate needs for them. @default 8 */
  targetRows?: number;
  /** Longest an item waits for its statement to start, in ms (a commit in flight aside). @default 50 */
  maxWaitMs?: number;
  /** Rows per statement at most (see `weigh`); a full group goes at once. @default 1_000 */
  maxRows?: number;
  /**
   * The rows an item puts in its statement: a group holds items up to `maxRows` rows, and at
   * least one item however heavy. @default one row an item
   */
  weigh?: (item: T) => number;
  /** Timer source. @default systemClock */
  clock?: Clock;
}

/** A writer's fixed grouping: its options but the clock and the weighing. */
export type GroupSettings = Readonly<Required<Omit<GroupCommitOptions, "clock" | "weigh">>>;

/** A process-wide writer that commits queued items in groups. */
export interface GroupCommit<T, R> {
  /** Queues `item`; resolves with its result once its group committed, rejects if that failed. */
  submit(item: T): Promise<R>;
  /**
   * Queues many items at once, such as renewals on a timer of their own: they go in the next
   * group(s) like any other, but are not counted in the arrival rate the wait is sized for.
   */
  submitAll(items: readonly T[]): Promise<R>[];
  /** Commits what is queued now, without waiting for the timer; resolves once nothing is pending. */
  flush(): Promise<void>;
  /** Items queued or being committed. */
  readonly pending: number;
  /** Statements committed (or failed) so far. */
  readonly statements: number;
}

/**
 * Commits the items of one group in one statement; resolves with one result per item, in order.
 * It is called once at a time.
 */
export type CommitGroup<T, R> = (items: T[]) => Promise<R[]>;

interface Queued<T, R> {
  item: T;
  /** What `weigh` said of it. */
  rows: number;
  at: number;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

/** Weight of the newest measurement in the arrival rate's moving average. */
const RATE_WEIGHT = 0.3;

/** Creates a group writer calling `commit` with the queued items, one statement at a time. */
export function createGroupCommit<T, R>(
  commit: CommitGroup<T, R>,
  options: GroupCommitOptions<T> = {},
): GroupCommit<T, R> {
  const { targetRows = 8, maxWaitMs = 50, maxRows = 1_000, clock = systemClock } = options;
  const { weigh = () => 1 } = options;
  let queue: Queued<T, R>[] = [];
  /** The rows of the items queued. */
  let queuedRows = 0;
  let committing = 0;
  let statements = 0;
  let timer: AbortController | undefined;
  /** Ends when the statement in flight has committed or failed. */
  let inFlight: Promise<void> | undefined;
  /** Arrivals per ms, as a moving average over the groups so far; 0 until measured. */
  let rate = 0;
  let arrivals = 0;
  let measuredSince = clock.now();

  /** How long a group gathers at the measured rate: enough for `targetRows`, at most `maxWaitMs`. */
  const waitMs = () => rate <= 0 ? maxWaitMs : Math.min(maxWaitMs, targetRows / rate);

  function measure(now: number): void {
    const elapsed = now - measuredSince;
    if (elapsed <= 0) return;
    const sample = arrivals / elapsed;
    rate = rate <= 0 ? sample : rate + RATE_WEIGHT * (sample - rate);
    arrivals = 0;
    measuredSince = now;
  }

  /** Starts the timer of the oldest queued item, or cuts at once when its wait is over. */
  function schedule(): void {
    if (committing > 0 || queue.length === 0) return;
    if (queuedRows >= maxRows) return void cut();
    if (timer) return;
    const left = queue[0]!.at + waitMs() - clock.now();
    if (left <= 0) return void cut();
    timer = new AbortController();
    clock.sleep(left, timer.signal).then(() => {
      timer = undefined;
      cut();
    }, () => {});
  }

  async function cut(): Promise<void> {
    timer?.abort();
    timer = undefined;
    if (committing > 0 || queue.length === 0) return;
    measure(clock.now());
    let size = 0;
    let rows = 0;
    while (size < queue.length && (size === 0 || rows + queue[size]!.rows <= maxRows)) {
      rows += queue[size++]!.rows;
    }
    const group = queue.slice(0, size);
    queue = queue.slice(size);
    queuedRows -= rows;
    committing = group.length;
    statements++;
    let done!: () => void;
    inFlight = new Promise((resolve) => done = resolve);
    try {
      const results = await commit(group.map((queued) => queued.item));
      group.forEach((queued, i) => queued.resolve(results[i] as R));
    } catch (error) {
      for (const queued of group) queued.reject(error);
    } finally {
      committing = 0;
      inFlight = undefined;
      done();
      schedule();
    }
  }

  function enqueue(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const rows = weigh(item);
      queuedRows += rows;
      queue.push({ item, rows, at: clock.now(), resolve, reject });
    });
  }

  return {
    submit(item) {
      arrivals++;
      const result = enqueue(item);
      schedule();
      return result;
    },
    submitAll(items) {
      const results = items.map(enqueue);
      schedule();
      return results;
    },
    async flush() {
      while (queue.length > 0 || committing > 0) await (inFlight ?? cut());
    },
    get pending() {
      return queue.length + committing;
    },
    get statements() {
      return statements;
    },
  };
}
