/**
 * Authoring in chat: a `.ps1` file sent to the bot becomes a new script or a new version of
 * one (after a card shows its parameters and the diff), `clone <script> to <tenant>`,
 * `new plan` (a form with a schedule picker), and `plans` with their buttons.
 *
 * The executor decides everything, as for the REST API: what it refuses, this refuses with the
 * executor's own message (the same reason a REST caller reads), never a guess of its own.
 */
import { z } from 'zod';
import {
  DeputyError,
  PLAN_COMMANDS,
  TARGET_FIELD,
  isDeputyError,
  type ActionView,
  type FieldValue,
  type FormField,
  type PlanView,
  type PrincipalView,
  type ScriptView,
} from '../../executor/contract/index.ts';
import { readFormValues } from '../../cards/form.ts';
import { normalizeFormValues } from '../../cards/form-values.ts';
import type { AuthoringForm, PlanItem, RowButton } from '../../cards/screens.ts';
import { parseData } from './card-data.ts';
import type { ExecutorApi } from './executor-api.ts';
import { MAX_SENT_FILE_BYTES } from './files.ts';
import type { Inbound, Screen, SentFileProblem } from './model.ts';
import { describeSchedule, pickedCron, pickerFields, pickerFor } from './schedule.ts';

export type AuthoringCommand = { kind: 'clone'; scriptId: string; tenant?: string; id?: string } | { kind: 'new-plan' } | { kind: 'plans' };

/** `clone <script> [to <tenant>] [as <id>]`, `new plan`, `plans`; anything else is not authoring. */
export function parseAuthoringCommand(text: string): AuthoringCommand | undefined {
  const words = text.trim().replace(/^\/?deputy\s+/i, '').split(/\s+/).filter(Boolean);
  const lower = words.map((word) => word.toLowerCase());
  if (lower.length === 1 && lower[0] === 'plans') return { kind: 'plans' };
  if (lower.length === 2 && lower[0] === 'new' && lower[1] === 'plan') return { kind: 'new-plan' };
  const clone = /^clone\s+(\S+)(?:\s+to\s+(\S+))?(?:\s+as\s+(\S+))?$/i.exec(words.join(' '));
  if (!clone) return undefined;
  const [, scriptId = '', tenant, id] = clone;
  return { kind: 'clone', scriptId, ...(tenant ? { tenant } : {}), ...(id ? { id } : {}) };
}

export const AUTHORING_VERBS = ['create-script', 'save-script-version', 'new-plan', 'save-plan', 'plan-command', 'show-plans'] as const;
export type AuthoringVerb = (typeof AUTHORING_VERBS)[number];

export function isAuthoringVerb(verb: string): verb is AuthoringVerb {
  return (AUTHORING_VERBS as readonly string[]).includes(verb);
}

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const Id = z.string().min(1).max(200);
const CreateScriptData = z.object({ upload: Sha256, id: Id, name: z.string().min(1).max(200), tenant: Id });
const SaveVersionData = z.object({ upload: Sha256, scriptId: Id, basedOn: Sha256 });
const NewPlanData = z.object({ actionId: Id.optional(), planId: Id.optional() });
const SavePlanData = z.object({ actionId: Id, planId: Id.optional(), values: z.record(z.string(), z.unknown()).optional() });
const PlanCommandData = z.object({ planId: Id, command: z.enum([...PLAN_COMMANDS.filter((command) => command !== 'apply'), 'delete']) });

/** The plan form's own fields; an action's parameters (PowerShell names, never with a dot) follow them. */
const PLAN_FIELD = { id: 'plan.id', targets: 'plan.targets', workloads: 'plan.workloads' } as const;

const FILE_PROBLEMS: Record<SentFileProblem, string> = {
  'too-large': `That file is larger than ${MAX_SENT_FILE_BYTES / 1024} KiB; a script must be smaller.`,
  'not-text': 'That file is not UTF-8 text, so it cannot be a PowerShell script.',
  unreadable: 'That file could not be downloaded from the chat service. Please send it again.',
};

const COMMAND_NOTICES: Record<z.infer<typeof PlanCommandData>['command'], (plan: string) => string> = {
  enable: (plan) => `Plan ${plan} enabled.`,
  disable: (plan) => `Plan ${plan} disabled.`,
  stop: (plan) => `Plan ${plan}: its running runs were stopped.`,
  revoke: (plan) => `Plan ${plan} revoked: it will not run again.`,
  run: (plan) => `Plan ${plan} started a run now.`,
  delete: (plan) => `Plan ${plan} deleted.`,
};

export interface AuthoringChatOptions {
  executor: ExecutorApi;
  /** The script card for a view (the core's, so a new script looks like any other). */
  scriptScreen: (view: ScriptView) => Screen;
}

type Submit = Extract<Inbound, { kind: 'submit' }>;

export class AuthoringChat {
  constructor(private readonly options: AuthoringChatOptions) {}

  async command(command: AuthoringCommand, principal: PrincipalView, correlationId: string): Promise<Screen> {
    switch (command.kind) {
      case 'plans':
        return this.planList(principal, correlationId);
      case 'new-plan':
        return this.choosePlanAction(principal, correlationId);
      case 'clone': {
        const tenant = command.tenant ?? principal.tenant;
        const id = command.id ?? `${command.scriptId}-${tenant}`.slice(0, 80);
        return this.refusalOr(correlationId, async () =>
          this.options.scriptScreen(await this.options.executor.cloneScript(command.scriptId, { principalId: principal.id, tenant, id }, { correlationId })),
        );
      }
    }
  }

  /** A file sent to the bot: a script becomes a card offering what it may become. */
  async file(event: Extract<Inbound, { kind: 'file' }>, principal: PrincipalView, correlationId: string): Promise<Screen> {
    const { file } = event;
    if ('problem' in file) return { screen: 'notice', text: FILE_PROBLEMS[file.problem] };
    if (!/\.ps1$/i.test(file.name)) return { screen: 'notice', text: 'Send a PowerShell script (a .ps1 file) to make it a new script, or a new version of one.' };
    return this.refusalOr(correlationId, async () => ({
      screen: 'script-upload',
      preview: await this.options.executor.previewScript({ principalId: principal.id, fileName: file.name, text: file.text }, { correlationId }),
    }));
  }

  async submit(event: Submit, verb: AuthoringVerb, principal: PrincipalView, correlationId: string): Promise<Screen> {
    const { executor, scriptScreen } = this.options;
    const call = { correlationId };
    switch (verb) {
      case 'create-script': {
        const { upload, id, name, tenant } = parseData(CreateScriptData, event.data);
        return this.refusalOr(correlationId, async () => scriptScreen(await executor.createScript({ principalId: principal.id, tenant, id, name, upload }, call)));
      }
      case 'save-script-version': {
        const { upload, scriptId, basedOn } = parseData(SaveVersionData, event.data);
        return this.refusalOr(correlationId, async () => scriptScreen(await executor.newScriptVersion(scriptId, { principalId: principal.id, basedOn, upload }, call)));
      }
      case 'show-plans':
        return this.planList(principal, correlationId);
      case 'new-plan': {
        const { actionId, planId } = parseData(NewPlanData, event.data);
        if (planId !== undefined) {
          const plan = await this.plan(principal, planId, correlationId);
          return this.refusalOr(correlationId, async () => this.planForm(principal, await this.action(principal, plan.actionId, correlationId), plan));
        }
        if (actionId === undefined) return this.choosePlanAction(principal, correlationId);
        return this.refusalOr(correlationId, async () => this.planForm(principal, await this.action(principal, actionId, correlationId)));
      }
      case 'save-plan':
        return this.savePlan(event, principal, correlationId);
      case 'plan-command': {
        const { planId, command } = parseData(PlanCommandData, event.data);
        return this.refusalOr(correlationId, async () => {
          if (command === 'delete') await executor.deletePlan(planId, principal.id, call);
          else await executor.planCommand(planId, command, { principalId: principal.id }, call);
          return this.planList(principal, correlationId, COMMAND_NOTICES[command](planId));
        });
      }
    }
  }

  // ------------------------------------------------------------------ plans

  private async planList(principal: PrincipalView, correlationId: string, notice?: string): Promise<Screen> {
    const [plans, actions] = await Promise.all([
      this.options.executor.listPlans(principal.id, { correlationId }),
      this.options.executor.listActions(principal.id, { correlationId }),
    ]);
    return {
      screen: 'plan-list',
      heading: 'Scripting plans',
      plans: plans.map((plan) => planItem(plan, principal)),
      ...(notice ? { notice } : {}),
      emptyText: actions.length > 0 ? 'There are no plans you may see yet. “New plan” runs one of your actions on a schedule.' : 'There are no plans you may see.',
      mayCreate: actions.length > 0,
    };
  }

  /** Step one of a new plan: which action it runs (the actions this person may run). */
  private async choosePlanAction(principal: PrincipalView, correlationId: string): Promise<Screen> {
    const actions = await this.options.executor.listActions(principal.id, { correlationId });
    return {
      screen: 'item-list',
      heading: 'New plan: which action should it run?',
      sections: [
        {
          title: 'Your actions',
          items: actions.map((action) => ({ title: action.title, detail: action.description ?? action.id, open: { verb: 'new-plan', data: { actionId: action.id } } })),
        },
      ],
      emptyText: 'You have no actions a plan could run.',
      refresh: { verb: 'new-plan', data: {} },
    };
  }

  /** Step two: the schedule (picker and cron), the targets and the action's inputs. */
  private planForm(principal: PrincipalView, action: ActionView, plan?: PlanView, shown?: { values: Record<string, unknown>; errors: Record<string, string> }): Screen {
    const picked = pickerFor(plan?.schedule);
    // The plan's own field says where it runs; the action's target choice is not asked per run.
    const asked = action.form.fields.filter((field) => field.kind !== 'secret' && field.name !== TARGET_FIELD);
    const secrets = action.form.fields.filter((field) => field.kind === 'secret').map((field) => field.label);
    const fields: FormField[] = [
      ...(plan ? [] : [{ name: PLAN_FIELD.id, label: 'Plan id', hint: 'Letters, digits, dot, dash or underscore.', kind: 'text' as const, psType: 'string', required: true, default: `${action.id}-${principal.id}`.slice(0, 80) }]),
      ...pickerFields(picked),
      action.targets && action.targets.length > 0
        ? {
            name: PLAN_FIELD.targets,
            label: 'Targets',
            hint: 'The target systems each run goes to.',
            kind: 'multi' as const,
            psType: 'string[]',
            required: true,
            choices: action.targets.map((target) => target.id),
            ...(plan && plan.targets.length > 0 ? { default: plan.targets } : {}),
          }
        : {
            name: PLAN_FIELD.workloads,
            label: 'Workloads',
            hint: 'The machines or accounts the plan applies to, one per line (as a user: your own).',
            kind: 'multi' as const,
            psType: 'string[]',
            required: false,
            ...(plan && plan.workloads.length > 0 ? { default: plan.workloads } : {}),
          },
      ...asked.map((field) => {
        const current = plan?.inputs[field.name];
        return current === undefined ? field : { ...field, default: current };
      }),
    ];
    const notes = [
      `Runs “${action.title}” as you (${principal.name}), in tenant ${plan?.tenant ?? principal.tenant}. Every run is checked again like any request.`,
      ...(plan?.schedule ? [`Now: ${describeSchedule(plan.schedule)}.`] : []),
      ...(plan && plan.principalId !== principal.id ? [`Saving makes you the plan’s principal: it runs as you from then on, not as ${plan.principalId}.`] : []),
      ...(secrets.length > 0 ? [`The action asks for a secret (${secrets.join(', ')}), which a plan cannot hold.`] : []),
    ];
    const form: AuthoringForm = {
      title: plan ? `Edit plan ${plan.id}` : `New plan: ${action.title}`,
      intro: 'Pick when it runs; the cron pattern it makes is shown once you save.',
      notes,
      fields,
      submit: { verb: 'save-plan', title: plan ? 'Save plan' : 'Create plan', data: { actionId: action.id, ...(plan ? { planId: plan.id } : {}) } },
      reopen: { verb: 'new-plan', data: plan ? { planId: plan.id } : { actionId: action.id } },
    };
    return { screen: 'authoring-form', form, ...(shown ? { values: shown.values, errors: shown.errors } : {}) };
  }

  private async savePlan(event: Submit, principal: PrincipalView, correlationId: string): Promise<Screen> {
    const { executor } = this.options;
    const data = parseData(SavePlanData, event.data);
    const plan = data.planId === undefined ? undefined : await this.plan(principal, data.planId, correlationId);
    const action = await this.action(principal, data.actionId, correlationId);
    const screen = this.planForm(principal, action, plan);
    if (screen.screen !== 'authoring-form') return screen;
    const form = { fields: screen.form.fields };
    const values: Record<string, FieldValue> = data.values === undefined ? readFormValues(form, event.data) : normalizeFormValues(form, data.values);
    const again = (errors: Record<string, string>) => this.planForm(principal, action, plan, { values, errors });

    const picked = pickedCron(values);
    if ('errors' in picked) return again(picked.errors);
    const inputs = Object.fromEntries(Object.entries(values).filter(([name]) => !name.includes('.')));
    const targets = values[PLAN_FIELD.targets];
    const workloads = values[PLAN_FIELD.workloads];
    const definition = {
      principalId: principal.id,
      action: action.id,
      schedule: picked.cron,
      inputs,
      ...(Array.isArray(targets) ? { targets } : {}),
      ...(Array.isArray(workloads) ? { workloads } : {}),
    };
    try {
      const saved = plan
        ? await executor.updatePlan(plan.id, definition, { correlationId })
        : await executor.createPlan({ ...definition, id: String(values[PLAN_FIELD.id] ?? '') }, { correlationId });
      const next = saved.nextRunAt ? ` Next run: ${saved.nextRunAt.slice(0, 16).replace('T', ' ')} UTC.` : '';
      return this.planList(principal, correlationId, `Plan ${saved.id} ${plan ? 'saved' : 'created'}: runs ${describeSchedule(picked.cron)} as you.${next}`);
    } catch (error) {
      if (!isDeputyError(error) || error.status >= 500) throw error;
      // The executor's reasons, on the form that caused them, with what the person typed kept.
      return again(formErrors(error.fields, error.message, picked.cron));
    }
  }

  private async plan(principal: PrincipalView, planId: string, correlationId: string): Promise<PlanView> {
    const plan = (await this.options.executor.listPlans(principal.id, { correlationId })).find((candidate) => candidate.id === planId);
    if (!plan) throw new DeputyError('DEPUTY_E_NOT_FOUND', { detail: `plan ${planId} is not among ${principal.id}'s plans` });
    return plan;
  }

  private async action(principal: PrincipalView, actionId: string, correlationId: string): Promise<ActionView> {
    const action = (await this.options.executor.listActions(principal.id, { correlationId })).find((candidate) => candidate.id === actionId);
    if (!action) throw new DeputyError('DEPUTY_E_NOT_FOUND', { detail: `action ${actionId} is not among ${principal.id}'s actions` });
    return action;
  }

  /** Runs `work`; a refusal by the executor becomes an error card with the executor's own message. */
  private async refusalOr(correlationId: string, work: () => Promise<Screen>): Promise<Screen> {
    try {
      return await work();
    } catch (error) {
      if (!isDeputyError(error) || error.status >= 500) throw error;
      return { screen: 'error', message: error.message, correlationId };
    }
  }
}

/** The executor's field names on the plan form's inputs (`inputs.X` is the parameter X); the rest for the whole form. */
function formErrors(fields: Record<string, string> | undefined, message: string, cron: string): Record<string, string> {
  const errors: Record<string, string> = {};
  const rest: string[] = [];
  for (const [key, text] of Object.entries(fields ?? {})) {
    if (key.startsWith('inputs.')) errors[key.slice('inputs.'.length)] = text;
    else if (key === 'id') errors[PLAN_FIELD.id] = text;
    else if (key.startsWith('targets')) errors[PLAN_FIELD.targets] = text;
    else if (key.startsWith('workloads')) errors[PLAN_FIELD.workloads] = text;
    else if (key === 'schedule') rest.push(`The schedule (cron ${cron}) is not valid: ${text}`);
    else rest.push(text);
  }
  if (rest.length > 0 || Object.keys(errors).length === 0) errors._form = rest.length > 0 ? rest.join(' ') : message;
  return errors;
}

function planItem(plan: PlanView, viewer: PrincipalView): PlanItem {
  const state = plan.revoked ? 'revoked' : plan.enabled ? 'enabled' : 'disabled';
  const when = plan.schedule ? describeSchedule(plan.schedule) : plan.trigger ? `when connector ${plan.trigger.connector} is called` : 'never';
  const lines = [
    `Runs ${when}${plan.nextRunAt ? ` · next run ${plan.nextRunAt.slice(0, 16).replace('T', ' ')} UTC` : ''}`,
    `As ${plan.principalId === viewer.id ? 'you' : plan.principalId} · tenant ${plan.tenant} · ${state} · script ${plan.status}`,
    ...(plan.targets.length > 0 ? [`Targets: ${plan.targets.join(', ')}`] : []),
    ...(plan.workloads.length > 0 ? [`Workloads: ${plan.workloads.join(', ')}`] : []),
    ...(Object.keys(plan.inputs).length > 0 ? [`Inputs: ${Object.entries(plan.inputs).map(([name, value]) => `${name}=${Array.isArray(value) ? value.join(',') : String(value)}`).join(', ')}`] : []),
    ...(plan.fromTenantAbove ? ['From a tenant above yours: read-only for you.'] : []),
  ];
  const may = new Set(plan.allowed);
  const command = (title: string, name: string, style?: RowButton['style']): RowButton => ({ title, verb: 'plan-command', data: { planId: plan.id, command: name }, ...(style ? { style } : {}) });
  const buttons: RowButton[] = [
    ...(may.has('run') && !plan.revoked ? [command('Run now', 'run', 'positive')] : []),
    ...(may.has('enable') && !plan.enabled && !plan.revoked ? [command('Enable', 'enable')] : []),
    ...(may.has('disable') && plan.enabled ? [command('Disable', 'disable')] : []),
    ...(may.has('stop') ? [command('Stop runs', 'stop')] : []),
    ...(may.has('edit') && !plan.trigger ? [{ title: 'Edit', verb: 'new-plan' as const, data: { planId: plan.id } }] : []),
    ...(may.has('revoke') && !plan.revoked ? [command('Revoke', 'revoke', 'destructive')] : []),
    ...(may.has('delete') ? [command('Delete', 'delete', 'destructive')] : []),
  ];
  return { id: plan.id, title: `${plan.id}: ${plan.actionTitle ?? plan.actionId}`, lines, buttons };
}
