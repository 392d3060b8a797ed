import assert from "node:assert/strict";
import { campaignPageSchema, tokenSchema } from "../../src/platform/schemas.ts";

Deno.test("Page schema accepts pagination numbers sent as strings and a missing has_more", () => {
  const page = campaignPageSchema.parse({
    data: [],
    pagination: { page: "2", limit: 10, total: "100" },
  });
  assert.deepEqual(page.pagination, { page: 2, limit: 10, total: 100 });
});

Deno.test("Page schema refuses a page without a usable total", () => {
  for (const total of [undefined, null, -1, 1.5, "many"]) {
    const result = campaignPageSchema.safeParse({
      data: [],
      pagination: { page: 1, limit: 10, total },
    });
    assert.equal(result.success, false, `total ${total} accepted`);
  }
});

Deno.test("Token schema reads expires_in as a number or a numeric string, an hour when absent", () => {
  assert.equal(tokenSchema.parse({ access_token: "t", expires_in: "120" }).expires_in, 120);
  assert.equal(tokenSchema.parse({ access_token: "t" }).expires_in, 3_600);
  assert.equal(tokenSchema.safeParse({ access_token: "t", expires_in: "soon" }).success, false);
});
