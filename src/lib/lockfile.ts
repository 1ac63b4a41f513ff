// Lock files, as OVS's lib/lockfile.c keeps them: ".NAME.~lock~" beside the file they guard,
// holding a lock that the kernel drops when its holder dies. A restart straight after kill -9 thus
// finds the lock free even while the killed process is still a zombie (its files are closed before
// it becomes one), and no process that later reuses the holder's pid can block it. The lock is an
// open file description lock (native/src/lockfile.rs), so two opens in one process conflict too.
// The holder writes its pid into the file only so that a refused process can say who holds it.

import { closeSync, constants, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { loadAddon } from './addon.js';

/** The lock file that guards `path`: ".NAME.~lock~" in the same directory, as OVS names it. */
export function lockfileName(path: string): string {
  return join(dirname(path), `.${basename(path)}.~lock~`);
}

/** The lock file is held through another open, by this process or another. */
export class LockHeldError extends Error {
  constructor(
    readonly lockPath: string,
    /** The pid the holder wrote into the lock file; undefined if it has not written one yet. */
    readonly holderPid: number | undefined,
  ) {
    super(`${lockPath}: cannot lock file because it is already locked by ${holderPid === undefined ? 'another process' : `pid ${holderPid}`}`);
  }
}

export class Lockfile {
  private constructor(private fd: number | null) {}

  /**
   * Takes the lock file of `path` (created if missing) without waiting. Throws LockHeldError if
   * another open holds it, or the error that kept the lock file from being opened.
   */
  static lock(path: string): Lockfile {
    const lockPath = lockfileName(path);
    const fd = openSync(lockPath, constants.O_RDWR | constants.O_CREAT, 0o600);
    try {
      if (!loadAddon().op_sys_lock_fd(fd)) throw new LockHeldError(lockPath, holderPid(fd));
      ftruncateSync(fd, 0);
      writeSync(fd, `${process.pid}\n`, 0);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    return new Lockfile(fd);
  }

  /**
   * Releases the lock. The file itself stays, as OVS leaves it: removing it would let a third
   * process lock a new file of that name while a second one locks the old, removed one.
   */
  unlock(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    try {
      ftruncateSync(fd, 0);
    } finally {
      closeSync(fd);
    }
  }
}

function holderPid(fd: number): number | undefined {
  const pid = Number(readFileSync(fd, 'utf8').trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}
