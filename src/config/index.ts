// The operator configuration: load it, validate it, and the types the rest of Switchboard reads.
export { checkConfigFiles, loadConfig, parseConfigText } from './load.js';
export type { ConfigFileText } from './load.js';
export { closest, ConfigError, formatProblems } from './problems.js';
export type { ConfigProblem } from './problems.js';
export { hostAllowed } from './hosts.js';
export { answerPathSegments, readAnswerPath } from '../core/answer-path.js';
export {
  AnswerPathSchema,
  AskOptionsSchema,
  AuthComponentSchema,
  BotSchema,
  CHANNELS,
  ChannelSchema,
  ConfigSchema,
  CredentialFieldSchema,
  EVENT_TYPES,
  EventTypeSchema,
  HTTP_METHODS,
  PhoneNumberSchema,
  RESERVED_VARIABLES,
  RequestOptionsSchema,
  ServerSchema,
  StepSchema,
  configSchemas,
  stepSchema,
  TwilioSchema,
  VariableNameSchema,
  WorkspaceSchema,
} from './schema.js';
export type {
  AskOptions,
  AuthComponent,
  BotConfig,
  Channel,
  Config,
  CredentialField,
  EventType,
  RequestOptions,
  ServerConfig,
  Step,
  StepKind,
  TwilioConfig,
  WorkspaceConfig,
} from './schema.js';
