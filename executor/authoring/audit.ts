/**
 * Every authoring request is one audit entry, allowed or denied, naming who asked, through
 * which token, what it was about and (for scripts) the hashes involved.
 */
import { DeputyError } from '../contract/index.ts';
import type { Principal } from '../domain.ts';
import { deniedError, type Denied } from '../policy/index.ts';
import type { RequestContext } from '../runs/service.ts';
import type { AuditLog, CatalogStore } from '../store/port.ts';

export interface Attempt {
  /** `script.create`, `action.update`, `plan.delete`… */
  type: string;
  actor: string;
  subject: string;
  context: RequestContext;
}

export interface AttemptRecorder {
  /** Audits the refusal and throws it. */
  refuse(error: DeputyError, detail?: Record<string, unknown>): Promise<never>;
  /** Audits a policy refusal (its reason for the log, its message for the person) and throws it. */
  deny(decision: Denied, detail?: Record<string, unknown>): Promise<never>;
  allowed(detail: Record<string, unknown>): Promise<void>;
}

export function recordAttempt(audit: AuditLog, attempt: Attempt): AttemptRecorder {
  const append = (outcome: 'allowed' | 'denied', detail: Record<string, unknown>) =>
    audit.append({
      type: attempt.type,
      outcome,
      correlationId: attempt.context.correlationId,
      actor: attempt.actor,
      via: attempt.context.via,
      subject: attempt.subject,
      detail,
    });
  const refuse = async (error: DeputyError, detail: Record<string, unknown> = {}): Promise<never> => {
    await append('denied', { ...detail, code: error.code, reason: error.detail ?? error.message });
    throw error;
  };
  return {
    refuse,
    deny: (decision, detail) => refuse(deniedError(decision), detail),
    allowed: async (detail) => {
      await append('allowed', detail);
    },
  };
}

/** A registry error whose message is written for the person who asked. */
export function refusal(code: ConstructorParameters<typeof DeputyError>[0], message: string, detail?: string, fields?: Record<string, string>): DeputyError {
  return new DeputyError(code, { message, ...(detail ? { detail } : {}), ...(fields ? { fields } : {}) });
}

/** The principal a request names; an unknown one is refused (and audited) as not enrolled. */
export async function knownPrincipal(catalog: Pick<CatalogStore, 'getPrincipal'>, attempt: AttemptRecorder, principalId: string): Promise<Principal> {
  const principal = catalog.getPrincipal(principalId);
  return principal ?? attempt.refuse(new DeputyError('DEPUTY_E_NOT_ENROLLED', { detail: `unknown principal ${principalId}` }));
}
