/**
 * A stored credential as sealed by the vault: ciphertext, IV and tag (AES-256-GCM), the id of
 * the key that sealed it, and metadata. Never a value, never a key.
 */
import { z } from 'zod';
import { IdSchema } from '../domain.ts';

export const CredentialRecordSchema = z.object({
  id: IdSchema,
  tenant: IdSchema,
  kind: z.enum(['secret', 'pscredential']),
  username: z.string().optional(),
  ciphertext: z.string(),
  iv: z.string(),
  tag: z.string(),
  keyId: z.string(),
  version: z.number().int().min(1),
  rotatedAt: z.string(),
});
export type CredentialRecord = z.infer<typeof CredentialRecordSchema>;
