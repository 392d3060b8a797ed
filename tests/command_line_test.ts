import assert from "node:assert/strict";
import { readCommandLine, wantsVersion } from "../src/command_line.ts";

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
  assert.throws(() => readCommandLine(["help", "nope"]), /unknown command 'nope'/);
  assert.throws(() => readCommandLine(["sync", "--page-size"]), /--page-size: expects a value/);
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

Deno.test("wantsVersion sees --version and -V anywhere, and the flags parse for every command", () => {
  assert.equal(wantsVersion(["--version"]), true);
  assert.equal(wantsVersion(["check", "-V"]), true);
  assert.equal(wantsVersion(["sync", "--json"]), false);
  assert.equal(readCommandLine(["sync", "--version"]).command, "sync");
  assert.deepEqual(readCommandLine(["check"]), { command: "check", help: false, named: true });
  assert.throws(() => readCommandLine(["chek"]), /unknown command 'chek' \(expected sync, check,/);
});
