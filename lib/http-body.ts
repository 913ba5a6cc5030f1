/**
 * Request bodies, read the one safe way for every route of both processes: only when the
 * caller decides (after authentication), never inflated (a `Content-Encoding` other than
 * identity is refused before a byte is read), never parsed as multipart (only the listed
 * media types pass), and never past the limit (a declared length over it is refused unread;
 * a streamed body stops being read at the limit).
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';

export type BodyRefusalReason = 'encoding' | 'media-type' | 'too-large';

export class BodyRefused extends Error {
  constructor(
    readonly reason: BodyRefusalReason,
    message: string,
  ) {
    super(message);
    this.name = 'BodyRefused';
  }
}

export interface BodyRules {
  limitBytes: number;
  /** Media types accepted (lower case, without parameters), e.g. `application/json`. */
  mediaTypes: readonly string[];
}

/** The media type without parameters, lower case; `''` when absent. */
export function mediaTypeOf(headers: IncomingHttpHeaders): string {
  return (headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** True when the request carries a body at all (a length above zero, or a chunked one). */
export function hasBody(headers: IncomingHttpHeaders): boolean {
  return Number(headers['content-length'] ?? 0) > 0 || headers['transfer-encoding'] !== undefined;
}

/** The encoding problem of a request, if any: anything but identity would have to be inflated to be read. */
export function encodingRefusal(headers: IncomingHttpHeaders): BodyRefused | undefined {
  const encoding = (headers['content-encoding'] ?? '').trim().toLowerCase();
  if (encoding === '' || encoding === 'identity') return undefined;
  return new BodyRefused('encoding', `Content-Encoding ${encoding.slice(0, 40)} is not accepted; send the body uncompressed`);
}

/** What would make the body unreadable under these rules, decided from the headers alone. */
export function headerRefusal(headers: IncomingHttpHeaders, rules: BodyRules): BodyRefused | undefined {
  const encoding = encodingRefusal(headers);
  if (encoding) return encoding;
  const mediaType = mediaTypeOf(headers);
  if (!rules.mediaTypes.includes(mediaType)) {
    return new BodyRefused('media-type', `Content-Type ${mediaType.slice(0, 80) || '(none)'} is not accepted; use ${rules.mediaTypes.join(' or ')}`);
  }
  if (Number(headers['content-length'] ?? 0) > rules.limitBytes) return new BodyRefused('too-large', `the body is larger than ${rules.limitBytes} bytes`);
  return undefined;
}

/**
 * Reads the body as sent, after `headerRefusal` found nothing. Stops at the limit: the rest is
 * never read, and the connection is closed once the answer is out, so no later request on it
 * has to wait behind the unread bytes.
 */
export function readBody(req: IncomingMessage, res: ServerResponse, rules: BodyRules): Promise<Buffer> {
  const refused = headerRefusal(req.headers, rules);
  if (refused) {
    closeAfterAnswer(req, res);
    return Promise.reject(refused);
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (error?: Error) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      if (error) reject(error);
      else resolve(Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > rules.limitBytes) {
        req.pause();
        closeAfterAnswer(req, res);
        finish(new BodyRefused('too-large', `the body is larger than ${rules.limitBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => finish();
    const onError = (error: Error) => finish(error);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/**
 * An answer given before the body was read in full ends the connection once it is out: kept
 * alive, Node would read (and discard) the rest of the body first, whatever its size.
 */
export function closeAfterAnswer(req: IncomingMessage, res: ServerResponse): void {
  if (hasBody(req.headers) && !req.complete && !res.headersSent) res.setHeader('connection', 'close');
}
