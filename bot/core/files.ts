/**
 * Files people send to the bot, read the same way on every platform: at most
 * `MAX_SENT_FILE_BYTES`, UTF-8 text (a byte order mark is not part of it), never more read
 * than that limit however large the sender says the file is.
 */
import type { SentFile } from './model.ts';

/** Above the executor's own bound for a script text (which names the exact limit), so the executor says it. */
export const MAX_SENT_FILE_BYTES = 1024 * 1024;

export function sentFileFromBytes(name: string, bytes: Uint8Array): SentFile {
  if (bytes.byteLength > MAX_SENT_FILE_BYTES) return { name, problem: 'too-large' };
  try {
    return { name, text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    return { name, problem: 'not-text' };
  }
}

/**
 * Downloads a file a platform hosts. The body is read only up to the limit; a failed or
 * redirected-away download is `unreadable` (the caller logs why).
 */
export async function downloadSentFile(name: string, url: URL, headers: Record<string, string>, options: { fetch?: typeof fetch; timeoutMs?: number } = {}): Promise<{ file: SentFile; detail?: string }> {
  let response: Response;
  try {
    response = await (options.fetch ?? fetch)(url, { headers, redirect: 'error', signal: AbortSignal.timeout(options.timeoutMs ?? 15_000) });
  } catch (error) {
    return { file: { name, problem: 'unreadable' }, detail: error instanceof Error ? error.message : String(error) };
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    return { file: { name, problem: 'unreadable' }, detail: `HTTP ${response.status}` };
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    size += read.value.byteLength;
    if (size > MAX_SENT_FILE_BYTES) {
      await reader.cancel().catch(() => undefined);
      return { file: { name, problem: 'too-large' } };
    }
    chunks.push(read.value);
  }
  return { file: sentFileFromBytes(name, Buffer.concat(chunks)) };
}
