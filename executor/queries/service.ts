/**
 * Choices from queries: a field of an action whose choices a query gives. The query runs
 * through the same policy and runner as an action, for the person who opens the form (never
 * as someone else): the policy decides, the runner runs the query script with its inputs as
 * parameters on stdin (a `$form.<field>` input takes that field's value, as data, never as
 * source text), and the answer is kept per person, version and inputs for `cacheSeconds`.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { LRUCache } from 'lru-cache';
import type { Clock } from '../../lib/clock.ts';
import { ttlCache } from '../../lib/ttl-cache.ts';
import { newId } from '../../lib/ids.ts';
import { DeputyError, type Choice, type ChoiceList, type FormField } from '../contract/index.ts';
import { RUN_DATA_PLACEHOLDER } from '../catalog/actions.ts';
import { validateInputs } from '../catalog/inputs.ts';
import { FORM_REFERENCE, type Action, type ChoiceBinding, type Query } from '../domain.ts';
import { dependenciesOf } from '../catalog/queries.ts';
import type { Decision } from '../policy/policy.ts';
import { queryVersion } from '../policy/versions.ts';
import type { Runner } from '../pwsh/types.ts';
import type { ChoiceChecker, RequestContext } from '../runs/service.ts';
import type { ExecutorStore } from '../store/state-port.ts';
import { choicesFromOutput, filterChoices } from './choices.ts';

export interface ChoiceServiceOptions {
  store: ExecutorStore;
  policy: { mayRunQuery(principalId: string, actionId: string, queryId: string): Decision };
  runner: Runner;
  clock: Clock;
  logger: Logger;
  /** Query runs at once across everyone (default 4); more wait for a free slot. */
  concurrency?: number;
  /** Answers kept (default 500); the least recently used goes first. */
  cacheEntries?: number;
  /** Substituted for `{runDataDir}` in a query's constant inputs (administrator data, never a form's value). */
  runDataDir?: string;
}


type Inputs = { ok: true; values: Record<string, unknown> } | { ok: false; waitingFor: string[] };

const QUERY_LIMITS = { maxOutputBytes: 4 * 1024 * 1024, maxRecords: 20_000 };

export class ChoiceService implements ChoiceChecker {
  /** Answers by person, query version and inputs, each kept for its query's `cacheSeconds`. */
  private readonly answers: LRUCache<string, Choice[]>;
  /** One run per key at a time: a second request for the same answer waits for the first. */
  private readonly running = new Map<string, Promise<Choice[]>>();
  private readonly slots: Array<() => void> = [];
  private busy = 0;

  constructor(private readonly options: ChoiceServiceOptions) {
    // Each answer is set with its own query's time to live; this default is never used alone.
    this.answers = ttlCache(options.clock, { ttlMs: 60_000, max: options.cacheEntries ?? 500 });
  }

  /**
   * `GET /v1/actions/<id>/choices/<param>`: the choices of one field for one person, given the
   * values of the fields they depend on, narrowed by `search`.
   */
  async list(
    actionId: string,
    parameter: string,
    request: { principalId: string; search?: string; form: Record<string, unknown> },
    context: RequestContext,
  ): Promise<ChoiceList> {
    const { store } = this.options;
    const action = store.catalog.getAction(actionId);
    const field = action ? Object.keys(action.choices ?? {}).find((name) => name.toLowerCase() === parameter.toLowerCase()) : undefined;
    const binding = action && field ? action.choices?.[field] : undefined;
    const audit = (outcome: 'allowed' | 'denied', detail: Record<string, unknown>) =>
      store.audit.append({ type: 'choices.list', outcome, correlationId: context.correlationId, actor: request.principalId, via: context.via, subject: actionId, detail: { parameter, ...detail } });
    if (!action || !field || !binding) {
      await audit('denied', { reason: 'no such query-bound field' });
      throw new DeputyError('DEPUTY_E_NOT_FOUND', { detail: `action ${actionId} has no query-bound field ${parameter}` });
    }
    const decision = this.options.policy.mayRunQuery(request.principalId, action.id, binding.query);
    if (!decision.allowed) {
      await audit('denied', { query: binding.query, reason: decision.reason, code: decision.code });
      throw new DeputyError(decision.code, { detail: decision.reason });
    }
    const foreign = await this.foreignSources(action, field, request.principalId, request.form, context);
    if (Object.keys(foreign).length > 0) {
      await audit('denied', { query: binding.query, reason: 'a field it depends on is not among its choices', fields: Object.keys(foreign) });
      throw new DeputyError('DEPUTY_E_VALIDATION', { fields: foreign, detail: `choices of ${actionId}.${field}: ${JSON.stringify(foreign)}` });
    }
    const answer = await this.answer(action, field, request.principalId, request.form, context);
    if ('waitingFor' in answer) {
      await audit('allowed', { query: binding.query, waitingFor: answer.waitingFor, count: 0 });
      return { choices: [], waitingFor: answer.waitingFor };
    }
    const choices = filterChoices(answer.choices, request.search);
    await audit('allowed', { query: binding.query, cached: answer.cached, count: choices.length });
    return { choices };
  }

  /** Before a run: each value of a query-bound field must be one its query offers this person now. */
  async check(action: Action, principalId: string, values: Record<string, unknown>, context: RequestContext): Promise<Record<string, string>> {
    const problems: Record<string, string> = {};
    for (const [field, binding] of Object.entries(action.choices ?? {})) {
      const given = values[field];
      if (given === undefined || field in action.fixed) continue;
      const decision = this.options.policy.mayRunQuery(principalId, action.id, binding.query);
      if (!decision.allowed) throw new DeputyError(decision.code, { detail: decision.reason });
      const answer = await this.answer(action, field, principalId, values, context);
      const offered = new Set('choices' in answer ? answer.choices.map((choice) => choice.value) : []);
      const entries = Array.isArray(given) ? given.map(String) : [String(given)];
      const label = this.labelOf(action, field);
      const foreign = entries.filter((entry) => !offered.has(entry));
      if (foreign.length > 0) problems[field] = `${label}: "${foreign[0]}" is not one of the choices offered.`;
    }
    return problems;
  }

  // ------------------------------------------------------------------ internals

  /**
   * The fields `field`'s query takes a value from (`$form.<field>`, also through another such
   * field) whose own choices come from a query: each value given must be one that query offers
   * this person, as a run checks. Else the
   * list would run a query on a value the person could never submit (another office, another
   * tenant's accounts) and show what it answers. Bindings have no cycle (checked at import).
   */
  private async foreignSources(action: Action, field: string, principalId: string, form: Record<string, unknown>, context: RequestContext): Promise<Record<string, string>> {
    // Every query-bound field the list depends on, also through another (A ← B ← C).
    const sources: string[] = [];
    for (let next = [field]; next.length > 0; ) {
      const found = next.flatMap((name) => {
        const binding = action.choices?.[name];
        return binding ? dependenciesOf(binding).filter((source) => action.choices?.[source] !== undefined && !sources.includes(source)) : [];
      });
      sources.push(...found);
      next = found;
    }
    const given = Object.fromEntries(
      sources.flatMap((source) => {
        const value = Object.entries(form).find(([key]) => key.toLowerCase() === source.toLowerCase())?.[1];
        return value === undefined || value === null || value === '' ? [] : [[source, value] as const];
      }),
    );
    return Object.keys(given).length === 0 ? {} : this.check({ ...action, choices: Object.fromEntries(Object.keys(given).map((source) => [source, action.choices?.[source] as ChoiceBinding])) }, principalId, { ...form, ...given }, context);
  }

  private labelOf(action: Action, field: string): string {
    const script = this.options.store.catalog.getScript(action.scriptId);
    const version = script ? this.options.store.catalog.getVersion(script.currentHash) : undefined;
    return version?.parameters.find((candidate) => candidate.name === field)?.label ?? field;
  }

  private async answer(
    action: Action,
    field: string,
    principalId: string,
    form: Record<string, unknown>,
    context: RequestContext,
  ): Promise<{ choices: Choice[]; cached: boolean } | { waitingFor: string[] }> {
    const { store } = this.options;
    const binding = action.choices?.[field];
    const query = binding ? store.catalog.getQuery(binding.query) : undefined;
    const script = query ? store.catalog.getScript(query.scriptId) : undefined;
    const version = script ? store.catalog.getVersion(queryVersion(script).hash) : undefined;
    if (!binding || !query || !version) throw new DeputyError('DEPUTY_E_NOT_FOUND', { detail: `query ${binding?.query ?? '?'} of ${action.id}.${field} cannot be resolved to a script version` });
    const inputs = this.inputsFor(query, binding.inputs, form, version.parameters);
    if (!inputs.ok) return { waitingFor: inputs.waitingFor };
    const key = createHash('sha256').update(JSON.stringify([query.id, version.hash, principalId, sortedEntries(inputs.values)])).digest('hex');
    const kept = this.answers.get(key);
    if (kept) return { choices: kept, cached: true };
    let pending = this.running.get(key);
    if (!pending) {
      pending = this.run(query, version, principalId, action, inputs.values, context).finally(() => this.running.delete(key));
      this.running.set(key, pending);
    }
    const choices = await pending;
    if (query.cacheSeconds > 0) this.answers.set(key, choices, { ttl: query.cacheSeconds * 1000 });
    return { choices, cached: false };
  }

  /**
   * The query's parameters: its own inputs, then the binding's, a `$form.<field>` taking that
   * field's value. A field not filled in yet leaves the list waiting for it when the query
   * needs that input; the values are checked against the query script's parameters.
   */
  private inputsFor(query: Query, bound: Record<string, unknown>, form: Record<string, unknown>, fields: readonly FormField[]): Inputs {
    const values: Record<string, unknown> = Object.fromEntries(Object.entries(query.inputs).map(([name, value]) => [name, this.expandRunData(value)]));
    const waitingFor: string[] = [];
    const sourceOf = new Map<string, string>();
    for (const [name, value] of Object.entries(bound)) {
      const reference = typeof value === 'string' ? FORM_REFERENCE.exec(value) : null;
      if (!reference) {
        values[name] = this.expandRunData(value);
        continue;
      }
      const source = reference[1] as string;
      const given = Object.entries(form).find(([key]) => key.toLowerCase() === source.toLowerCase())?.[1];
      sourceOf.set(name, source);
      if (given === undefined || given === null || given === '' || (Array.isArray(given) && given.length === 0)) {
        if (fields.find((field) => field.name === name)?.required) waitingFor.push(source);
        continue;
      }
      values[name] = given;
    }
    if (waitingFor.length > 0) return { ok: false, waitingFor };
    const checked = validateInputs(fields, values);
    if (!checked.ok) {
      // Name the form's field where the value came from one.
      const fieldsOfForm = Object.fromEntries(Object.entries(checked.fields).map(([name, message]) => [sourceOf.get(name) ?? name, message]));
      throw new DeputyError('DEPUTY_E_VALIDATION', { fields: fieldsOfForm, detail: `query ${query.id} inputs: ${JSON.stringify(checked.fields)}` });
    }
    return { ok: true, values: checked.values };
  }

  private async run(query: Query, version: { hash: string; text: string; parameters: FormField[]; usesSrxEnv?: boolean }, principalId: string, action: Action, parameters: Record<string, unknown>, context: RequestContext): Promise<Choice[]> {
    const { runner, store, logger, clock } = this.options;
    await this.acquire();
    const started = clock.now();
    try {
      const principal = store.catalog.getPrincipal(principalId);
      const secretParameters = version.parameters.filter((field) => field.kind === 'secret').map((field) => field.name);
      const result = await runner.execute({
        runId: newId('query'),
        requester: principalId,
        scriptText: version.text,
        scriptHash: version.hash,
        parameters,
        secretParameters,
        runAs: query.runAs,
        timeoutMs: query.timeoutSeconds * 1000,
        limits: QUERY_LIMITS,
        // A query script written for ScriptRunner fills ResultList; every query may use it.
        srx: {
          startedBy: principal?.email ?? principalId,
          startedReason: `Choices for "${action.title}" requested for ${principal?.name ?? principalId}`,
          displayName: query.id,
          actionId: action.id,
          scriptName: store.catalog.getScript(query.scriptId)?.name ?? query.scriptId,
        },
      });
      const failed = result.outcome !== 'succeeded';
      const choices = failed ? [] : choicesFromOutput(result.records, result.srx);
      await store.audit.append({
        type: 'query.run',
        outcome: failed ? 'error' : 'info',
        correlationId: context.correlationId,
        actor: principalId,
        via: context.via,
        subject: query.id,
        detail: { action: action.id, scriptHash: version.hash, outcome: result.outcome, durationMs: clock.now() - started, count: choices.length, ...(result.srx?.listCut ? { listCut: true } : {}) },
      });
      if (failed) {
        logger.warn({ query: query.id, outcome: result.outcome, errors: result.summary.errors, correlationId: context.correlationId }, 'query failed');
        throw new DeputyError('DEPUTY_E_QUERY_FAILED', { detail: `query ${query.id}: ${result.outcome}: ${result.summary.errors.join(' | ')}` });
      }
      return choices;
    } finally {
      this.release();
    }
  }

  private expandRunData(value: unknown): unknown {
    const runDataDir = this.options.runDataDir;
    if (runDataDir === undefined) return value;
    if (typeof value === 'string') return value.split(RUN_DATA_PLACEHOLDER).join(runDataDir);
    if (Array.isArray(value)) return value.map((item) => this.expandRunData(item));
    return value;
  }

  private async acquire(): Promise<void> {
    if (this.busy < (this.options.concurrency ?? 4)) {
      this.busy++;
      return;
    }
    await new Promise<void>((resolve) => this.slots.push(resolve));
  }

  private release(): void {
    const next = this.slots.shift();
    if (next) next();
    else this.busy--;
  }
}

function sortedEntries(values: Record<string, unknown>): [string, unknown][] {
  return Object.entries(values).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
