export { FakeClock } from './fake-clock.js';
export { createSequentialIds } from './sequential-ids.js';
