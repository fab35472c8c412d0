import { modeAllows } from '../mode.js';
import { CustodyAttributes } from '../telemetry/attributes.js';
import { deny } from './outcomes.js';
import type { PipelineStep } from './step.js';

/**
 * The kill switch and read-only safe mode. The mode in force for the run's tenant and the
 * tool's connector must allow the tool's effect class. A call resumed after approval re-enters
 * the pipeline here, so a mode set while it waited still applies.
 */
export const checkMode: PipelineStep = {
  name: 'check-mode',
  async run(call, next) {
    const { tool } = call;
    const mode = call.runtime.modes.effective(call.run.scope.tenant, tool.connector);
    if (modeAllows(mode.mode, tool.effect)) return next();
    call.span.setAttribute(CustodyAttributes.mode, mode.mode);
    return deny(call, {
      code: 'CUSTODY_MODE_BLOCKED',
      reason: `"${tool.name}" (${tool.effect}) cannot run: mode is ${mode.mode} for ${describeModeTarget(mode.setAt)}`,
    });
  },
};

/** Words for the key a mode was set at (`tenant/connector`, `*` for any). */
function describeModeTarget(key: string): string {
  const [tenant, connector] = key.split('/');
  if (tenant === '*' && connector === '*') return 'everything (global)';
  if (connector === '*') return `tenant "${tenant}"`;
  if (tenant === '*') return `connector "${connector}"`;
  return `connector "${connector}" of tenant "${tenant}"`;
}
