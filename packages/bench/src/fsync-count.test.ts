import { describe, expect, it } from 'vitest';
import { countSyncCalls, FSYNC_MARKER_ROOT } from './fsync-count.js';

const marker = (pid: number, name: string) =>
  `${pid} access("${FSYNC_MARKER_ROOT}/${name}", F_OK) = -1 ENOENT (No such file or directory)`;

describe('countSyncCalls', () => {
  it('counts only the syncs between a phase’s markers, by the file they synced', () => {
    const log = [
      '4100 fsync(12</tmp/custody-bench-fsync-x/custody.db-wal>) = 0',
      marker(4100, 'write:begin'),
      '4100 fsync(12</tmp/custody-bench-fsync-x/custody.db-wal>) = 0',
      '4100 fdatasync(11</tmp/custody-bench-fsync-x/custody.db>) = 0',
      '4100 fsync(13</tmp/custody-bench-fsync-x/custody.db-journal>) = 0',
      '4100 fsync(14</tmp/custody-bench-fsync-x>) = 0',
      marker(4100, 'write:end'),
      '4100 fsync(12</tmp/custody-bench-fsync-x/custody.db-wal>) = 0',
      marker(4100, 'read:begin'),
      '4101 fsync(12</tmp/custody-bench-fsync-x/custody.db-wal> <unfinished ...>',
      '4100 access("/etc/ld.so.preload", R_OK) = -1 ENOENT (No such file or directory)',
      '4101 <... fsync resumed>) = 0',
      marker(4100, 'read:end'),
    ].join('\n');
    expect(countSyncCalls(log)).toEqual({
      write: { total: 4, wal: 1, database: 1, other: 2 },
      read: { total: 1, wal: 1, database: 0, other: 0 },
    });
  });

  it('leaves out a phase whose markers never appeared', () => {
    expect(countSyncCalls('4100 fsync(3</tmp/a.db-wal>) = 0\n')).toEqual({});
  });
});
