import assert from "node:assert/strict";
import { parseCpuSeconds, parseVmHwmKib, sampleRss } from "../../bench/rss_sampler.ts";

const STATUS = "Name:\tdeno\nVmPeak:\t 9000 kB\nVmHWM:\t  123456 kB\nVmRSS:\t  100000 kB\n";

Deno.test("parseVmHwmKib reads the peak resident set of a /proc status", () => {
  assert.equal(parseVmHwmKib(STATUS), 123_456);
  assert.equal(parseVmHwmKib("Name:\tdeno\n"), undefined);
});

/** A /proc/<pid>/stat line: 250 user and 50 system ticks, and a command name with spaces. */
const STAT = "42 (deno main (x)) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 1 2 3";

Deno.test("parseCpuSeconds reads user + system CPU time of a /proc stat line", () => {
  assert.equal(parseCpuSeconds(STAT), 3);
  assert.equal(parseCpuSeconds("Name:\tdeno\n"), undefined);
});

Deno.test("sampleRss keeps the highest peak it read, even after the process is gone", async () => {
  const reads = [STATUS, STATUS.replace("123456", "200000")];
  const asked: string[][] = [];
  const sampler = sampleRss(42, {
    intervalMs: 0,
    readFiles: (paths) => {
      asked.push(paths);
      const next = reads.shift();
      return next === undefined
        ? Promise.reject(new Deno.errors.NotFound(paths.join()))
        : Promise.resolve(`${STAT}\n${next}`);
    },
  });
  while (reads.length > 0) await new Promise((resolve) => setTimeout(resolve, 1));
  assert.equal(await sampler.stop(), 200_000);
  assert.equal(sampler.samples(), 2);
  assert.equal(sampler.cpuSeconds(), 3);
  assert.deepEqual(asked[0], ["/proc/42/stat", "/proc/42/status"], "one read a sample");
});

Deno.test("sampleRss reads this process's own peak memory from /proc", async () => {
  const sampler = sampleRss(Deno.pid);
  const peak = await sampler.stop();
  assert.ok(peak > 0, `expected a peak, got ${peak}`);
});
