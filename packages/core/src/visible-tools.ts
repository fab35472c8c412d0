import { matchesAny } from './glob.js';
import { type AgentIdentity, type Principal, scopeGranted } from './principal.js';
import type { AnyTool } from './tool.js';

/** A tool as the model may see it: what `run.tools()` lists. */
export interface VisibleTool {
  readonly name: string;
  readonly version: string;
  readonly description: string | undefined;
  readonly effect: AnyTool['effect'];
  /** JSON Schema of the input, for the model's tool list. */
  readonly inputSchema: unknown;
}

/**
 * The tools a run's agent may be offered: on its allow-list, and needing no scope the principal
 * (or the user it acts for, when that user's scopes are listed) lacks; `allows` adds a check
 * (the mode, at runtime). Shared by the runtime and by replays, so both offer the same list.
 */
export function listVisibleTools(
  tools: Iterable<AnyTool>,
  run: {
    readonly agent: AgentIdentity;
    readonly principal: Principal;
    readonly onBehalfOf: Principal | undefined;
  },
  options: { allows?: (tool: AnyTool) => boolean; inputSchema: (tool: AnyTool) => unknown },
): VisibleTool[] {
  const visible: VisibleTool[] = [];
  for (const tool of tools) {
    if (!matchesAny(run.agent.tools, tool.name)) continue;
    if (options.allows && !options.allows(tool)) continue;
    if (!tool.scopes.every((scope) => scopeGranted(run.principal.scopes, scope))) continue;
    const onBehalfOf = run.onBehalfOf;
    if (
      onBehalfOf?.scopes !== undefined &&
      !tool.scopes.every((scope) => scopeGranted(onBehalfOf.scopes, scope))
    )
      continue;
    visible.push({
      name: tool.name,
      version: tool.version,
      description: tool.description,
      effect: tool.effect,
      inputSchema: options.inputSchema(tool),
    });
  }
  return visible;
}
