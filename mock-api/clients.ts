/**
 * The mock's client accounts: every `X-Client-ID` is an account with campaigns of its own and,
 * optionally, credentials of its own.
 */
import { campaignIds, DEFAULT_CLIENT, generateCampaigns } from "./campaigns.ts";

/** The credentials `POST /auth/token` accepts for one client. */
export interface MockClientCredentials {
  email: string;
  password: string;
}

/** What one client account serves. */
export interface MockClientData {
  records: readonly unknown[];
  /** The ids the sync endpoint accepts. */
  ids: ReadonlySet<string>;
}

/** Options of {@linkcode createClientAccounts}. */
export interface ClientAccountsOptions {
  /** Campaigns generated per client. */
  campaigns: number;
  seed: number;
  /** Raw records served to every client instead of generated ones. @default undefined */
  records?: readonly unknown[];
  /** The credentials of any client without its own. */
  email: string;
  password: string;
  /** Clients with credentials of their own (the shared ones are refused for them). @default {} */
  clients?: Readonly<Record<string, MockClientCredentials>>;
}

/** Every client account, each made on first use. */
export interface ClientAccounts {
  /** The campaigns of `client` (the `default` client: the seed's campaigns as always). */
  data(client: string): MockClientData;
  /** The only credentials `POST /auth/token` accepts for `client`. */
  credentials(client: string): MockClientCredentials;
}

/** Creates the accounts; a client's campaigns are generated once, when it is first asked for. */
export function createClientAccounts(options: ClientAccountsOptions): ClientAccounts {
  const { campaigns, seed, records, email, password, clients = {} } = options;
  const cache = new Map<string, MockClientData>();
  const shared = records === undefined ? undefined : { records, ids: campaignIds(records) };
  return {
    data(client) {
      if (shared) return shared;
      let found = cache.get(client);
      if (!found) {
        const generated = generateCampaigns(campaigns, seed, client);
        found = { records: generated, ids: campaignIds(generated) };
        cache.set(client, found);
      }
      return found;
    },
    credentials(client) {
      return Object.hasOwn(clients, client) ? clients[client]! : { email, password };
    },
  };
}

export { DEFAULT_CLIENT };
