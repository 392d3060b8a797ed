import assert from "node:assert/strict";
import { USER_AGENT, VERSION } from "../src/version.ts";

Deno.test("The version is semver and the User-Agent names adsync with it", () => {
  assert.match(VERSION, /^\d+\.\d+\.\d+$/);
  assert.equal(USER_AGENT, `adsync/${VERSION}`);
});
