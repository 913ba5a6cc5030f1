/**
 * The executor's form model as a Slack modal, and the modal's submitted state back to values.
 *
 * Each field is one input block with `block_id = field:<name>` and `action_id = value`, so a
 * validation error for parameter `Name` is `errors['field:Name']` in `response_action: errors`.
 *
 * Secrets: Slack has no password input. A secret is a plain_text_input, so the characters are
 * visible while typed; Deputy never prefills it, never echoes it back (not on errors either,
 * Slack keeps what the user typed), and the executor masks it everywhere after submission.
 */
import type { types as slack } from '@slack/bolt';
import { z } from 'zod';
import type { ActionView, FormField } from '../../executor/contract/index.ts';
import { SLACK_LIMITS, escapeMrkdwn, modal, truncate } from './blocks.ts';

export const FORM_CALLBACK_ID = 'deputy:form';
export const FIELD_ACTION_ID = 'value';
export const FORM_ERROR_BLOCK_ID = 'form-error';

export function fieldBlockId(name: string): string {
  return `field:${name}`;
}

export const SECRET_HINT = 'Slack has no password field: what you type here is visible on your screen. Deputy never shows it again and masks it in every log.';

type Values = Record<string, unknown>;

/** The form as a modal; `values` prefill (kept across a re-render), `formError` shows above the fields. */
export function renderFormModal(
  action: ActionView,
  privateMetadata: string,
  options: { values?: Values; formError?: string } = {},
): slack.ModalView {
  const blocks: slack.KnownBlock[] = [];
  if (action.description) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: truncate(escapeMrkdwn(action.description), SLACK_LIMITS.sectionText) } });
  }
  if (options.formError) {
    blocks.push({ type: 'section', block_id: FORM_ERROR_BLOCK_ID, text: { type: 'mrkdwn', text: truncate(`:warning: ${escapeMrkdwn(options.formError)}`, SLACK_LIMITS.sectionText) } });
  }
  for (const field of action.form.fields) blocks.push(inputBlock(field, options.values?.[field.name] ?? field.default));
  if (action.form.fields.length === 0) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: 'This action needs no input. Press *Run* to start it.' } });
  }
  return modal(action.title, blocks, { privateMetadata, callbackId: FORM_CALLBACK_ID, submit: 'Run' });
}

function inputBlock(field: FormField, value: unknown): slack.InputBlock {
  const hint = hintFor(field);
  return {
    type: 'input',
    block_id: fieldBlockId(field.name),
    label: { type: 'plain_text', text: truncate(field.label || field.name, SLACK_LIMITS.label), emoji: true },
    // A toggle left off sends no selection; it must never count as "missing".
    optional: field.kind === 'toggle' ? true : !field.required,
    ...(hint ? { hint: { type: 'plain_text', text: truncate(hint, SLACK_LIMITS.hint) } } : {}),
    element: elementFor(field, value),
  };
}

function hintFor(field: FormField): string | undefined {
  const parts = [field.hint];
  if (field.kind === 'secret') parts.push(SECRET_HINT);
  if (field.pattern && field.kind === 'text') parts.push(`Format: ${field.pattern}`);
  if (field.kind === 'multi' && !hasSelectableChoices(field)) parts.push('One value per line.');
  const hint = parts.filter(Boolean).join(' ');
  return hint.length > 0 ? hint : undefined;
}

function placeholder(field: FormField): slack.PlainTextElement {
  return { type: 'plain_text', text: truncate(`Enter ${field.label || field.name}`, SLACK_LIMITS.placeholder) };
}

function option(choice: string): slack.PlainTextOption {
  return { text: { type: 'plain_text', text: truncate(choice, SLACK_LIMITS.optionText) }, value: choice.slice(0, SLACK_LIMITS.optionValue) };
}

/** Slack's selects hold at most 100 options of 150-character values; beyond that a text input is honest. */
function hasSelectableChoices(field: FormField): field is FormField & { choices: string[] } {
  return (
    field.choices !== undefined &&
    field.choices.length > 0 &&
    field.choices.length <= SLACK_LIMITS.selectOptions &&
    field.choices.every((choice) => choice.length > 0 && choice.length <= SLACK_LIMITS.optionValue)
  );
}

function textInput(field: FormField, initial: string | undefined, multiline = false): slack.PlainTextInput {
  const maxLength = field.maxLength !== undefined ? Math.min(field.maxLength, SLACK_LIMITS.textInputLength) : undefined;
  return {
    type: 'plain_text_input',
    action_id: FIELD_ACTION_ID,
    placeholder: placeholder(field),
    ...(multiline ? { multiline: true } : {}),
    ...(initial !== undefined && initial.length > 0 ? { initial_value: initial } : {}),
    ...(field.minLength !== undefined && field.minLength <= SLACK_LIMITS.textInputLength ? { min_length: field.minLength } : {}),
    ...(maxLength !== undefined ? { max_length: maxLength } : {}),
  };
}

function elementFor(field: FormField, value: unknown): slack.InputBlock['element'] {
  switch (field.kind) {
    case 'secret':
      // Never prefilled, whatever value comes along.
      return textInput(field, undefined);
    case 'choice': {
      if (!hasSelectableChoices(field)) return textInput(field, asText(value));
      const initial = typeof value === 'string' && field.choices.includes(value) ? { initial_option: option(value) } : {};
      return { type: 'static_select', action_id: FIELD_ACTION_ID, placeholder: placeholder(field), options: field.choices.map(option), ...initial };
    }
    case 'toggle': {
      const toggleOption = option(field.label || field.name);
      return {
        type: 'checkboxes',
        action_id: FIELD_ACTION_ID,
        options: [{ ...toggleOption, value: 'true' }],
        ...(value === true || value === 'true' ? { initial_options: [{ ...toggleOption, value: 'true' }] } : {}),
      };
    }
    case 'number': {
      const initial = typeof value === 'number' || (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) ? String(value) : undefined;
      return {
        type: 'number_input',
        action_id: FIELD_ACTION_ID,
        is_decimal_allowed: field.integer !== true,
        placeholder: placeholder(field),
        ...(initial !== undefined ? { initial_value: initial } : {}),
        ...(field.min !== undefined ? { min_value: String(field.min) } : {}),
        ...(field.max !== undefined ? { max_value: String(field.max) } : {}),
      };
    }
    case 'date': {
      const day = typeof value === 'string' ? /^\d{4}-\d{2}-\d{2}/.exec(value)?.[0] : undefined;
      return { type: 'datepicker', action_id: FIELD_ACTION_ID, ...(day ? { initial_date: day } : {}) };
    }
    case 'multi': {
      const list = Array.isArray(value) ? value.map(String) : typeof value === 'string' && value.length > 0 ? [value] : [];
      if (hasSelectableChoices(field)) {
        const initial = list.filter((item) => field.choices.includes(item)).map(option);
        return {
          type: 'multi_static_select',
          action_id: FIELD_ACTION_ID,
          placeholder: placeholder(field),
          options: field.choices.map(option),
          ...(initial.length > 0 ? { initial_options: initial } : {}),
        };
      }
      return textInput(field, list.join('\n'), true);
    }
    case 'text':
      return textInput(field, asText(value));
  }
}

function asText(value: unknown): string | undefined {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}

// ---------------------------------------------------------------- submitted state → values

const OptionStateSchema = z.object({ value: z.string() });
const ElementStateSchema = z.object({
  type: z.string(),
  value: z.string().nullish(),
  selected_option: OptionStateSchema.nullish(),
  selected_options: z.array(OptionStateSchema).nullish(),
  selected_date: z.string().nullish(),
});
export const ViewStateSchema = z.object({
  values: z.record(z.string(), z.record(z.string(), ElementStateSchema)),
});
export type ViewState = z.infer<typeof ViewStateSchema>;

/**
 * What the modal held, by field name, in Slack's own shape taken apart: text as typed, a
 * selection's value, a list for a multi-select, true/false for a toggle's checkbox. The core
 * turns these into the form's types with the one conversion every platform shares
 * (cards/form-values.ts). An input left empty is left out.
 */
export function readSubmittedState(fields: Pick<FormField, 'name' | 'kind'>[], state: ViewState): Record<string, string | string[] | boolean> {
  const values: Record<string, string | string[] | boolean> = {};
  for (const field of fields) {
    const element = state.values[fieldBlockId(field.name)]?.[FIELD_ACTION_ID];
    if (field.kind === 'toggle') {
      // A checkbox left off sends no selection: that is "off", not "missing".
      values[field.name] = (element?.selected_options ?? []).some((selected) => selected.value === 'true');
      continue;
    }
    const value = element ? rawValue(element) : undefined;
    if (value !== undefined) values[field.name] = value;
  }
  return values;
}

function rawValue(element: z.infer<typeof ElementStateSchema>): string | string[] | undefined {
  switch (element.type) {
    case 'static_select':
      return element.selected_option?.value ?? undefined;
    case 'multi_static_select':
      return (element.selected_options ?? []).map((item) => item.value);
    case 'datepicker':
      return element.selected_date ?? undefined;
    default:
      return element.value ?? undefined;
  }
}

/**
 * Splits the core's field errors into Slack's `errors` map (keyed by block id) and what is left
 * for the whole form (`_form`, or a field the modal does not show).
 */
export function toSlackErrors(fields: FormField[], errors: Record<string, string>): { blockErrors: Record<string, string>; formError?: string } {
  const known = new Set(fields.map((field) => field.name));
  const blockErrors: Record<string, string> = {};
  const rest: string[] = [];
  for (const [name, message] of Object.entries(errors)) {
    if (known.has(name)) blockErrors[fieldBlockId(name)] = message;
    else rest.push(message);
  }
  return rest.length > 0 ? { blockErrors, formError: rest.join(' ') } : { blockErrors };
}
