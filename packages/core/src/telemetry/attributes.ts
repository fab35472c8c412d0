/**
 * Span and attribute names. The `gen_ai.*` names follow the OpenTelemetry GenAI semantic
 * conventions (development status, so copied here as constants rather than imported from an
 * unstable export); `custody.*` covers what those conventions don't have yet.
 */
export const GenAiAttributes = {
  operationName: 'gen_ai.operation.name',
  providerName: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  responseModel: 'gen_ai.response.model',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  toolName: 'gen_ai.tool.name',
  toolCallId: 'gen_ai.tool.call.id',
  toolType: 'gen_ai.tool.type',
  agentName: 'gen_ai.agent.name',
  agentId: 'gen_ai.agent.id',
  conversationId: 'gen_ai.conversation.id',
} as const;

/** Custody's own span attributes. */
export const CustodyAttributes = {
  runId: 'custody.run.id',
  tenant: 'custody.tenant',
  principal: 'custody.principal',
  onBehalfOf: 'custody.on_behalf_of',
  agentVersion: 'custody.agent.version',
  runOutcome: 'custody.run.outcome',
  toolVersion: 'custody.tool.version',
  toolEffect: 'custody.tool.effect',
  callStatus: 'custody.call.status',
  callCode: 'custody.call.code',
  policyDecision: 'custody.policy.decision',
  policyId: 'custody.policy.id',
  policyVersion: 'custody.policy.version',
  policyHash: 'custody.policy.hash',
  policyRuleIds: 'custody.policy.rule_ids',
  approvalId: 'custody.approval.id',
  approvalStatus: 'custody.approval.status',
  idempotencyHit: 'custody.idempotency.hit',
  verification: 'custody.verification',
  mode: 'custody.mode',
  modelRole: 'custody.model.role',
  retrievalSource: 'custody.retrieval.source',
  retrievalDocuments: 'custody.retrieval.documents',
} as const;

/** Operation names used as `gen_ai.operation.name` and as span-name prefixes. */
export const GenAiOperations = {
  invokeAgent: 'invoke_agent',
  executeTool: 'execute_tool',
  chat: 'chat',
} as const;
