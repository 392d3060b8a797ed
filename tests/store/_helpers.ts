import postgres from "postgres";
import type { SyncedCampaign } from "../../src/platform/schemas.ts";
import { type Database, openDatabase } from "../../src/store/database.ts";
import { migrate } from "../../src/store/migrations.ts";
import { TEST_SERVER_URL } from "../_test_server.ts";

/** Which PostgreSQL a test runs against. */
export type Backend = "server" | "embedded";

/**
 * What a store test receives: an open database, empty (or just migrated), and how to open it
 * again. The database is shared by the file's tests of its backend: a test must not close it.
 */
export interface TestContext {
  db: Database;
  backend: Backend;
  /** Opens another handle on the same database (the embedded one allows one at a time). */
  reopen(): Promise<Database>;
}

/** Options of a store test. */
export interface StoreTestOptions {
  /** Apply the migrations before the test. @default true */
  migrate?: boolean;
  /** Give the test a fresh database of its own, which it may close. @default false */
  ownDatabase?: boolean;
}

/** Registers the test twice: against the PostgreSQL server and against the embedded PGlite. */
export function withEachDatabase(
  name: string,
  fn: (context: TestContext) => Promise<void>,
  options: StoreTestOptions = {},
): void {
  withServerDatabase(name, fn, options);
  withEmbeddedDatabase(name, fn, options);
}

/** Registers a test on the file's database of the test server (tests/_test_server.ts). */
export function withServerDatabase(
  name: string,
  fn: (context: TestContext) => Promise<void>,
  options: StoreTestOptions = {},
): void {
  serverTest(`${name} (server)`, async (serverUrl) => {
    if (!options.ownDatabase) return runShared("server", () => shareServer(serverUrl), fn, options);
    await withFreshServerDatabase(serverUrl, async (url) => {
      const target = { url, stateDir: "unused-by-server-tests" };
      await runWith("server", () => openDatabase(target), fn, options);
    });
  });
}

/**
 * Passes the URL of the file's database on the server, emptied of what the tests before it left,
 * to a test whose code opens the database itself. It is dropped once the file's tests are done.
 */
export async function withSharedServerDatabase(
  serverUrl: string,
  fn: (url: string) => Promise<void>,
): Promise<void> {
  const { db, url } = await sharedDatabase("server", () => shareServer(serverUrl));
  await emptyDatabase(db.sql);
  await fn(url);
}

/** Creates an empty database on the server, passes its URL, and drops it afterwards. */
export async function withFreshServerDatabase(
  serverUrl: string,
  fn: (url: string) => Promise<void>,
): Promise<void> {
  const database = await createServerDatabase(serverUrl);
  try {
    await fn(database.url);
  } finally {
    await database.drop();
  }
}

/** Creates an empty database `adsync_test_<random>` on the server; `drop()` removes it. */
export async function createServerDatabase(
  serverUrl: string,
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `adsync_test_${crypto.randomUUID().replaceAll("-", "")}`;
  const admin = () => postgres(serverUrl, { max: 1, onnotice: () => {} });
  const creator = admin();
  try {
    await creator`create database ${creator(name)}`;
  } finally {
    await creator.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    async drop() {
      const dropper = admin();
      try {
        await dropper`drop database if exists ${dropper(name)} with (force)`;
      } finally {
        await dropper.end();
      }
    },
  };
}

/** Registers a test on the file's embedded database, in a temporary state dir. */
export function withEmbeddedDatabase(
  name: string,
  fn: (context: TestContext) => Promise<void>,
  options: StoreTestOptions = {},
): void {
  Deno.test(`${name} (embedded)`, async () => {
    if (!options.ownDatabase) return runShared("embedded", shareEmbedded, fn, options);
    const stateDir = await Deno.makeTempDir({ prefix: "adsync_store_" });
    try {
      await runWith("embedded", () => openDatabase({ stateDir }), fn, options);
    } finally {
      await Deno.remove(stateDir, { recursive: true });
    }
  });
}

/**
 * Registers a test that needs the server: the one TEST_DATABASE_URL names, or else a throwaway
 * one the tests start themselves (tests/_test_server.ts), so it is never skipped.
 */
export function serverTest(name: string, fn: (serverUrl: string) => Promise<void>): void {
  Deno.test(name, () => fn(TEST_SERVER_URL));
}

async function runWith(
  backend: Backend,
  open: () => Promise<Database>,
  fn: (context: TestContext) => Promise<void>,
  { migrate: shouldMigrate = true }: StoreTestOptions,
): Promise<void> {
  const db = await open();
  try {
    if (shouldMigrate) await migrate(db.sql);
    await fn({ db, backend, reopen: open });
  } finally {
    await db.close();
  }
}

/** A database the tests of one file share: starting PGlite costs seconds, a server database one. */
interface SharedDatabase {
  db: Database;
  /** A server database's URL; empty for the embedded one. */
  url: string;
  open(): Promise<Database>;
  dispose(): Promise<void>;
}

// `deno test` runs each test file in a worker of its own: this map holds one file's databases.
const shared = new Map<Backend, Promise<SharedDatabase>>();

Deno.test.afterAll(async () => {
  const opened = await Promise.allSettled(shared.values());
  shared.clear();
  for (const entry of opened) if (entry.status === "fulfilled") await entry.value.dispose();
});

function sharedDatabase(
  backend: Backend,
  create: () => Promise<SharedDatabase>,
): Promise<SharedDatabase> {
  if (!shared.has(backend)) shared.set(backend, create());
  return shared.get(backend)!;
}

/** Drops every table the tests before left, by making the public schema anew. */
async function emptyDatabase(sql: postgres.Sql): Promise<void> {
  await sql`drop schema public cascade`;
  await sql`create schema public`;
}

/** Runs `fn` on the backend's shared database, emptied (and migrated unless told otherwise). */
async function runShared(
  backend: Backend,
  create: () => Promise<SharedDatabase>,
  fn: (context: TestContext) => Promise<void>,
  { migrate: shouldMigrate = true }: StoreTestOptions,
): Promise<void> {
  const { db, open } = await sharedDatabase(backend, create);
  await emptyDatabase(db.sql);
  if (shouldMigrate) await migrate(db.sql);
  await fn({ db, backend, reopen: open });
}

async function shareServer(serverUrl: string): Promise<SharedDatabase> {
  const database = await createServerDatabase(serverUrl);
  const open = () => openDatabase({ url: database.url, stateDir: "unused-by-server-tests" });
  const db = await open();
  return { db, url: database.url, open, dispose: () => db.close().finally(database.drop) };
}

async function shareEmbedded(): Promise<SharedDatabase> {
  const stateDir = await Deno.makeTempDir({ prefix: "adsync_store_" });
  const open = () => openDatabase({ stateDir });
  const db = await open();
  const dispose = () => db.close().finally(() => Deno.remove(stateDir, { recursive: true }));
  return { db, url: "", open, dispose };
}

const BASE_CAMPAIGN: SyncedCampaign = {
  id: "campaign_1",
  name: "Spring sale",
  status: "active",
  budget: 1234.56,
  impressions: 1000,
  clicks: 50,
  conversions: 5,
  created_at: "2024-03-01T10:00:00.000Z",
  synced_at: "2024-03-02T12:00:00.000Z",
};

/** A valid synced campaign; pass only what the test is about. */
export function campaign(overrides: Partial<SyncedCampaign> = {}): SyncedCampaign {
  return { ...BASE_CAMPAIGN, ...overrides };
}
