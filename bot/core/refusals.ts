/**
 * What a refusal says in chat: the registry's sentence, and, where the rule is known from what
 * the person tried, which rule it was and what they can do about it. The executor's own reason
 * stays in the log (it names principals, tenants and roles); this says it in a person's words.
 */
import { ERRORS, type ErrorCode } from '../../executor/contract/index.ts';
import type { SubmitVerb } from '../../cards/screens.ts';

type Explanation = { message: string; hint?: string };

const FORBIDDEN: Partial<Record<SubmitVerb, Explanation>> = {
  'submit-form': {
    message: 'You are not allowed to run this action.',
    hint: 'Actions are assigned by role and tenant, and a script still in testing runs only for administrators. Type "help" to see what you may run now, or ask your administrator to assign this action to you.',
  },
  'open-form': {
    message: 'You are not allowed to run this action.',
    hint: 'Type "help" to see the actions assigned to you, or ask your administrator to assign this one.',
  },
  'cancel-run': {
    message: 'You are not allowed to cancel this run.',
    hint: 'A run is cancelled by the person who asked for it, or by an administrator of its tenant. Ask them, or wait for the run to end.',
  },
  'decide-run': {
    message: 'You are not allowed to decide this request.',
    hint: 'A four-eyes request is decided by a Cyber or Company administrator of its tenant, or by someone else who may run the action; never by the person who asked. Type "approvals" to see what waits for your decision.',
  },
  'decide-script': {
    message: 'You are not allowed to decide this script review.',
    hint: 'Only Cyber and Company administrators of the script’s tenant approve scripts. Type "approvals" to see what waits for you.',
  },
  'change-script-status': {
    message: 'You are not allowed to change this script’s status.',
    hint: 'Status changes are made by the script’s administrators. Ask a Cyber or Company administrator of its tenant.',
  },
};

const NOT_FOUND: Partial<Record<SubmitVerb, Explanation>> = {
  'open-form': { message: 'That action is not among yours (anymore).', hint: 'Type "help" to see the actions you may run now.' },
  'submit-form': { message: 'That action is not among yours (anymore).', hint: 'Type "help" to see the actions you may run now.' },
  'refresh-run': { message: 'That run does not exist or is not visible to you.', hint: 'Type "runs" to see your own recent runs.' },
  'show-run': { message: 'That run does not exist or is not visible to you.', hint: 'Type "runs" to see your own recent runs.' },
};

const GENERAL: Partial<Record<ErrorCode, string>> = {
  DEPUTY_E_SELF_APPROVAL: 'Another approver decides it; you can withdraw your request from its card until then.',
  DEPUTY_E_BUSY: 'Nothing was started. Try again in a minute.',
  DEPUTY_E_EXPIRED: 'Ask for it again if it is still needed.',
  DEPUTY_E_MODE_UNAVAILABLE: 'Nothing was started. Tell your administrator: the executor cannot provide this action’s execution mode.',
  DEPUTY_E_EXECUTOR_UNREACHABLE: 'Nothing was lost. Try again in a moment; if it persists, tell your administrator.',
};

export function explainRefusal(code: ErrorCode, verb: SubmitVerb | undefined): Explanation {
  const specific = verb === undefined ? undefined : code === 'DEPUTY_E_FORBIDDEN' ? FORBIDDEN[verb] : code === 'DEPUTY_E_NOT_FOUND' ? NOT_FOUND[verb] : undefined;
  if (specific) return specific;
  const hint = GENERAL[code];
  return { message: ERRORS[code].message, ...(hint ? { hint } : {}) };
}
