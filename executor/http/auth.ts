/**
 * Bearer tokens for `/v1`. The bot's token lets it speak for principals, so it is compared in
 * constant time, and two may be valid while one is being rotated. Requests are audited with
 * the token's fingerprint, never its value.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export interface TokenCheck {
  /** The fingerprint label of the matching token, or undefined. */
  match(presented: string | undefined): string | undefined;
}

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

export function tokenFingerprint(token: string): string {
  return `token:${digest(token).toString('hex').slice(0, 12)}`;
}

export function createTokenCheck(tokens: string[]): TokenCheck {
  const known = tokens.map((token) => ({ digest: digest(token), label: tokenFingerprint(token) }));
  return {
    match(presented) {
      if (!presented) return undefined;
      // Hashing first makes both sides the same length, so timingSafeEqual applies to any input.
      const candidate = digest(presented);
      let label: string | undefined;
      for (const token of known) if (timingSafeEqual(candidate, token.digest)) label = token.label;
      return label;
    },
  };
}

/** `Authorization: Bearer <token>` → the token, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer[ ]+([^\s]+)$/i.exec(header ?? '');
  return match?.[1];
}
