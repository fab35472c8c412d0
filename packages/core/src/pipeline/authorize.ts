import { principalRef, type ResourceScope, resourceOutsideScope, scopeGranted } from '../principal.js';
import type { CallState } from './call-state.js';
import { deny } from './outcomes.js';
import type { PipelineStep } from './step.js';

/**
 * Scopes and resource. The acting principal, and the user it acts for when that user's
 * scopes are listed, must hold every scope the tool requires; the resource the tool declares for
 * this input must lie inside the run's tenant, workspace, project and customer.
 */
export const authorize: PipelineStep = {
  name: 'authorize',
  async run(call, next) {
    const missing = missingScope(call);
    if (missing) return deny(call, { code: 'CUSTODY_SCOPE_MISSING', reason: missing });
    const resolved = resolveResource(call);
    if (typeof resolved === 'string')
      return deny(call, { code: 'CUSTODY_RESOURCE_OUT_OF_SCOPE', reason: resolved });
    call.resource = resolved;
    return next();
  },
};

/** Why a required scope is missing, or undefined when every one is held. */
function missingScope(call: CallState): string | undefined {
  const { tool } = call;
  const { principal, onBehalfOf, actorRef } = call.run;
  for (const required of tool.scopes) {
    if (!scopeGranted(principal.scopes, required))
      return `${actorRef} lacks scope "${required}" required by "${tool.name}"`;
    if (onBehalfOf?.scopes !== undefined && !scopeGranted(onBehalfOf.scopes, required)) {
      return `${principalRef(onBehalfOf)}, on whose behalf the agent acts, lacks scope "${required}" required by "${tool.name}"`;
    }
  }
  return undefined;
}

/** The resource the call acts on (the run's scope, narrowed by the tool), or why it is out of scope. */
function resolveResource(call: CallState): ResourceScope | string {
  const { tool } = call;
  const scope = call.run.scope;
  if (!tool.resource) return scope;
  let declared: Partial<ResourceScope>;
  try {
    declared = tool.resource(call.input.value) ?? {};
  } catch (error) {
    return `could not resolve the resource of "${tool.name}" (${(error as Error)?.message ?? String(error)}); denied`;
  }
  const outside = resourceOutsideScope(scope, declared);
  if (outside) {
    return `"${tool.name}" targets ${outside.level} "${outside.got}" but this run is bound to ${outside.level} "${outside.expected}"`;
  }
  return Object.freeze({ ...scope, ...definedOnly(declared) }) as ResourceScope;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [key, item] of Object.entries(value))
    if (item !== undefined) (out as Record<string, unknown>)[key] = item;
  return out;
}
