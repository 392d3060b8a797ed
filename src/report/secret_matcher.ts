/**
 * Finds the registered secrets in a text in one pass, however many there are. A process that
 * drives a thousand accounts holds a thousand tokens, three forms each, and a worker gains more
 * every hour; replacing each in turn cost every string of every log line that many scans. Here
 * each secret is indexed by a hash of its first characters, and a rolling hash over the text
 * looks up only the secrets that could start at each position.
 * @module
 */

/** A set of secrets to redact. */
export interface SecretMatcher {
  /** Registers a secret; the empty string is ignored. */
  add(secret: string): void;
  /** Forgets every secret. */
  clear(): void;
  /**
   * `text` with every secret replaced by `replacement`: at each position the longest secret that
   * starts there, scanning left to right.
   */
  redact(text: string, replacement: string): string;
  /** How many secrets are registered. */
  readonly size: number;
}

/** The most characters a secret is indexed by. */
const MAX_KEY = 8;

/** Creates an empty matcher. */
export function createSecretMatcher(): SecretMatcher {
  const secrets = new Set<string>();
  let index: { key: number; buckets: Map<number, string[]> } | undefined;

  /** Indexes every secret by the hash of its first `key` characters, longest first per bucket. */
  function build(): { key: number; buckets: Map<number, string[]> } {
    let key = MAX_KEY;
    for (const secret of secrets) key = Math.min(key, secret.length);
    const buckets = new Map<number, string[]>();
    for (const secret of secrets) {
      const hash = hashOf(secret, 0, key);
      const bucket = buckets.get(hash);
      if (bucket) bucket.push(secret);
      else buckets.set(hash, [secret]);
    }
    for (const bucket of buckets.values()) bucket.sort((a, b) => b.length - a.length);
    return { key, buckets };
  }

  return {
    add(secret) {
      if (secret === "" || secrets.has(secret)) return;
      secrets.add(secret);
      index = undefined;
    },
    clear() {
      secrets.clear();
      index = undefined;
    },
    redact(text, replacement) {
      if (secrets.size === 0) return text;
      index ??= build();
      const { key, buckets } = index;
      if (text.length < key) return text;
      const power = powerOf(key);
      let out = "";
      let copied = 0;
      let hash = hashOf(text, 0, key);
      for (let i = 0; i + key <= text.length;) {
        const found = buckets.get(hash)?.find((secret) => text.startsWith(secret, i));
        if (found !== undefined) {
          out += text.slice(copied, i) + replacement;
          i += found.length;
          copied = i;
          if (i + key <= text.length) hash = hashOf(text, i, key);
          continue;
        }
        if (i + key < text.length) {
          hash = roll(hash, text.charCodeAt(i), text.charCodeAt(i + key), power);
        }
        i++;
      }
      return copied === 0 ? text : out + text.slice(copied);
    },
    get size() {
      return secrets.size;
    },
  };
}

const BASE = 31;

/** The hash of `length` characters of `text` from `start` (32-bit, polynomial). */
function hashOf(text: string, start: number, length: number): number {
  let hash = 0;
  for (let i = start; i < start + length; i++) {
    hash = (Math.imul(hash, BASE) + text.charCodeAt(i)) | 0;
  }
  return hash;
}

/** BASE^(length - 1), the weight of the character leaving the window. */
function powerOf(length: number): number {
  let power = 1;
  for (let i = 1; i < length; i++) power = Math.imul(power, BASE);
  return power;
}

/** The hash of the window moved one character: `out` leaves it, `next` enters it. */
function roll(hash: number, out: number, next: number, power: number): number {
  return (Math.imul(hash - Math.imul(out, power), BASE) + next) | 0;
}
