// The dialog engine's public face: its parts live under dialog/ (engine, state, one file per step kind).
export { DialogEngine, awaitsSecret } from './dialog/engine.js';
export type { DialogEngineOptions } from './dialog/engine.js';
export type { DialogBot, StepConfig } from './dialog/bot.js';
export { SECRET_PROMPT_MEMORY_SECONDS, freshState } from './dialog/state.js';
export type { DialogState, Flow, Pending, TurnResult } from './dialog/state.js';
export { TEXT, botTexts, text, type TextName } from './dialog/text.js';
export {
  LOCALES,
  LOCALE_NAMES,
  LocaleSchema,
  TEXT_NAMES,
  TextsSchema,
  resolveLocale,
  resolveTexts,
} from './dialog/texts/index.js';
export type { BotTexts, LocaleName, TextOverrides } from './dialog/texts/index.js';
export type { Turn, TurnContext, TurnTools } from './dialog/turn.js';
export { STEPS } from './dialog/steps/index.js';
export type { Step } from './dialog/steps/index.js';
export { asMapping, defineStep, stepParts, stepRegistry } from './dialog/step.js';
export type {
  AnswerOutcome,
  AnyStepDefinition,
  ConfigPath,
  StepChecks,
  StepDefinition,
  StepOf,
  StepOutcome,
  StepRegistry,
} from './dialog/step.js';
