// Operator events: the sink the rest of Switchboard emits into, the delivery worker, signatures.
export {
  EVENTS_QUEUE,
  QueuedEventSink,
  cleanEventData,
  noEvents,
  wantsEvent,
  type ConfigSource,
  type ErasedEvent,
  type ErasedSubject,
  type EventInput,
  type EventSink,
  type EventValue,
  type OperatorEvent,
  type QueuedEvent,
  type QueuedEventSinkOptions,
} from './sink.js';
export {
  DEFAULT_EVENT_BACKOFF,
  EventDeliveryError,
  createEventWorker,
  eventRetryDelay,
  type EventBackoff,
  type EventWorkerOptions,
} from './worker.js';
export {
  SIGNATURE_HEADER,
  signSwitchboardEvent,
  verifySwitchboardSignature,
  type SignatureCheck,
} from './signature.js';
