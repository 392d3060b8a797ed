import assert from "node:assert/strict";
import { commandArgument, commandOf, readCommandLine, wantsVersion } from "../src/command_line.ts";

Deno.test("readCommandLine finds help in every form, before any setting is read", () => {
  for (const args of [["sync", "--help"], ["sync", "-h"], ["help", "sync"]]) {
    assert.deepEqual(readCommandLine(args), { command: "sync", help: true, named: true });
  }
  assert.deepEqual(readCommandLine(["--help"]), { command: "sync", help: true, named: false });
  assert.deepEqual(readCommandLine(["help"]), { command: "sync", help: true, named: false });
  assert.deepEqual(readCommandLine(["worker", "--bogus", "-h"]), {
    command: "worker",
    help: true,
    named: true,
  });
  assert.deepEqual(readCommandLine(["status", "--json"]), {
    command: "status",
    help: false,
    named: true,
  });
});

Deno.test("readCommandLine names an unknown flag and the nearest known one", () => {
  assert.throws(
    () => readCommandLine(["sync", "--acount", "acme"]),
    /^ConfigError: --acount: unknown flag \(did you mean --account\? --help lists them\)$/,
  );
  assert.throws(() => readCommandLine(["--zzzzzz"]), /--zzzzzz: unknown flag \(--help lists/);
  assert.throws(
    () => readCommandLine(["help", "nope"]),
    /^ConfigError: nope: unknown command \(expected sync, check, status, .*; --help lists them\)$/,
  );
  assert.throws(() => readCommandLine(["sync", "--page-size"]), /--page-size: expects a value/);
});

Deno.test("A mistyped command gets the nearest command, and the word command once", () => {
  assert.throws(
    () => readCommandLine(["stauts"]),
    /^ConfigError: stauts: unknown command \(did you mean status\? --help lists them\)$/,
  );
  assert.throws(
    () => readCommandLine(["help", "wroker"]),
    /^ConfigError: wroker: .*did you mean worker\?/,
  );
});

Deno.test("readCommandLine says which flag lacks its value and which takes none", () => {
  assert.throws(
    () => readCommandLine(["sync", "--api-url", "--email", "ops@example.com"]),
    /^ConfigError: --api-url: expects a value \(write --api-url=VALUE for one starting with '-'\)$/,
  );
  assert.throws(
    () => readCommandLine(["sync", "--page-size", "-5"]),
    /--page-size: expects a value/,
  );
  assert.equal(readCommandLine(["sync", "--worker-id=-box"]).command, "sync");
  assert.throws(() => readCommandLine(["--resume=yes"]), /^ConfigError: --resume: takes no value$/);
  assert.throws(() => readCommandLine(["--help=1"]), /^ConfigError: --help: takes no value$/);
});

Deno.test("sql takes one query and db takes the action serve, each checked", () => {
  assert.equal(commandOf(["sql", "select 1"]), "sql");
  assert.equal(commandArgument("sql", ["sql", "select 1"]), "select 1");
  assert.equal(commandArgument("db", ["db", "serve"]), "serve");
  assert.equal(commandArgument("status", ["status"]), undefined);
  assert.throws(() => commandOf(["sql", "select 1", "select 2"]), /unexpected argument/);
  assert.throws(() => commandArgument("sql", ["sql"]), /^ConfigError: sql: expects a query/);
  assert.throws(() => commandArgument("sql", ["sql", " "]), /sql: expects a query/);
  assert.throws(() => commandArgument("db", ["db"]), /db: expects an action, as in 'db serve'/);
  assert.throws(
    () => commandArgument("db", ["db", "drop"]),
    /db: unknown action 'drop' \(expected serve\)/,
  );
  assert.deepEqual(readCommandLine(["db", "--help"]), { command: "db", help: true, named: true });
});

Deno.test("wantsVersion sees --version and -V anywhere, and the flags parse for every command", () => {
  assert.equal(wantsVersion(["--version"]), true);
  assert.equal(wantsVersion(["check", "-V"]), true);
  assert.equal(wantsVersion(["sync", "--json"]), false);
  assert.equal(readCommandLine(["sync", "--version"]).command, "sync");
  assert.deepEqual(readCommandLine(["check"]), { command: "check", help: false, named: true });
  assert.throws(() => readCommandLine(["chek"]), /chek: unknown command \(did you mean check\?/);
});
