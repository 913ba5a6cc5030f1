/**
 * Read, change, compare-and-set: a change to a shared record (a plan's state, a script's review)
 * that another executor may be changing at the same moment. When it was, the change is made
 * again on what that executor wrote, so neither change is lost.
 */
import { DeputyError } from '../contract/index.ts';
import type { RecordMap } from './state-port.ts';

/** More rounds than this means something rewrites the record without pause: give up rather than spin. */
const MAX_ROUNDS = 20;

/**
 * Applies `change` to the stored value (undefined: none yet) and stores its result; `change`
 * returning undefined writes nothing. Resolves with what was written (or undefined), durable.
 */
export async function updateRecord<T>(map: RecordMap<T>, key: string, change: (current: T | undefined) => T | undefined): Promise<T | undefined> {
  for (let round = 0; round < MAX_ROUNDS; round += 1) {
    const stored = await map.get(key);
    const next = change(stored?.value);
    if (next === undefined) return undefined;
    if ((await map.compareAndSet(key, stored?.revision, next)) !== undefined) return next;
  }
  throw new DeputyError('DEPUTY_E_BUSY', { detail: `record ${key} kept changing while it was being updated` });
}
