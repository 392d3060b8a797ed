/**
 * Every tuning constant of the pacing core, each with its reason, so that a reader finds in one
 * place what a request's timing depends on. Settings a user may change (timeouts, attempts,
 * backoff, the ceiling on requests in flight) are in src/settings.ts instead.
 * @module
 */

/**
 * The base margin after a send leaves the window before its slot is reused: a share of the window,
 * within bounds. The platform stamps a request on arrival, so two requests sent a window apart
 * may arrive closer; the margin covers that difference when nothing slower is measured.
 */
export const MARGIN_SHARE = 0.02;
export const MARGIN_MIN_MS = 50;
export const MARGIN_MAX_MS = 500;

/**
 * The most lateness a margin allows for on a guess (the host's recent page round trips, the
 * longest stall while the send was on its way), as a share of the window: every send pays a guess,
 * and a slot each holds longer costs the account more than a 429's hold would. What a send measured
 * of itself (the stall that held it, its round trip's excess) is not a guess and counts up to a
 * whole window.
 */
export const LATENESS_CAP_SHARE = 0.1;

/**
 * How far back the host's page round trips count, in windows: a send is reused a window after it
 * left, so what delayed requests a window ago (and a little before) is what may delay the one it
 * frees.
 */
export const LATENESS_HORIZON_WINDOWS = 1.25;

/** How often the event loop's lateness is checked, and the lateness below which it is noise (ms). */
export const LOOP_CHECK_MS = 50;
export const LOOP_MIN_LATE_MS = 10;

/** A deadline timer firing this much late means this process was busy, not the platform slow (ms). */
export const STALL_MS = 20;

/**
 * The host gate's Little's law: the mean requests in flight (rate x hold time) times
 * `GATE_HEADROOM`, for the randomness of arrivals, plus `GATE_SPARE` places at least (or one
 * account's whole window), so a handful of accounts never queue behind each other.
 */
export const GATE_HEADROOM = 1.25;
export const GATE_SPARE = 16;
/** The hold time assumed before any sync was measured: a sync takes about a second. */
export const GATE_INITIAL_HOLD_MS = 1_000;
/** Hold times averaged: enough to smooth one account's window, few enough to follow change. */
export const GATE_SAMPLES = 64;
/** Places only logins and pages may take: a retried page never waits for slow syncs to end. */
export const GATE_RESERVED_SHARE = 1 / 16;
/** The accounts' limits are read again this often (ms): an advertised limit may change. */
export const GATE_RESUM_MS = 1_000;
/**
 * A request's hold measures the platform only if no check of this process's event loop during it
 * found the loop held longer than this, in ms (a check's own 50 ms included): well above a garbage
 * collection of a small heap, well below a backlog of answers read seconds late.
 */
export const GATE_BUSY_LAG_MS = 250;

/**
 * The share of the open-files limit requests in flight may take, and the descriptors kept for
 * everything else (database connections, the checkpoint, logs): each request holds a socket, and
 * idle kept-alive ones linger after a burst.
 */
export const SOCKET_SHARE = 0.8;
export const SOCKET_RESERVE = 64;
/**
 * The share of the open-files limit idle kept-alive connections may take, beside the four fifths
 * for requests in flight; the rest, with the reserve, is for everything else.
 */
export const SOCKET_IDLE_SHARE = 0.1;

/**
 * A page's deadline: this many times the longest page round trip of the host's latest answers. A
 * page is answered at once (the platform does no work for it), so one that takes several times
 * longer than its peers has hung, and the platform's hangs never answer.
 */
export const LIST_DEADLINE_FACTOR = 4;
/** The shortest page deadline, in ms, however quick the host's answers. */
export const MIN_LIST_DEADLINE_MS = 250;
/** How far back the latest answer may be for the round trips to count, in ms. */
export const LIST_DEADLINE_HORIZON_MS = 2_000;
/**
 * The round trips that count: those answered in this span before the latest answer, in ms. Short,
 * since round trips follow how busy this process is, which changes within a second (a run's start
 * reads thousands of pages at once).
 */
export const LIST_DEADLINE_SPAN_MS = 500;
/**
 * A list request's first backoff ceiling is the configured one divided by this: while the
 * account's window has room its retries cost it no time, and every sync of the account waits on
 * its pages.
 */
export const LIST_BACKOFF_DIVISOR = 4;

/** The longest a 429 holds an account, whatever it asks, in ms: a longer wait is a worker's deferral. */
export const MAX_HOLD_MS = 120_000;
/** 429s one request rides out before it fails: the platform disagrees with our count for good. */
export const MAX_HOLDS = 5;

/**
 * How late a request may reach the platform, as a share of the window: the most a guess of the
 * margin allows for, so no refusal our own lateness could explain lowers an advertised limit.
 */
export const LATE_ARRIVAL_SHARE = LATENESS_CAP_SHARE;

/**
 * A token is renewed this share of its life before it expires (at most `TOKEN_REFRESH_MAX_MS`),
 * so a request never leaves with a token that expires on its way.
 */
export const TOKEN_REFRESH_SHARE = 0.1;
export const TOKEN_REFRESH_MAX_MS = 60_000;
