import type { CustodyErrorCode } from '../errors.js';
import { matchesAny } from '../glob.js';
import { CustodyAttributes } from '../telemetry/attributes.js';
import { deny, recordRawRequest } from './outcomes.js';
import type { PipelineStep } from './step.js';

/**
 * Finds the tool by name and checks the agent's allow-list. An unknown tool, or one the
 * agent may not call, is `denied`; what the agent asked for is still recorded as given.
 */
export const resolveTool: PipelineStep = {
  name: 'resolve-tool',
  async run(call, next) {
    const { name } = call.request;
    const { agent } = call.run;
    const tool = call.runtime.tools.get(name);
    if (!tool || !matchesAny(agent.tools, name)) {
      recordRawRequest(call);
      const code: CustodyErrorCode = tool ? 'CUSTODY_TOOL_NOT_ALLOWED' : 'CUSTODY_TOOL_UNKNOWN';
      const reason = tool
        ? `agent "${agent.id}" may not call "${name}": it is not on the agent's tool allow-list`
        : `tool "${name}" is not registered with this runtime (registered: ${call.runtime.toolNames()})`;
      return deny(call, { code, reason });
    }
    call.tool = tool;
    call.span.setAttribute(CustodyAttributes.toolVersion, tool.version);
    call.span.setAttribute(CustodyAttributes.toolEffect, tool.effect);
    return next();
  },
};
