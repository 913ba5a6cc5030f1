/** A button's or form's data, checked against what the verb expects; anything else is a malformed request. */
import type { z } from 'zod';
import { DeputyError } from '../../executor/contract/index.ts';

export function parseData<T extends z.ZodType>(schema: T, data: Record<string, unknown>): z.infer<T> {
  const result = schema.safeParse(data);
  if (!result.success) throw new DeputyError('DEPUTY_E_BAD_REQUEST', { detail: `card data: ${result.error.message}` });
  return result.data;
}
