/**
 * HTTP requests exactly as written: `fetch` and the URL parser tidy a path (`/./`, `..`,
 * percent-encodings) and refuse some headers (`Host`), which is what these tests must not let
 * them do.
 */
import { request } from 'node:http';
import { connect } from 'node:net';

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request with the path sent byte for byte. */
export function rawRequest(url: string, method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Sends only the head of a request (its lines) and `bodyBytes` of its body, then waits for the
 * answer: a server that needs no more of the body than it was sent answers; one that reads on
 * waits, and the call gives up after `timeoutMs` with status 0.
 */
export function headFirst(url: string, head: string[], bodyBytes: Buffer = Buffer.alloc(0), timeoutMs = 5000): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    let text = '';
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1];
      resolve({ status: status ? Number(status) : 0, text });
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      // The whole answer is there once its declared length arrived after the blank line.
      const split = text.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: (\d+)/i.exec(text)?.[1];
      if (split >= 0 && length !== undefined && Buffer.byteLength(text, 'latin1') >= split + 4 + Number(length)) done();
    });
    socket.on('error', done);
    socket.on('close', done);
    socket.write(`${head.join('\r\n')}\r\n\r\n`);
    if (bodyBytes.length > 0) socket.write(bodyBytes);
  });
}
