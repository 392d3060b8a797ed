import { z } from "zod";
import { InvalidAnswerError } from "../errors.ts";
import { withoutCredentials } from "./send.ts";

/** A campaign as the platform sends it; extra fields are tolerated and dropped. */
export const campaignSchema = z.object({
  // An id is a segment of its sync's URL path: "." and ".." would address another path.
  id: z.string().min(1).max(200).regex(/^[^\p{Cc}/]+$/u, "must be printable, without '/'")
    .refine((id) => id !== "." && id !== "..", "must not be '.' or '..'"),
  // PostgreSQL cannot store a NUL character in text.
  name: z.string().max(10_000).refine((name) => !name.includes("\0"), "must not contain NUL"),
  status: z.enum(["active", "paused", "ended"]),
  budget: z.number().finite().nonnegative(),
  impressions: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  clicks: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  conversions: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  created_at: z.iso.datetime({ offset: true }),
});

/** A validated campaign. */
export type Campaign = z.infer<typeof campaignSchema>;

/** A campaign as stored: the platform's record, its account and when the platform synced it. */
export interface SyncedCampaign extends Campaign {
  /** The `synced_at` the sync endpoint returned (ISO-8601). */
  synced_at: string;
}

/** A whole number, also when a platform sends it as a numeric string ("100"). */
const wholeNumber = z.union([
  z.number().int().nonnegative(),
  z.string().regex(/^\d{1,15}$/, "expected a whole number").transform(Number),
]);

/** One page of `GET /api/campaigns`; records stay raw until validated one by one. */
export const campaignPageSchema = z.object({
  data: z.array(z.unknown()),
  pagination: z.object({
    page: wholeNumber,
    limit: wholeNumber,
    total: wholeNumber,
    /** Optional: only cross-checked against `total`, which is what pagination follows. */
    has_more: z.boolean().optional(),
  }).loose(),
}).loose();

/** A page as the pager uses it. */
export type CampaignPage = z.infer<typeof campaignPageSchema>;

/** The answer of `POST /auth/token`. */
export const tokenSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  /** Seconds; a platform that omits it gets the SPEC's hour, and the 401 path covers the rest. */
  expires_in: z.coerce.number().positive().default(3_600),
  issued_at: z.union([z.string(), z.number()]).optional(),
}).loose();

/** The answer of `POST /api/campaigns/:id/sync`. */
export const syncResultSchema = z.object({
  success: z.literal(true),
  campaign_id: z.string(),
  synced_at: z.iso.datetime({ offset: true }),
}).loose();

/** Explains why a value failed a schema, in one line without the value itself. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join(".") : "record"}: ${issue.message}`)
    .join("; ");
}

/**
 * The body of a 2xx `answer` to `request` as `schema` promises it.
 * @throws {InvalidAnswerError} naming what the request does and why the body does not fit
 */
export function parseAnswer<T>(
  schema: z.ZodType<T>,
  answer: { status: number; body: unknown },
  request: { what: string; url: string },
): T {
  const parsed = schema.safeParse(answer.body);
  if (parsed.success) return parsed.data;
  throw new InvalidAnswerError(
    `Cannot ${request.what}: unexpected answer (${describeIssues(parsed.error)})`,
    { url: withoutCredentials(request.url), status: answer.status },
  );
}
