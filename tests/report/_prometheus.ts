/**
 * Reading Prometheus text in tests: parse-prometheus-text-format does the parsing (a test-only
 * package, out of what `deno compile` embeds); what it lets through quietly is checked here.
 */
import assert from "node:assert/strict";
import parse from "parse-prometheus-text-format";

/** One sample of a metric. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Family {
  name: string;
  help: string;
  type: string;
  metrics: { value?: string; labels?: Record<string, string> }[];
}

/**
 * Parses `text` as the Prometheus text format; fails on a metric without HELP or TYPE, a value
 * that is not a number, and a series that appears twice (the parser keeps only the last).
 */
export function parsePrometheus(text: string): Sample[] {
  assert.ok(text.endsWith("\n"), "the text ends with a newline");
  const families = parse(text) as Family[];
  const samples: Sample[] = [];
  for (const family of families) {
    assert.ok(family.help !== "", `${family.name} has a HELP line`);
    assert.match(family.type, /^(COUNTER|GAUGE|HISTOGRAM|SUMMARY)$/, `${family.name} has a TYPE`);
    for (const metric of family.metrics) {
      const valueText = metric.value ?? "";
      const value = /^(NaN|[+-]Inf)$/.test(valueText) ? 0 : Number(valueText);
      assert.ok(valueText !== "" && !Number.isNaN(value), `${valueText} is a number`);
      samples.push({ name: family.name, labels: metric.labels ?? {}, value: Number(valueText) });
    }
  }
  const lines = text.split("\n").filter((line) => line !== "" && !line.startsWith("#"));
  assert.equal(samples.length, lines.length, "no series appears twice");
  const names = text.match(/^# TYPE \S+/gm) ?? [];
  assert.equal(new Set(names).size, names.length, "no metric is declared twice");
  return samples;
}

/** The value of the one sample named `name` whose labels include `labels`. */
export function valueOf(
  samples: Sample[],
  name: string,
  labels: Record<string, string> = {},
): number {
  const found = samples.filter((s) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  );
  assert.equal(found.length, 1, `exactly one ${name} ${JSON.stringify(labels)}`);
  return found[0]!.value;
}
