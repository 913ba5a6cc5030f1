/**
 * Reads what a person would see and press in Slack: the text, buttons and inputs of Block Kit
 * messages and modals, as the fake Slack Web API recorded them. The Slack counterpart of
 * test/bot/conformance/adaptive-card.ts, so the conformance suite looks at the real blocks the
 * bot sent, not at the core's screen objects.
 *
 * Buttons are Deputy's own (`deputy:<verb>` action ids with JSON data in `value`); inputs are
 * read as Slack's client shows them: the value typed (if any), else the element's initial value.
 */
import { z } from 'zod';
import type { ObservedAction, ObservedInput } from '../conformance/suite.ts';

const TextSchema = z.object({ text: z.string() });
const OptionSchema = z.object({ text: TextSchema, value: z.string() });

const ButtonSchema = z.object({ type: z.literal('button'), action_id: z.string(), text: TextSchema, value: z.string().optional() });

const ElementSchema = z.object({
  type: z.string(),
  initial_value: z.string().optional(),
  initial_option: OptionSchema.optional(),
  initial_options: z.array(OptionSchema).optional(),
  initial_date: z.string().optional(),
  options: z.array(OptionSchema).optional(),
});
type Element = z.infer<typeof ElementSchema>;

export const BlockSchema = z.object({
  type: z.string(),
  block_id: z.string().optional(),
  text: TextSchema.optional(),
  fields: z.array(TextSchema).optional(),
  accessory: z.unknown().optional(),
  elements: z.array(z.unknown()).optional(),
  label: TextSchema.optional(),
  element: ElementSchema.optional(),
});
export type Block = z.infer<typeof BlockSchema>;

export const ModalViewSchema = z.object({
  type: z.literal('modal'),
  title: TextSchema,
  submit: TextSchema.optional(),
  callback_id: z.string().optional(),
  private_metadata: z.string().optional(),
  blocks: z.array(BlockSchema),
});
export type ModalView = z.infer<typeof ModalViewSchema>;

const DEPUTY_ACTION_PREFIX = 'deputy:';

/** Every visible text, one per line: headers, sections and their fields, context, input labels and their errors. */
export function blocksText(blocks: Block[], errors: Record<string, string> = {}): string {
  const lines: string[] = [];
  for (const block of blocks) {
    if (block.text) lines.push(block.text.text);
    for (const field of block.fields ?? []) lines.push(field.text);
    if (block.type === 'context') {
      for (const element of block.elements ?? []) {
        const text = TextSchema.safeParse(element);
        if (text.success) lines.push(text.data.text);
      }
    }
    if (block.label) lines.push(block.label.text);
    const error = block.block_id === undefined ? undefined : errors[block.block_id];
    if (error) lines.push(error);
  }
  return lines.join('\n');
}

/** Deputy's buttons: section accessories and the elements of actions blocks. */
export function blocksActions(blocks: Block[]): ObservedAction[] {
  const candidates = blocks.flatMap((block) => [block.accessory, ...(block.type === 'actions' ? (block.elements ?? []) : [])]);
  const actions: ObservedAction[] = [];
  for (const candidate of candidates) {
    const button = ButtonSchema.safeParse(candidate);
    if (!button.success || !button.data.action_id.startsWith(DEPUTY_ACTION_PREFIX)) continue;
    const data: unknown = JSON.parse(button.data.value ?? '{}');
    actions.push({
      title: button.data.text.text,
      verb: button.data.action_id.slice(DEPUTY_ACTION_PREFIX.length),
      data: z.record(z.string(), z.unknown()).parse(data),
    });
  }
  return actions;
}

export function buttonActionId(verb: string): string {
  return `${DEPUTY_ACTION_PREFIX}${verb}`;
}

type InputBlock = Block & { block_id: string; element: Element };

export function inputBlocks(blocks: Block[]): InputBlock[] {
  return blocks.filter((block): block is InputBlock => block.type === 'input' && block.block_id !== undefined && block.element !== undefined);
}

/** What an element shows before anyone types: its initial value as text (choices comma-separated). */
function initialValue(element: Element): string | undefined {
  switch (element.type) {
    case 'static_select':
      return element.initial_option?.value;
    case 'multi_static_select':
    case 'checkboxes':
      return element.initial_options?.map((option) => option.value).join(',');
    case 'datepicker':
      return element.initial_date;
    default:
      return element.initial_value;
  }
}

/** The inputs of a modal, each with the value shown: what was typed, else the initial value. */
export function modalInputs(blocks: Block[], typed: Record<string, string>): ObservedInput[] {
  return inputBlocks(blocks).map((block) => {
    const value = typed[block.block_id] ?? initialValue(block.element);
    return {
      id: block.block_id,
      type: block.element.type,
      ...(block.label ? { label: block.label.text } : {}),
      ...(value === undefined ? {} : { value }),
    };
  });
}

/**
 * One element's entry in `view.state.values`, as Slack's client sends it on submit: every input
 * is present, an empty one with a null value or no selection.
 */
export function elementState(element: Element, value: string | undefined): Record<string, unknown> {
  const pick = (wanted: string[]) =>
    wanted.map((item) => element.options?.find((option) => option.value === item) ?? { text: { type: 'plain_text', text: item }, value: item });
  const items = value === undefined || value === '' ? [] : value.split(',');
  switch (element.type) {
    case 'static_select':
      return { type: element.type, selected_option: pick(items)[0] ?? null };
    case 'multi_static_select':
    case 'checkboxes':
      return { type: element.type, selected_options: pick(items) };
    case 'datepicker':
      return { type: element.type, selected_date: value || null };
    default:
      return { type: element.type, value: value || null };
  }
}
