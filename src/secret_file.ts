/**
 * Reads a secret from a file, without its trailing newline. Calls `fail` with the reason,
 * naming the path but never the content, when the file is unreadable or empty.
 */
export function readSecretFile(
  path: string,
  readTextFile: (path: string) => string,
  fail: (reason: string) => never,
): string {
  let text: string;
  try {
    text = readTextFile(path);
  } catch (error) {
    fail(`cannot read ${path} (${error instanceof Error ? error.name : "unreadable"})`);
  }
  const secret = text.replace(/\r?\n$/, "");
  if (!secret) fail(`${path} is empty`);
  return secret;
}
