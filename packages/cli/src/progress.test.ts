import { describe, expect, it } from 'vitest';
import { createProgress } from './progress.js';

function output(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, write: (text: string) => writes.push(text), isTTY };
}

describe('createProgress', () => {
  it('redraws one line on a terminal, every step, and clears it at the end', () => {
    const stderr = output(true);
    const progress = createProgress({ output: stderr, total: 2000, noun: 'events', step: 500 });
    for (let done = 0; done <= 2000; done += 100) progress.update(done);
    progress.finish();
    expect(stderr.writes).toEqual([
      '\r\u001b[2K0/2000 events (0%)',
      '\r\u001b[2K500/2000 events (25%)',
      '\r\u001b[2K1000/2000 events (50%)',
      '\r\u001b[2K1500/2000 events (75%)',
      '\r\u001b[2K2000/2000 events (100%)',
      '\r\u001b[2K',
    ]);
  });

  it('writes nothing when the output is not a terminal, or the job is short', () => {
    const piped = output(false);
    const long = createProgress({ output: piped, total: 1_000_000, noun: 'events' });
    long.update(500_000);
    long.finish();
    expect(piped.writes).toEqual([]);
    const terminal = output(true);
    const short = createProgress({ output: terminal, total: 50, noun: 'events' });
    short.update(50);
    short.finish();
    expect(terminal.writes).toEqual([]);
  });
});
