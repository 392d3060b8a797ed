import type { AccountSettings } from "./accounts_file.ts";

/** The default deadline of a list request (never above the request timeout). */
const DEFAULT_LIST_TIMEOUT_MS = 5_000;

/** How every request of a run is bounded and retried: one object, shared by every account. */
export interface RequestPolicy {
  /** Deadline of one request, in ms (`AD_PLATFORM_REQUEST_TIMEOUT`). */
  timeoutMs: number;
  /** Deadline of a list request, in ms (`AD_PLATFORM_LIST_TIMEOUT`). */
  listTimeoutMs: number;
  /** Tries of one request before it fails (`SYNC_MAX_ATTEMPTS`). */
  maxAttempts: number;
  /** First backoff ceiling, in ms; it doubles each attempt (`SYNC_RETRY_BACKOFF`). */
  backoffBaseMs: number;
  /** Largest backoff ceiling, in ms (`SYNC_RETRY_BACKOFF_MAX`). */
  backoffCapMs: number;
}

/** The policy as set; an unset list deadline is 5 s, or the request timeout if shorter. */
export function requestPolicy(
  set: Omit<RequestPolicy, "listTimeoutMs"> & { listTimeoutMs: number | undefined },
): RequestPolicy {
  return {
    ...set,
    listTimeoutMs: set.listTimeoutMs ?? Math.min(DEFAULT_LIST_TIMEOUT_MS, set.timeoutMs),
  };
}

/** Everything one account's run is told: the account, how its requests go, whether it resumes. */
export interface AccountPlan {
  /** Client id, URL, credentials, rate limit and page size. */
  account: Readonly<AccountSettings>;
  request: Readonly<RequestPolicy>;
  /** Continue the account's latest unfinished run (`--resume`; a worker always does). */
  resume: boolean;
}

/** One frozen plan per account, in the accounts' order, all sharing the one request policy. */
export function planAccounts(
  accounts: readonly Readonly<AccountSettings>[],
  request: Readonly<RequestPolicy>,
  resume: boolean,
): readonly Readonly<AccountPlan>[] {
  return Object.freeze(accounts.map((account) => Object.freeze({ account, request, resume })));
}

/** The plan of the account `clientId` among `plans`; throws if it has none (a caller's bug). */
export function planOf(
  plans: readonly Readonly<AccountPlan>[],
  clientId: string,
): Readonly<AccountPlan> {
  const plan = plans.find((p) => p.account.clientId === clientId);
  if (plan === undefined) throw new Error(`No plan for account ${clientId}`);
  return plan;
}
