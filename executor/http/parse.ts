/** A request's body or query checked against its contract schema; what does not fit is a 400 naming each field. */
import type { ZodType } from 'zod';
import { DeputyError } from '../contract/index.ts';

export function parseRequest<T>(schema: ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const fields = Object.fromEntries(result.error.issues.map((issue) => [issue.path.join('.') || '_body', issue.message]));
  throw new DeputyError('DEPUTY_E_BAD_REQUEST', { fields, detail: JSON.stringify(fields) });
}
