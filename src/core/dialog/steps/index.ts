// The step kinds, one line each; the engine, the config schema and check-config find them here.
import { stepRegistry, type StepOf } from '../step.js';
import { ask } from './ask.js';
import { auth } from './auth.js';
import { choose } from './choose.js';
import { end } from './end.js';
import { goto } from './goto.js';
import { handoff } from './handoff.js';
import { link } from './link.js';
import { profile } from './profile.js';
import { request } from './request.js';
import { say } from './say.js';
import { set } from './set.js';
import { switchStep } from './switch.js';

/** In the order messages list them. */
export const STEPS = stepRegistry(
  say,
  ask,
  choose,
  auth,
  request,
  switchStep,
  set,
  profile,
  link,
  goto,
  end,
  handoff,
);

/** A parsed step of the built-in kinds. */
export type Step = StepOf<typeof STEPS>;
