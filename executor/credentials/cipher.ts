/**
 * AES-256-GCM for one credential value: a random 12-byte IV per encryption, the auth tag
 * checked on decryption, and the record's identity (tenant, id, version, username) bound in as
 * additional data, so a ciphertext copied onto another record does not decrypt.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DeputyError } from '../contract/index.ts';

export interface Sealed {
  ciphertext: string;
  iv: string;
  tag: string;
}

export function seal(key: Buffer, plaintext: string, context: string): Sealed {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return { ciphertext: ciphertext.toString('base64'), iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64') };
}

/** Throws when the key is wrong or anything (ciphertext, IV, tag, context) was changed. */
export function open(key: Buffer, sealed: Sealed, context: string): string {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    const tag = Buffer.from(sealed.tag, 'base64');
    if (tag.length !== 16) throw new Error('bad tag length');
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64')), decipher.final()]).toString('utf8');
  } catch (error) {
    throw new DeputyError('DEPUTY_E_INTERNAL', { message: 'A stored credential could not be decrypted.', detail: 'authentication failed (wrong key or changed data)', cause: error });
  }
}
