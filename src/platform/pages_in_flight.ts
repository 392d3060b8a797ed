/**
 * The list requests in flight to one host, so that a page still unanswered once a page that left
 * well after it has been answered is cut as hung, without waiting for its deadline. The platform
 * answers a page at once, and answers reach this process, and are read, in about the order they
 * left: so when the answer of a page that left later has been read, this one's is not coming. The
 * deadline alone cannot tell: a busy process reads every answer late (at the start of 1,000
 * accounts, 4x, pages came back in up to 450 ms while it read a thousand of them, and hung pages
 * were cut after 1.1 to 1.3 s), and that delay is the same for the later page. "Well after" is
 * {@linkcode MIN_LIST_DEADLINE_MS}, or twice the shortest round trip of the host's latest pages
 * if longer: how long the platform itself may take for a page, which its quickest answers show.
 * The cut waits for the answers this process has already received to be read (a timer of 0 ms):
 * a process held by a busy machine reads many answers at once, in no particular order, and a page
 * whose answer is among them is not cut (loaded runs of 1,000 accounts at 4x asked 22 and 75 pages
 * twice without the wait, 29 with it; none when the machine is quiet).
 * @module
 */
import { MIN_LIST_DEADLINE_MS } from "./list_deadline.ts";

/** How many times the host's shortest recent page round trip a later page must have left after. */
export const OVERTAKEN_FACTOR = 2;
/** How many of the latest round trips the shortest is taken from. */
const RECENT_TRIPS = 32;

/** One page in flight. */
export interface TrackedPage {
  /** Fires (with a `TimeoutError`) once a page that left well after it was answered. */
  readonly cut: AbortSignal;
  /**
   * Says the page was answered at `at` (epoch ms): every page still in flight that left well
   * before it (see the module's doc) is cut.
   */
  answered(at: number): void;
  /** Stops tracking it (answered, failed or cut). */
  done(): void;
}

/** The pages in flight to one host. */
export interface PagesInFlight {
  /** Tracks a page that left at `sentAt` (epoch ms) until its `done()`. */
  track(sentAt: number): TrackedPage;
  /** Pages tracked now. */
  readonly size: number;
}

/** What the tracker keeps of a page in flight. */
interface PageRecord {
  sentAt: number;
  controller: AbortController;
  /** Whether a cut of it is due once the answers already received are read. */
  due: boolean;
}

/** Options for {@linkcode createPagesInFlight}. */
export interface PagesInFlightOptions {
  /** Runs `fn` once the answers already received are read. @default a timer of 0 ms */
  afterPending?: (fn: () => void) => void;
}

/** Creates an empty record of a host's pages in flight. */
export function createPagesInFlight(options: PagesInFlightOptions = {}): PagesInFlight {
  const { afterPending = (fn: () => void) => void setTimeout(fn, 0) } = options;
  // In the order they left: a Set iterates in insertion order, and pages are tracked as they leave.
  const pages = new Set<PageRecord>();
  const trips: number[] = [];
  let next = 0;

  /** How long before an answered page another must have left to be cut. */
  function overtakeGapMs(): number {
    return Math.max(MIN_LIST_DEADLINE_MS, OVERTAKEN_FACTOR * Math.min(...trips));
  }

  return {
    track(sentAt) {
      const entry: PageRecord = { sentAt, controller: new AbortController(), due: false };
      pages.add(entry);
      return {
        cut: entry.controller.signal,
        answered(at) {
          pages.delete(entry);
          trips[next] = Math.max(0, at - sentAt);
          next = (next + 1) % RECENT_TRIPS;
          const before = sentAt - overtakeGapMs();
          for (const page of pages) {
            if (page.sentAt > before) break;
            if (page.due) continue;
            page.due = true;
            afterPending(() => {
              // Answered meanwhile (it was among the answers already received): not cut.
              if (!pages.delete(page)) return;
              page.controller.abort(new DOMException("Overtaken by later pages.", "TimeoutError"));
            });
          }
        },
        done: () => void pages.delete(entry),
      };
    },
    get size() {
      return pages.size;
    },
  };
}
