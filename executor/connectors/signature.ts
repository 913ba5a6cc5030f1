/**
 * `X-Deputy-Signature: t=<unix seconds>,v1=<hex>`: HMAC-SHA256 over `<t>.<raw body>` with the
 * connector's key. The same scheme signs inbound hooks and outbound callbacks.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-deputy-signature';
/** How far a signature's timestamp may be from now, either way. */
export const SIGNATURE_WINDOW_MS = 5 * 60_000;

export function signPayload(secret: Buffer | string, body: Buffer | string, nowMs: number): string {
  const t = Math.floor(nowMs / 1000);
  return `t=${t},v1=${hmacHex(secret, t, body)}`;
}

/**
 * `digest`: the HMAC this executor computed for the request (never the sender's spelling of it),
 * which names the signed request whatever the header looks like; `expiresAt`: when the window
 * closes for its timestamp (after that it is refused as too old anyway).
 */
export type SignatureCheck = { ok: true; digest: string; expiresAt: number } | { ok: false; reason: string };

export function verifySignature(secret: Buffer | string, header: string | undefined, body: Buffer | string, nowMs: number): SignatureCheck {
  if (!header) return { ok: false, reason: 'no signature header' };
  const parts = new Map<string, string[]>();
  for (const item of header.split(',')) {
    const at = item.indexOf('=');
    if (at <= 0) return { ok: false, reason: 'malformed signature header' };
    const key = item.slice(0, at).trim();
    parts.set(key, [...(parts.get(key) ?? []), item.slice(at + 1).trim()]);
  }
  const t = parts.get('t');
  if (t?.length !== 1 || !/^\d{1,12}$/.test(t[0] ?? '')) return { ok: false, reason: 'missing or malformed timestamp' };
  const timestamp = Number(t[0]);
  if (Math.abs(nowMs - timestamp * 1000) > SIGNATURE_WINDOW_MS) return { ok: false, reason: 'timestamp outside the 5-minute window' };
  const digest = hmacHex(secret, timestamp, body);
  const expected = Buffer.from(digest, 'hex');
  // Several v1 values are allowed (a sender rotating keys); each is compared in constant time.
  const candidates = parts.get('v1') ?? [];
  const matches = candidates.filter((candidate) => {
    if (!/^[0-9a-f]{64}$/i.test(candidate)) return false;
    return timingSafeEqual(Buffer.from(candidate, 'hex'), expected);
  });
  if (matches.length === 0) return { ok: false, reason: candidates.length === 0 ? 'no v1 signature' : 'signature mismatch' };
  return { ok: true, digest, expiresAt: timestamp * 1000 + SIGNATURE_WINDOW_MS };
}

function hmacHex(secret: Buffer | string, t: number, body: Buffer | string): string {
  return createHmac('sha256', secret).update(`${t}.`).update(body).digest('hex');
}
