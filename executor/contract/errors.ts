/**
 * The one error registry. Each code has an HTTP status and a message fit for a chat user;
 * internal detail goes to the log under the correlation id, never into the message.
 */
export const ERRORS = {
  DEPUTY_E_UNAUTHENTICATED: { status: 401, message: 'The request is not authenticated.' },
  DEPUTY_E_SIGNATURE: { status: 401, message: 'The request signature is missing, invalid or too old.' },
  DEPUTY_E_REPLAY: { status: 409, message: 'This signed request was already received; each new request must be signed anew.' },
  DEPUTY_E_NOT_ENROLLED: { status: 403, message: 'You are not enrolled in Deputy. Ask your administrator to add you.' },
  DEPUTY_E_FORBIDDEN: { status: 403, message: 'You are not allowed to do that.' },
  DEPUTY_E_SELF_APPROVAL: { status: 403, message: 'You cannot approve your own request; another approver must decide.' },
  DEPUTY_E_NOT_FOUND: { status: 404, message: 'That item does not exist or is not visible to you.' },
  DEPUTY_E_VALIDATION: { status: 400, message: 'Some values are not valid. Please check the highlighted fields.' },
  DEPUTY_E_BAD_REQUEST: { status: 400, message: 'The request is malformed.' },
  DEPUTY_E_CONFLICT: { status: 409, message: 'That is not possible in the current state.' },
  DEPUTY_E_EXPIRED: { status: 410, message: 'This request has expired.' },
  DEPUTY_E_PAYLOAD_TOO_LARGE: { status: 413, message: 'The request is too large.' },
  DEPUTY_E_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'The request body must be uncompressed JSON (Content-Type: application/json).' },
  DEPUTY_E_HOST_NOT_ALLOWED: { status: 421, message: 'This server does not answer to that host name.' },
  DEPUTY_E_BUSY: { status: 429, message: 'Deputy is busy right now. Please try again in a moment.' },
  DEPUTY_E_PWSH_MISSING: { status: 503, message: 'PowerShell is not available on the executor.' },
  DEPUTY_E_MODE_UNAVAILABLE: { status: 503, message: 'This action cannot run on this executor (its execution mode is unavailable).' },
  DEPUTY_E_EXECUTOR_UNREACHABLE: { status: 502, message: 'The executor cannot be reached right now.' },
  DEPUTY_E_TARGET_UNREACHABLE: { status: 502, message: 'The target system cannot be reached right now.' },
  DEPUTY_E_TARGET_REFUSED: { status: 502, message: 'The target system refused the connection or is not set up for Deputy.' },
  DEPUTY_E_CATALOG_INVALID: { status: 400, message: 'The catalog is invalid.' },
  DEPUTY_E_CONFIG_INVALID: { status: 500, message: 'The configuration is invalid.' },
  DEPUTY_E_INTERNAL: { status: 500, message: 'Something went wrong on our side.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[];

/**
 * An error that knows its code. `detail` is for the log only; `fields` carries per-field
 * validation messages a form can show next to its inputs.
 */
export class DeputyError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: string | undefined;
  readonly fields: Record<string, string> | undefined;

  constructor(
    code: ErrorCode,
    options: { message?: string; detail?: string; fields?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(options.message ?? ERRORS[code].message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DeputyError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.detail = options.detail;
    this.fields = options.fields;
  }
}

export function isDeputyError(value: unknown): value is DeputyError {
  return value instanceof DeputyError;
}
