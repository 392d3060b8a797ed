import { AsyncLocalStorage } from "node:async_hooks";
import {
  configure,
  type LogRecord,
  reset,
  type Sink,
  type TextFormatter,
  withContext,
} from "@logtape/logtape";
import { getPrettyFormatter } from "@logtape/pretty";
import { redactByField, redactByPattern, type RedactionPattern } from "@logtape/redaction";
import { createSecretMatcher } from "./secret_matcher.ts";

/** What replaces a secret in every log line. */
export const REDACTED = "[REDACTED]";

/** How `main.ts` sets up logging. */
export interface LoggingOptions {
  /** Lowest level written. @default "info" */
  level?: "debug" | "info" | "warning" | "error";
  /** `json`: one JSON object per line; `pretty`: aligned text for people. @default "json" */
  format?: "pretty" | "json";
  /** Exact values (password, Basic credentials, tokens) to replace by `[REDACTED]`. @default [] */
  secrets?: string[];
  /** Receives each formatted record, newline included. @default synchronous write to stderr */
  write?: (line: string) => void;
  /** ANSI colours in pretty output. @default true when writing to a colour terminal */
  colors?: boolean;
}

/** The identity every log line of a run carries. */
export interface RunContext {
  /** Absent for an account whose run never started. */
  run_id?: string;
  account?: string;
}

/** Property names whose values never reach a sink. */
const SECRET_FIELDS = [
  /pass(?:word|wd|phrase)/i,
  /secret/i,
  /token$/i,
  /authorization/i,
  /cookie/i,
  /api[_-]?key/i,
  /credential/i,
];

/** Credentials recognisable by their shape in rendered text. */
const SECRET_PATTERNS: RedactionPattern[] = [
  { pattern: /\b(Bearer)\s+[A-Za-z0-9\-._~+/]+=*/gi, replacement: `$1 ${REDACTED}` },
  // Base64 with a capital, digit or symbol after its first character: not an English word.
  {
    pattern: /\b(Basic)\s+(?=[A-Za-z0-9+/]+[A-Z0-9+/=])[A-Za-z0-9+/]+=*/g,
    replacement: `$1 ${REDACTED}`,
  },
  {
    pattern: /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@"'\\]+):[^\s/@"'\\]+@/gi,
    replacement: `$1:${REDACTED}@`,
  },
  {
    pattern:
      /\b((?:access_token|refresh_token|password|api_key|client_secret)\\?"?\s*[:=]\s*\\?"?)[^\s"\\,&}]+/gi,
    replacement: `$1${REDACTED}`,
  },
];

const secrets = createSecretMatcher();
const encoder = new TextEncoder();
const CLEAR_LINE = "\r\x1b[2K";

/** Writes text to stderr synchronously, so lines survive an abrupt exit. */
export function writeStderr(text: string): void {
  const bytes = encoder.encode(text);
  let offset = 0;
  while (offset < bytes.length) offset += Deno.stderr.writeSync(bytes.subarray(offset));
}

/** Registers a secret (for example a freshly issued token) to redact from now on. */
export function addSecret(value: string): void {
  if (value === "") return;
  // As written, and as JSON and Deno.inspect escape it (a quote, backslash or newline changes it).
  for (
    const form of [value, JSON.stringify(value).slice(1, -1), Deno.inspect(value).slice(1, -1)]
  ) {
    secrets.add(form);
  }
}

/** Configures LogTape for every `["adsync", …]` logger; call once, from `main.ts`. */
export async function configureLogging(options: LoggingOptions = {}): Promise<void> {
  const { level = "info", format = "json", secrets: initial = [], write, colors } = options;
  for (const secret of initial) addSecret(secret);
  const terminal = write === undefined && Deno.stderr.isTerminal();
  const formatter = format === "json"
    ? formatJson
    : prettyFormatter(colors ?? (terminal && !Deno.noColor));
  const redacted = redactLine(redactByPattern(formatter, SECRET_PATTERNS));
  // On a terminal, clear a progress status line before writing over it.
  const output = write ??
    (terminal ? (text: string) => writeStderr(CLEAR_LINE + text) : writeStderr);
  const sink: Sink = (record) => output(redacted(scrubRecord(record)));
  await configure({
    reset: true,
    sinks: { out: redactByField(sink, { fieldPatterns: SECRET_FIELDS, action: () => REDACTED }) },
    contextLocalStorage: new AsyncLocalStorage(),
    loggers: [
      { category: ["adsync"], sinks: ["out"], lowestLevel: level },
      { category: ["logtape", "meta"], sinks: ["out"], lowestLevel: "warning" },
    ],
  });
}

/** Removes the configuration and forgets every registered secret (for tests). */
export async function resetLogging(): Promise<void> {
  await reset();
  secrets.clear();
}

/** Runs `fn` so that every log line inside, even after `await`, carries `context`. */
export function withRunContext<T>(context: RunContext, fn: () => T): T {
  return withContext({ ...context }, fn);
}

function redactText(text: string): string {
  return secrets.redact(text, REDACTED);
}

/** The last pass, on the rendered line: what escaping or formatting let through. */
function redactLine(formatter: TextFormatter): TextFormatter {
  return (record) => redactText(formatter(record));
}

/**
 * Redacts secrets in every string of the record before it is rendered, where no escaping has
 * yet changed them. Message values are taken from the field-redacted properties, because
 * LogTape interpolates the originals.
 */
function scrubRecord(record: LogRecord): LogRecord {
  const seen = new Map<object, unknown>();
  const scrub = (value: unknown): unknown => {
    if (typeof value === "string") return redactText(value);
    if (typeof value !== "object" || value === null) return value;
    if (seen.has(value)) return seen.get(value);
    if (value instanceof Error) {
      // A copy of the same class, with message, stack, cause and own fields redacted.
      const copy = Object.create(Object.getPrototypeOf(value));
      seen.set(value, copy);
      for (const key of Object.getOwnPropertyNames(value)) {
        const { enumerable } = Object.getOwnPropertyDescriptor(value, key)!;
        const item = scrub((value as unknown as Record<string, unknown>)[key]);
        Object.defineProperty(copy, key, {
          value: item,
          enumerable,
          configurable: true,
          writable: true,
        });
      }
      return copy;
    }
    if (!Array.isArray(value) && Object.getPrototypeOf(value) !== Object.prototype) return value;
    const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [] : {};
    seen.set(value, copy);
    for (const [key, item] of Object.entries(value)) {
      (copy as Record<string, unknown>)[key] = scrub(item);
    }
    return copy;
  };
  const names = placeholderList(record.rawMessage);
  const aligned = names.length * 2 + 1 === record.message.length;
  const message = record.message.map((part, i) => {
    if (i % 2 === 0 || !aligned) return scrub(part);
    const name = names[(i - 1) / 2]!;
    if (name === "*") return scrub(record.properties);
    return scrub(Object.hasOwn(record.properties, name) ? record.properties[name] : part);
  });
  return { ...record, message, properties: scrub(record.properties) as Record<string, unknown> };
}

/**
 * The category column of pretty lines: as wide as the longest module name (`worker`, `limits`),
 * so the message starts early on an 80-column terminal; a longer name pushes its message along
 * rather than being cut.
 */
const CATEGORY_WIDTH = 6;

function prettyFormatter(colors: boolean): TextFormatter {
  const pretty = getPrettyFormatter({
    colors,
    timestamp: "time",
    icons: false,
    categoryWidth: CATEGORY_WIDTH,
    categoryTruncate: false,
    // One line per event: what a person needs is in the message; JSON lines carry every property.
    properties: false,
    // A wrapped line could split a secret where redaction cannot see it.
    wordWrap: false,
  });
  // Many accounts run at once: every line of a run starts with its account, unless it names it.
  // Values read as in a sentence (no quotes around strings, an error as its message).
  return (record) => {
    const account = record.properties.account;
    const named = placeholderList(record.rawMessage).includes("account");
    const prefix = typeof account === "string" && !named ? `${account}: ` : "";
    const text = record.message.map((part, i) => i % 2 === 0 ? part : sentenceValue(part))
      .join("");
    // Every line of ours is adsync's: the module alone tells them apart.
    const category = record.category[0] === "adsync" ? record.category.slice(1) : record.category;
    return pretty({ ...record, category, message: [prefix + text] });
  };
}

function placeholderList(raw: string | TemplateStringsArray): string[] {
  if (typeof raw !== "string") return [];
  return [...raw.matchAll(/\{([^{}]+)\}/g)].map((match) => match[1]!.trim());
}

/** One JSON object per line: timestamp, level, category, message, properties. */
function formatJson(record: LogRecord): string {
  return toJson({
    timestamp: new Date(record.timestamp).toISOString(),
    level: record.level,
    category: record.category.join("."),
    message: record.message.map((part, i) => i % 2 === 0 ? part : renderValue(part)).join(""),
    properties: record.properties,
  }) + "\n";
}

/** A value as a pretty line shows it: an error as its message and its causes', on one line. */
function sentenceValue(value: unknown): string {
  if (!(value instanceof Error)) return renderValue(value);
  const causes: string[] = [];
  for (let cause = value.cause; cause !== undefined && causes.length < 5;) {
    causes.push(cause instanceof Error ? cause.message : String(cause));
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  const text = [value.message, ...causes.map((c) => `caused by: ${c}`)].join("; ");
  return text.replaceAll("\n", " ");
}

function renderValue(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (typeof value === "object" && value !== null) return toJson(value);
  return String(value);
}

/** JSON that survives errors (message, stack, cause kept), bigints and cycles. */
function toJson(value: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item === "string") return redactText(item);
    if (typeof item === "bigint") return item.toString();
    if (typeof item !== "object" || item === null) return item;
    if (seen.has(item)) return "[Circular]";
    seen.add(item);
    if (!(item instanceof Error)) return item;
    // Own fields first (an HttpError's status, url…), then what JSON.stringify would drop.
    const { name, message, stack, cause } = item;
    return { ...item, name, message, stack, ...(cause === undefined ? {} : { cause }) };
  });
}
