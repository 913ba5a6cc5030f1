/**
 * Reads what a person would see and press on an Adaptive Card: its text, its inputs and its
 * buttons. Shared by the drivers of platforms that render cards (web chat, Teams), so the
 * conformance suite looks at the real rendered card, not at the core's screen objects.
 */
import { formInputId } from '../../../cards/form.ts';
import type { ObservedAction, ObservedInput, ObservedMessage } from './suite.ts';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Every visible text of the card, in document order, one per line. */
export function cardText(card: unknown): string {
  const lines: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!isObject(node)) return;
    if (node.type === 'TextBlock' || node.type === 'TextRun') {
      if (typeof node.text === 'string') lines.push(node.text);
    }
    if (node.type === 'FactSet' && Array.isArray(node.facts)) {
      for (const fact of node.facts) if (isObject(fact)) lines.push(`${String(fact.title)} ${String(fact.value)}`);
    }
    if (typeof node.type === 'string' && node.type.startsWith('Input.') && typeof node.label === 'string') lines.push(node.label);
    for (const [key, value] of Object.entries(node)) if (key !== 'actions' && key !== 'selectAction') walk(value);
  };
  walk(card);
  return lines.join('\n');
}

export function cardInputs(card: unknown): ObservedInput[] {
  const inputs: ObservedInput[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!isObject(node)) return;
    if (typeof node.type === 'string' && node.type.startsWith('Input.') && typeof node.id === 'string') {
      inputs.push({
        id: node.id,
        type: node.type,
        label: typeof node.label === 'string' ? node.label : undefined,
        value: node.value === undefined ? undefined : String(node.value),
      });
    }
    for (const value of Object.values(node)) walk(value);
  };
  walk(card);
  return inputs;
}

/** Buttons with their verb: Action.Execute's `verb`, or `data.verb` for Action.Submit. */
export function cardActions(card: unknown): ObservedAction[] {
  const actions: ObservedAction[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!isObject(node)) return;
    if (node.type === 'Action.Submit' || node.type === 'Action.Execute') {
      const data = isObject(node.data) ? node.data : {};
      const verb = typeof node.verb === 'string' ? node.verb : data.verb;
      if (typeof verb === 'string') actions.push({ title: String(node.title ?? ''), verb, data });
    }
    for (const value of Object.values(node)) walk(value);
  };
  walk(card);
  return actions;
}

/**
 * What a card client sends when a button is pressed (Action.Submit or Action.Execute): the
 * button's data plus every input's current value, with what the person typed (by parameter name).
 */
export function pressedData(card: ObservedMessage, button: ObservedAction, typed: Record<string, string> = {}): Record<string, unknown> {
  const inputs = Object.fromEntries(card.inputs.filter((input) => input.value !== undefined).map((input) => [input.id, input.value]));
  const typedInputs = Object.fromEntries(Object.entries(typed).map(([name, value]) => [formInputId(name), value]));
  return { ...button.data, ...inputs, ...typedInputs };
}

/** The newest form on screen whose submit button carries `verb`, and that button. */
export function latestForm(messages: ObservedMessage[], verb = 'submit-form'): { form: ObservedMessage; submit: ObservedAction } {
  const form = messages.filter((message) => message.actions.some((action) => action.verb === verb)).at(-1);
  const submit = form?.actions.find((action) => action.verb === verb);
  if (!form || !submit) throw new Error(`no form with a ${verb} button to submit`);
  return { form, submit };
}
