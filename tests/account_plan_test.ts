import assert from "node:assert/strict";
import type { AccountSettings } from "../src/accounts_file.ts";
import { planAccounts, planOf, requestPolicy } from "../src/account_plan.ts";

const POLICY = { timeoutMs: 15_000, maxAttempts: 5, backoffBaseMs: 500, backoffCapMs: 10_000 };

const ACME: AccountSettings = {
  clientId: "acme",
  apiUrl: "http://api.test",
  email: "ops@acme.test",
  password: "secret",
  rateLimit: { count: 10, windowMs: 60_000 },
  pageSize: 100,
};

Deno.test("An unset list deadline is 5 s under a longer request timeout", () => {
  assert.deepEqual(requestPolicy({ ...POLICY, listTimeoutMs: undefined }), {
    ...POLICY,
    listTimeoutMs: 5_000,
  });
});

Deno.test("An unset list deadline never exceeds a request timeout shorter than 5 s", () => {
  const policy = requestPolicy({ ...POLICY, timeoutMs: 2_000, listTimeoutMs: undefined });
  assert.equal(policy.listTimeoutMs, 2_000);
});

Deno.test("A list deadline that is set is kept as set, even above the request timeout", () => {
  const policy = requestPolicy({ ...POLICY, timeoutMs: 2_000, listTimeoutMs: 9_000 });
  assert.equal(policy.listTimeoutMs, 9_000);
  assert.equal(policy.timeoutMs, 2_000);
});

Deno.test("planAccounts gives each account a frozen plan, in order, sharing one policy", () => {
  const request = requestPolicy({ ...POLICY, listTimeoutMs: undefined });
  const globex = { ...ACME, clientId: "globex" };
  const plans = planAccounts([ACME, globex], request, true);
  assert.deepEqual(plans.map((p) => p.account.clientId), ["acme", "globex"]);
  assert.ok(plans.every((p) => p.request === request && p.resume === true));
  assert.ok(Object.isFrozen(plans));
  assert.ok(plans.every((p) => Object.isFrozen(p)));
  assert.throws(() => (plans[0] as { resume: boolean }).resume = false, TypeError);
});

Deno.test("planOf finds an account's plan by client id and throws for an unknown one", () => {
  const request = requestPolicy({ ...POLICY, listTimeoutMs: undefined });
  const plans = planAccounts([ACME, { ...ACME, clientId: "globex" }], request, false);
  assert.equal(planOf(plans, "globex").account.clientId, "globex");
  assert.throws(() => planOf(plans, "initech"), {
    name: "Error",
    message: "No plan for account initech",
  });
});
