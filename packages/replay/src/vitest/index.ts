export type { DescribeReplaysOptions } from './describe-replays.js';
export { describeReplays, expectReplayMatched } from './describe-replays.js';
