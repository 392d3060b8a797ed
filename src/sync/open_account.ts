/**
 * Opens one account for its run: its limiter primed with the sends the platform's window still
 * remembers and the limit advertised to its last run, each send recorded before it leaves.
 */
import type { AccountPlan } from "../account_plan.ts";
import { parseRateLimit, type RateLimit } from "../duration.ts";
import { type Account, createAccount } from "../platform/account.ts";
import type { HeldAccount } from "../store/lease_keeper.ts";
import { lastAdvertisedLimit } from "../store/run_history.ts";
import type { RunContext, SharedResources } from "./account_types.ts";

/** The account, its limiter primed with the sends the platform's window still remembers. */
export async function openAccount(
  plan: Readonly<AccountPlan>,
  context: RunContext,
  lease: HeldAccount | undefined,
  now: number,
): Promise<Account> {
  const settings = plan.account;
  const { clientId, rateLimit } = settings;
  const { checkpoint, leases } = context;
  const since = now - rateLimit.windowMs - 1_000;
  let history = await checkpoint.recentSends(clientId, since);
  if (leases && !context.checkpointInServer) {
    // Another process (a worker) may have driven the account last: its sends are in the server,
    // beside copies of this state dir's own.
    history = mergeSendLogs(history, await leases.recentSends(clientId, since));
  }
  return createAccount({
    baseUrl: settings.apiUrl,
    clientId,
    credentials: {
      email: settings.email,
      password: settings.password,
      from: settings.credentialsFrom,
    },
    rateLimit,
    rateLimitAuto: settings.rateLimitAuto,
    ...await limitsBefore(context, clientId),
    fetch: context.fetch ?? context.hostGates.fetch,
    clock: context.clock,
    request: plan.request,
    history,
    onSend: sendRecorder(context, clientId, lease),
    onToken: context.onToken,
    hostGate: context.hostGates.forUrl(settings.apiUrl),
  });
}

/**
 * Two logs of one account's sends, each time kept as often as the log holding it most often has
 * it: a send copied from one log into the other counts once, while a burst's sends that share a
 * millisecond all count (a set would keep one, and the limiter would send into a full window).
 */
export function mergeSendLogs(a: readonly number[], b: readonly number[]): number[] {
  const counts = (log: readonly number[]) => {
    const map = new Map<number, number>();
    for (const at of log) map.set(at, (map.get(at) ?? 0) + 1);
    return map;
  };
  const inA = counts(a);
  const inB = counts(b);
  const merged: number[] = [];
  for (const at of new Set([...inA.keys(), ...inB.keys()])) {
    const times = Math.max(inA.get(at) ?? 0, inB.get(at) ?? 0);
    for (let i = 0; i < times; i++) merged.push(at);
  }
  return merged.sort((x, y) => x - y);
}

/** Where each send of the account is recorded before it leaves. */
function sendRecorder(
  shared: SharedResources,
  clientId: string,
  lease: HeldAccount | undefined,
): (at: number) => void | Promise<void> {
  const { checkpoint } = shared;
  if (lease === undefined) return (at) => checkpoint.recordSend(clientId, at);
  if (shared.checkpointInServer) return (at) => lease.fence(at); // records it in the checkpoint's own log
  return (at) => {
    // A sync's requests wait for its own checkpoint only, as they did before leases.
    lease.noteSend(at);
    return checkpoint.recordSend(clientId, at);
  };
}

/**
 * The limit the platform advertised to the account's last run, and what it enforced when that
 * run found the advertisement wrong; none if unknown or unreadable.
 */
async function limitsBefore(
  shared: SharedResources,
  account: string,
): Promise<{ advertisedBefore?: RateLimit; enforcedBefore?: RateLimit }> {
  const before = await shared.guard.once(
    "read the last advertised limit from",
    () => lastAdvertisedLimit(shared.sql, account),
  ).catch(() => undefined); // a convenience: page 1 tells it again
  const advertised = before && parseRateLimit(before.advertised);
  if (!advertised) return {};
  const enforced = before.enforced === undefined ? undefined : parseRateLimit(before.enforced);
  return { advertisedBefore: advertised, ...(enforced ? { enforcedBefore: enforced } : {}) };
}
