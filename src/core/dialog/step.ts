// What a step kind is: its schema, its configuration check, how it runs, takes an answer and re-prompts.
import type { z } from '../zod.js';
import type { StepConfig } from './bot.js';
import type { Flow, Pending } from './state.js';
import type { Turn } from './turn.js';

export type ConfigPath = PropertyKey[];

/**
 * The checks `check-config` runs on a step as written (before defaults, read defensively: a value of
 * the wrong shape is the schema's to report). Implemented by `src/config/checks.ts`.
 */
export interface StepChecks {
  /** A Liquid template, when it is text. */
  text(value: unknown, path: ConfigPath): void;
  /** A URL whose scheme and host are literal and allowed, when it is text. */
  url(value: unknown, path: ConfigPath): void;
  headers(value: unknown, path: ConfigPath): void;
  /** A request body: its text leaves are templates. */
  body(value: unknown, path: ConfigPath): void;
  /** The name of a flow of the bot, when it is text. */
  flow(value: unknown, path: ConfigPath): void;
  /** The name of an auth component of the bot, when it is text. */
  auth(value: unknown, path: ConfigPath): void;
}

/** Where a step leaves the turn: moved on to the next step, jumped elsewhere, waiting, or ended. */
export type StepOutcome = 'advance' | 'jumped' | Flow;

/** What a step's answer leaves: run on from the state's position, wait, or end. */
export type AnswerOutcome = Flow | 'next';

/**
 * One step kind. `O` is the parsed value under the step's key; `P` what it waits with (its `kind` is the
 * step's). The engine calls `answer`, `reprompt` and `secret` only while the state points at a step of
 * this kind.
 */
export interface StepDefinition<K extends string = string, O = unknown, P extends Pending = Pending> {
  readonly kind: K;
  /** The schema of the value under the step's key (`say: <this>`). */
  readonly schema: z.ZodType<O>;
  /** `check-config`'s checks of the value as written. */
  check?(value: unknown, at: ConfigPath, checks: StepChecks): void;
  run(turn: Turn, options: O): Promise<StepOutcome>;
  answer?(turn: Turn, options: O, pending: P, input: string | undefined): Promise<AnswerOutcome>;
  /** Says the pending question again (after HELP or "who am I" interrupted it). */
  reprompt?(turn: Turn, options: O, pending: P): Promise<void>;
  /** Whether the answer awaited is a secret; `options` is undefined when the flow no longer has the step. */
  secret?(options: O | undefined, pending: P): boolean;
}

/** Infers a step definition's types from its schema. */
export function defineStep<K extends string, O, P extends Pending = Pending>(
  definition: StepDefinition<K, O, P>,
): StepDefinition<K, O, P> {
  return definition;
}

// Each kind's options differ: the registry holds them erased, and each definition reads its own.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- options and pending are per kind
export type AnyStepDefinition = StepDefinition<string, any, any>;

/** Step kinds by name, in the order messages list them. */
export type StepRegistry = Readonly<Record<string, AnyStepDefinition>>;

/** The parsed step a registry accepts: `{ <kind>: <options> }` for each of its kinds. */
export type StepOf<R extends StepRegistry> = {
  [K in keyof R & string]: { [Key in K]: R[K] extends StepDefinition<string, infer O, Pending> ? O : never };
}[keyof R & string];

export function stepRegistry<const D extends readonly AnyStepDefinition[]>(
  ...definitions: D
): { readonly [I in D[number] as I['kind']]: I } {
  return Object.fromEntries(definitions.map((d) => [d.kind, d])) as never;
}

/** The kind of a step as written (its one key) and the value under it. */
export function stepParts(step: StepConfig): [kind: string, options: unknown] {
  const entries = Object.entries(step);
  return entries.length === 1 ? entries[0]! : ['', undefined];
}

/** A value as written that should be a mapping, or an empty one when it is not. */
export function asMapping(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}
