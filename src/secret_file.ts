/**
 * Reads a secret from a file, without its trailing newline. Calls `fail` with the reason,
 * naming the path but never the content, when the file is unreadable or empty.
 */
export function readSecretFile(
  path: string,
  readTextFile: (path: string) => string,
  fail: (reason: string) => never,
  stat: (path: string) => Pick<Deno.FileInfo, "isFile"> = Deno.statSync,
): string {
  // A FIFO or a device (/dev/zero, /dev/stdin) would hang the start or never end: refused
  // unread. A path that cannot be looked at is left to the read, which names the reason.
  let info: Pick<Deno.FileInfo, "isFile"> | undefined;
  try {
    info = stat(path);
  } catch {
    info = undefined;
  }
  if (info && !info.isFile) fail(`${path} is not a regular file (a FIFO, device or directory)`);
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
