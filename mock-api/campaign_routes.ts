/** The mock's campaign routes: the paginated listing and the sync of one campaign. */
import type { Auth } from "./auth.ts";
import { paginate, parsePageQuery } from "./campaigns.ts";
import type { ClientAccounts } from "./clients.ts";
import type { MockApiOptions, MockRequestLogEntry } from "./options.ts";
import type { RateWindow } from "./rate_window.ts";
import { json } from "./respond.ts";

/** What the campaign routes need from the mock. */
export interface CampaignRoutesOptions {
  /** The mock's settings, defaults applied. */
  settings: MockApiOptions & { now: () => number };
  auth: Auth;
  window: RateWindow;
  accounts: ClientAccounts;
  /** Holds a request `ms` (or forever) unless released. */
  hold: (signal: AbortSignal, ms?: number) => Promise<void>;
  /** Draws the next failure roll, in [0, 1). */
  drawFailure: () => number;
}

/** The campaign routes; each fills in its request's log entry. */
export interface CampaignRoutes {
  /** `GET /api/campaigns?page&limit`. */
  list(req: Request, url: URL, entry: Partial<MockRequestLogEntry>): Promise<Response>;
  /** `POST /api/campaigns/:id/sync`. */
  sync(req: Request, rawId: string, entry: Partial<MockRequestLogEntry>): Promise<Response>;
}

export function createCampaignRoutes(options: CampaignRoutesOptions): CampaignRoutes {
  const { settings, auth, window, accounts, hold, drawFailure } = options;
  const { now, retryAfter, errorRate, hangRate, syncDelayMs } = settings;

  function limited(client: string): Response | undefined {
    const waitMs = window.admit(client, now());
    if (waitMs === 0) return undefined;
    const seconds = Math.max(1, Math.ceil(waitMs / 1_000));
    const headers = retryAfter === "body" ? undefined : { "Retry-After": String(seconds) };
    const body = retryAfter === "header"
      ? { error: "Too Many Requests" }
      : { error: "Too Many Requests", retry_after: seconds };
    return json(429, body, headers);
  }

  return {
    async list(req, url, entry) {
      const query = parsePageQuery(url.searchParams);
      if (query) entry.page = query.page;
      // Authenticate first: a request with a bad token must not spend the client's quota.
      const refusal = auth.bearer(req, entry.client!) ?? limited(entry.client!);
      if (refusal) return refusal;
      if (!query) {
        return json(400, {
          error: "Bad Request",
          message: "page and limit must be whole numbers of 1 or more",
        });
      }
      const draw = drawFailure();
      if (draw < errorRate) return json(503, { error: "Service Unavailable" });
      if (draw < errorRate + hangRate) {
        entry.hung = true;
        await hold(req.signal);
      }
      const { records: served } = accounts.data(entry.client!);
      const { hasMoreLies, pastEndRecords, maxLimit } = settings;
      return json(
        200,
        paginate(served, query.page, query.limit, { hasMoreLies, pastEndRecords, maxLimit }),
      );
    },

    async sync(req, rawId, entry) {
      let id: string;
      try {
        id = decodeURIComponent(rawId);
      } catch {
        return json(400, { error: "Bad Request", message: "Malformed campaign id" });
      }
      entry.campaignId = id;
      const refusal = auth.bearer(req, entry.client!) ?? limited(entry.client!);
      if (refusal) return refusal;
      if (!accounts.data(entry.client!).ids.has(id)) {
        return json(404, { error: "Not Found", message: "No such campaign" });
      }
      if (syncDelayMs > 0) await hold(req.signal, syncDelayMs);
      return json(200, {
        success: true,
        campaign_id: id,
        synced_at: new Date(now()).toISOString(),
        message: `Campaign ${id} synced successfully`,
      });
    },
  };
}
