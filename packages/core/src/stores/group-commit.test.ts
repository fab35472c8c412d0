import { describe, expect, it } from 'vitest';
import { GroupCommit, type Settled } from './group-commit.js';

interface Unit {
  readonly name: string;
  readonly keys: readonly string[];
  readonly size?: number;
  readonly fail?: boolean;
}

const unit = (name: string, keys: readonly string[] = [name], extra: Partial<Unit> = {}): Unit => ({
  name,
  keys,
  ...extra,
});

/** A store whose write records each group and answers each unit with its name. */
function recordingStore(options: { lanes?: number; maxGroupSize?: number; async?: boolean } = {}) {
  const groups: string[][] = [];
  const releases: (() => void)[] = [];
  const answer = (group: readonly Unit[]): Settled<string>[] =>
    group.map((u) =>
      u.fail ? { ok: false, error: new Error(`${u.name} refused`) } : { ok: true, value: u.name },
    );
  const commits = new GroupCommit<Unit, string>({
    write: (group) => {
      groups.push(group.map((u) => u.name));
      if (!options.async) return answer(group);
      return new Promise((resolve) => releases.push(() => resolve(answer(group))));
    },
    keysOf: (u) => u.keys,
    sizeOf: (u) => u.size ?? 1,
    ...(options.lanes === undefined ? {} : { lanes: options.lanes }),
    ...(options.maxGroupSize === undefined ? {} : { maxGroupSize: options.maxGroupSize }),
  });
  /** Lets the oldest group in flight answer. */
  const release = async () => {
    releases.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { commits, groups, release };
}

describe('GroupCommit', () => {
  it('writes units submitted together as one group, each settling with its own answer', async () => {
    const { commits, groups } = recordingStore();
    const results = await Promise.allSettled([
      commits.submit(unit('a')),
      commits.submit(unit('b', ['b'], { fail: true })),
      commits.submit(unit('c')),
    ]);
    expect(groups).toEqual([['a', 'b', 'c']]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([
      'a',
      'b refused',
      'c',
    ]);
  });

  it('fails every unit of a group whose write throws', async () => {
    const commits = new GroupCommit<Unit, string>({
      write: () => {
        throw new Error('disk full');
      },
      keysOf: (u) => u.keys,
    });
    const results = await Promise.allSettled([commits.submit(unit('a')), commits.submit(unit('b'))]);
    expect(results.map((r) => r.status === 'rejected' && (r.reason as Error).message)).toEqual([
      'disk full',
      'disk full',
    ]);
  });

  it('rejects a unit the write gave no answer for, with CUSTODY_STORE_ERROR', async () => {
    const commits = new GroupCommit<Unit, string>({ write: () => [], keysOf: (u) => u.keys });
    await expect(commits.submit(unit('a'))).rejects.toMatchObject({ code: 'CUSTODY_STORE_ERROR' });
  });

  it('holds a unit whose keys a group in flight writes, and keeps submission order over them', async () => {
    const { commits, groups, release } = recordingStore({ async: true, lanes: 2 });
    const settled: string[] = [];
    const track = (p: Promise<string>) => p.then((name) => settled.push(name));
    const first = track(commits.submit(unit('s1', ['stream'])));
    await Promise.resolve();
    // While s1's group is in flight: s2 waits for it, `other` takes the second lane.
    const second = track(commits.submit(unit('s2', ['stream'])));
    const other = track(commits.submit(unit('other', ['elsewhere'])));
    await Promise.resolve();
    expect(groups).toEqual([['s1'], ['other']]);
    await release();
    await release();
    expect(groups).toEqual([['s1'], ['other'], ['s2']]);
    await release();
    await Promise.all([first, second, other]);
    expect(settled).toEqual(['s1', 'other', 's2']);
  });

  it('never lets a later unit overtake an earlier queued one over the same key', async () => {
    const { commits, groups, release } = recordingStore({ async: true, lanes: 4 });
    const busy = commits.submit(unit('x1', ['x']));
    await Promise.resolve();
    // y1 waits behind x (it also writes x); y2 must then wait behind y1, though y itself is free.
    const waiting = [commits.submit(unit('y1', ['x', 'y'])), commits.submit(unit('y2', ['y']))];
    await Promise.resolve();
    expect(groups).toEqual([['x1']]);
    await release();
    // Both free now: one group, in submission order.
    expect(groups).toEqual([['x1'], ['y1', 'y2']]);
    await release();
    await Promise.all([busy, ...waiting]);
  });

  it('splits groups at maxGroupSize by the units’ sizes; a heavier unit still goes alone', async () => {
    const { commits, groups } = recordingStore({ maxGroupSize: 3 });
    await Promise.all([
      commits.submit(unit('a', ['a'], { size: 2 })),
      commits.submit(unit('b', ['b'], { size: 1 })),
      commits.submit(unit('c', ['c'], { size: 2 })),
      commits.submit(unit('big', ['big'], { size: 10 })),
    ]);
    expect(groups).toEqual([['a', 'b'], ['c'], ['big']]);
  });

  it('drops a unit aborted while queued, and writes one aborted after its group started', async () => {
    const { commits, groups, release } = recordingStore({ async: true });
    const early = new AbortController();
    const queued = commits.submit(unit('dropped'), { signal: early.signal });
    early.abort(new Error('caller gave up'));
    await expect(queued).rejects.toMatchObject({ code: 'CUSTODY_ABORTED' });

    const late = new AbortController();
    const started = commits.submit(unit('kept'), { signal: late.signal });
    await Promise.resolve();
    late.abort();
    await release();
    await expect(started).resolves.toBe('kept');
    expect(groups).toEqual([['kept']]);

    const already = new AbortController();
    already.abort();
    await expect(commits.submit(unit('never'), { signal: already.signal })).rejects.toMatchObject({
      code: 'CUSTODY_ABORTED',
    });
    expect(groups).toEqual([['kept']]);
  });

  it('with a synchronous write, startPending writes everything queued before it returns', () => {
    const { commits, groups } = recordingStore();
    void commits.submit(unit('a'));
    void commits.submit(unit('b'));
    expect(commits.queued).toBe(2);
    commits.startPending();
    expect(groups).toEqual([['a', 'b']]);
    expect(commits.queued).toBe(0);
  });

  it('idle() resolves once nothing is queued or in flight', async () => {
    const { commits, groups, release } = recordingStore({ async: true });
    const written = commits.submit(unit('a'));
    let idle = false;
    const waiting = commits.idle().then(() => {
      idle = true;
    });
    await Promise.resolve();
    expect(idle).toBe(false);
    await release();
    await waiting;
    expect(idle).toBe(true);
    expect(groups).toEqual([['a']]);
    await written;
  });
});
