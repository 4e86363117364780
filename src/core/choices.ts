// The options of a `choose` question: how a text channel and a keypad present them, and which one an answer picks.
import type { ChoiceOption } from './events.js';

/** At most this many options: a WhatsApp list picker's limit, and the ten keys of a keypad. */
export const MAX_OPTIONS = 10;
/** At most this many options are WhatsApp quick-reply buttons; more are a list picker. */
export const MAX_BUTTONS = 3;

/** The key that picks an option on a keypad: 1 to 9, then 0 for a tenth. */
export function keypadKey(index: number): string {
  return index < 9 ? String(index + 1) : '0';
}

/** The prompt with the options numbered under it, one a line: how a text channel shows a choice. */
export function numberedChoice(prompt: string, options: readonly ChoiceOption[]): string {
  const lines = options.map((o, i) => `${i + 1}. ${o.title}${o.description ? ` (${o.description})` : ''}`);
  return [prompt.trim(), ...lines].filter((line) => line !== '').join('\n');
}

/**
 * The option an answer picks, or undefined: the option's id (a tapped button or list item sends it), its
 * number in the list (on a call its keypad key), or its title typed out (case and surrounding space
 * ignored).
 */
export function pickedOption(
  options: readonly ChoiceOption[],
  answer: string,
  onCall: boolean,
): ChoiceOption | undefined {
  const input = answer.trim();
  if (input === '') return undefined;
  const byId = options.find((o) => o.id === input);
  if (byId) return byId;
  if (/^[0-9]{1,2}$/.test(input)) {
    const index = onCall
      ? options.findIndex((_, i) => keypadKey(i) === input)
      : Number.parseInt(input, 10) - 1;
    if (index >= 0 && index < options.length) return options[index];
  }
  const folded = fold(input);
  return options.find((o) => fold(o.title) === folded);
}

function fold(text: string): string {
  return text.trim().replace(/\s+/g, ' ').toLowerCase();
}
