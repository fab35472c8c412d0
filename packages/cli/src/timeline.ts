import type { LedgerEvent } from '@custody/core';

/** One readable line of a run's story. */
export interface TimelineEntry {
  readonly seq: number;
  readonly ts: string;
  readonly type: string;
  /** Which step of the story: input, retrieval, decision, approval, tool, output, run. */
  readonly phase:
    | 'run'
    | 'input'
    | 'model'
    | 'retrieval'
    | 'decision'
    | 'approval'
    | 'tool'
    | 'output'
    | 'operator'
    | 'other';
  readonly callId: string | undefined;
  readonly summary: string;
}

type Payload = Record<string, unknown>;

const MAX_VALUE = 90;

function brief(value: unknown): string {
  if (value === undefined) return '';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text;
}

/**
 * Describes one event as a timeline entry: what happened, in a line. Redacted payloads say so.
 */
export function describeEvent(event: LedgerEvent): TimelineEntry {
  const p = (event.payload ?? {}) as Payload;
  const base = {
    seq: event.seq,
    ts: event.ts,
    type: event.type,
    callId: typeof p.callId === 'string' ? p.callId : undefined,
  };
  if (event.payload === null) return { ...base, phase: 'other', summary: `${event.type} (payload redacted)` };
  const tool = typeof p.tool === 'string' ? p.tool : '?';
  switch (event.type) {
    case 'run.started': {
      const agent = p.agent as { id: string; version: string } | undefined;
      const policy = p.policy as { id: string; version: string } | undefined;
      const onBehalfOf = p.onBehalfOf as { kind: string; id: string } | null;
      return {
        ...base,
        phase: 'run',
        summary:
          `run started by ${event.actor}${onBehalfOf ? ` for ${onBehalfOf.kind}:${onBehalfOf.id}` : ''}, agent ` +
          `${agent?.id}@${agent?.version}, scope ${brief(p.scope)}, policy ${policy?.id}@${policy?.version}`,
      };
    }
    case 'run.ended':
      return {
        ...base,
        phase: 'run',
        summary: `run ended: ${p.outcome}${p.reason ? ` (${p.reason})` : ''}, ${p.calls} tool call(s)`,
      };
    case 'model.called': {
      const request = p.request as
        | { model?: string; promptTemplate?: { id: string; version: string } }
        | undefined;
      const response = p.response as { text?: string; toolCalls?: { name: string }[] } | undefined;
      const template = request?.promptTemplate
        ? ` [${request.promptTemplate.id}@${request.promptTemplate.version}]`
        : '';
      const answer = p.error
        ? `failed: ${(p.error as { message?: string }).message}`
        : response?.toolCalls?.length
          ? `asks for ${response.toolCalls.map((call) => call.name).join(', ')}`
          : `says ${brief(response?.text)}`;
      return { ...base, phase: 'model', summary: `model ${request?.model} (${p.role})${template} ${answer}` };
    }
    case 'retrieval.performed': {
      const docs = (p.documents as { id: string; contentHash: string }[] | undefined) ?? [];
      return {
        ...base,
        phase: 'retrieval',
        summary: `retrieved ${docs.length} doc(s) from ${p.source} for ${brief(p.query)}: ${docs
          .map((doc) => `${doc.id}#${doc.contentHash.slice(0, 8)}`)
          .join(', ')}`,
      };
    }
    case 'tool.requested':
      return { ...base, phase: 'input', summary: `${tool} requested with ${brief(p.input)}` };
    case 'tool.input_rejected':
      return {
        ...base,
        phase: 'input',
        summary: `${tool} input rejected: ${((p.issues as { path: string; message: string }[]) ?? [])
          .map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message))
          .join('; ')}`,
      };
    case 'tool.denied':
      return { ...base, phase: 'decision', summary: `${tool} DENIED (${p.code}): ${p.reason}` };
    case 'policy.decided': {
      const policy = p.policy as { id: string; version: string };
      const rules = (p.ruleIds as string[]).join(', ') || 'no rule';
      const reasons = (p.reasons as string[]).join('; ');
      return {
        ...base,
        phase: 'decision',
        summary: `${tool} → ${String(p.effect).toUpperCase()} by ${policy.id}@${policy.version} [${rules}]${reasons ? `: ${reasons}` : ''}`,
      };
    }
    case 'approval.requested': {
      const approvers = (p.approvers as { role: string; count: number }[])
        .map((a) => `${a.count}× ${a.role}`)
        .join(' + ');
      return {
        ...base,
        phase: 'approval',
        summary: `${tool} waits for approval ${p.approvalId} (${approvers || 'no approvers named'}), digest ${String(p.digest).slice(0, 12)}…, expires ${p.expiresAt}`,
      };
    }
    case 'idempotency.hit':
      return {
        ...base,
        phase: 'tool',
        summary: `${tool} idempotency key already ${p.status}: not executed again`,
      };
    case 'tool.attempt':
      return { ...base, phase: 'tool', summary: `${tool} executing (attempt ${p.attempt})` };
    case 'tool.verified':
      return {
        ...base,
        phase: 'output',
        summary: `${tool} verification ${p.ok ? 'passed' : `FAILED ${brief(p.details)}`}`,
      };
    case 'tool.compensated':
      return {
        ...base,
        phase: 'output',
        summary: `${tool} compensation ${p.ok ? 'done' : `failed: ${p.error}`}`,
      };
    case 'tool.result':
      return {
        ...base,
        phase: 'output',
        summary:
          p.status === 'ok'
            ? `${tool} returned ${brief(p.output)}${typeof p.durationMs === 'number' ? ` in ${p.durationMs} ms` : ''}`
            : `${tool} FAILED (${p.code}): ${p.message ?? ''}`,
      };
    case 'clock.read':
      return { ...base, phase: 'other', summary: `clock read ${p.value}` };
    case 'id.generated':
      return { ...base, phase: 'other', summary: `id generated ${p.value}` };
    case 'mode.changed':
      return {
        ...base,
        phase: 'operator',
        summary: `mode ${p.previous} → ${p.mode} for ${p.tenant ?? 'all tenants'}/${p.connector ?? 'all connectors'} by ${p.actor}: ${p.reason}`,
      };
    default:
      return { ...base, phase: 'other', summary: `${event.type} ${brief(event.payload)}` };
  }
}

/**
 * Renders events as a readable timeline, one line per event, with the trace id on top:
 * inputs → retrieval → decisions → approvals → tool calls → outputs.
 *
 * @example
 * ```ts
 * console.log(renderTimeline(await readAll(stores.ledger, { runId: run.runId })));
 * ```
 */
export function renderTimeline(events: readonly LedgerEvent[], options: { color?: boolean } = {}): string {
  if (events.length === 0) return '(no events)';
  const first = events[0]!;
  const start = Date.parse(first.ts);
  const paint = options.color ? colorize : (_phase: TimelineEntry['phase'], text: string) => text;
  const lines = [`run ${first.runId ?? first.stream}  trace ${first.traceId ?? '-'}  tenant ${first.tenant}`];
  for (const event of events) {
    const entry = describeEvent(event);
    const offset = `+${String(Date.parse(event.ts) - start).padStart(6)}ms`;
    lines.push(
      `${String(entry.seq).padStart(4)} ${offset}  ${paint(entry.phase, entry.phase.padEnd(9))} ${entry.summary}`,
    );
  }
  return lines.join('\n');
}

const COLORS: Record<TimelineEntry['phase'], string> = {
  run: '1',
  input: '36',
  model: '35',
  retrieval: '34',
  decision: '33',
  approval: '33;1',
  tool: '32',
  output: '32;1',
  operator: '31',
  other: '2',
};

function colorize(phase: TimelineEntry['phase'], text: string): string {
  return `\u001b[${COLORS[phase]}m${text}\u001b[0m`;
}
