import assert from "node:assert/strict";
import { createSecretMatcher } from "../../src/report/secret_matcher.ts";

const R = "[REDACTED]";

Deno.test("SecretMatcher replaces every occurrence of every secret, and leaves other text as is", () => {
  const matcher = createSecretMatcher();
  assert.equal(matcher.redact("nothing registered", R), "nothing registered");
  matcher.add("tok-123456789");
  matcher.add("s3cret!");
  matcher.add("");
  assert.equal(matcher.size, 2);
  assert.equal(
    matcher.redact("Bearer tok-123456789, again tok-123456789; pw s3cret!", R),
    `Bearer ${R}, again ${R}; pw ${R}`,
  );
  assert.equal(
    matcher.redact("tok-12345678 is not it, s3cret is not it", R),
    "tok-12345678 is not it, s3cret is not it",
  );
  assert.equal(matcher.redact("s3cret!s3cret!", R), `${R}${R}`, "back to back, at both ends");
  assert.equal(matcher.redact("ab", R), "ab", "shorter than any secret");
});

Deno.test("SecretMatcher replaces the longest secret that starts at a position", () => {
  const matcher = createSecretMatcher();
  matcher.add("abcdefgh");
  matcher.add("abcdefghijkl");
  assert.equal(matcher.redact("x abcdefghijkl y abcdefgh z", R), `x ${R} y ${R} z`);
});

Deno.test("SecretMatcher finds each of thousands of secrets, and forgets them all when cleared", () => {
  const matcher = createSecretMatcher();
  const tokens = Array.from({ length: 3_000 }, () => crypto.randomUUID());
  for (const token of tokens) matcher.add(token);
  for (const token of [tokens[0]!, tokens[1_499]!, tokens[2_999]!]) {
    assert.equal(
      matcher.redact(`{"authorization":"Bearer ${token}"}`, R),
      `{"authorization":"Bearer ${R}"}`,
    );
  }
  // A secret added after a redaction is found too (the index is rebuilt).
  matcher.add("late-secret-value");
  assert.equal(matcher.redact("a late-secret-value", R), `a ${R}`);
  matcher.clear();
  assert.equal(matcher.size, 0);
  assert.equal(matcher.redact(`Bearer ${tokens[0]}`, R), `Bearer ${tokens[0]}`);
});

Deno.test("SecretMatcher handles characters outside the basic plane and secrets shorter than its key", () => {
  const matcher = createSecretMatcher();
  matcher.add("🔑k");
  matcher.add("pässwörd-long-enough");
  assert.equal(matcher.redact("a 🔑k b pässwörd-long-enough c 🔑", R), `a ${R} b ${R} c 🔑`);
});
