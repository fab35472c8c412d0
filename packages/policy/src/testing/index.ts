export type { PolicyRequestOptions, RequestTool } from './create-policy-request.js';
export { createPolicyRequest } from './create-policy-request.js';
