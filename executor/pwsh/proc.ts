/**
 * Reading /proc for the pool's checks between jobs. These files are small and live in memory, so
 * they are read synchronously into one reused buffer: `fs.promises.readFile` costs four trips
 * through libuv's thread pool and a 64 KiB buffer per file (procfs reports size 0), and a check
 * after every warm job reads a few dozen of them (docs/runner.md, "the warm path").
 */
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';

const buffer = Buffer.allocUnsafe(16 * 1024);

/** The file's text, or undefined when it is gone (the process ended meanwhile) or unreadable. */
export function readProcText(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    let text = '';
    for (;;) {
      const read = readSync(fd, buffer, 0, buffer.length, null);
      if (read === 0) return text;
      text += buffer.toString('latin1', 0, read);
    }
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

export interface ProcessStat {
  state: string;
  ppid: number;
  pgrp: number;
}

/** The fields of /proc/<pid>/stat after the command name that matter here. */
export function parseStat(stat: string): ProcessStat {
  const [state = '', ppid, pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state, ppid: Number(ppid), pgrp: Number(pgrp) };
}

/** The process's state, parent and group; undefined when it is gone. */
export function processStat(pid: number): ProcessStat | undefined {
  const text = readProcText(`/proc/${pid}/stat`);
  return text === undefined ? undefined : parseStat(text);
}

/** A process's children, from every one of its threads (a child belongs to the thread that started it). */
export function childrenOf(pid: number): number[] {
  return threadsOf(pid).flatMap((task) => (readProcText(`/proc/${pid}/task/${task}/children`) ?? '').split(' ').filter(Boolean).map(Number));
}

/** A process's thread ids (none when it is gone). */
export function threadsOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).map(Number).filter((id) => id > 0);
  } catch {
    return [];
  }
}

/** Every pid in /proc now. */
export function allProcessIds(): number[] {
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number);
}

/** The process below `root` whose pid, in its own (innermost) PID namespace, is `innerPid`. */
export function findDescendant(root: number, innerPid: number): number | undefined {
  const queue = [root];
  for (let seen = 0; queue.length > 0 && seen < 64; seen += 1) {
    const pid = queue.shift() as number;
    const status = readProcText(`/proc/${pid}/status`);
    if (status === undefined) continue;
    const nsPids = /^NSpid:\s*(.+)$/m.exec(status)?.[1]?.trim().split(/\s+/);
    if (Number(nsPids?.at(-1)) === innerPid) return pid;
    queue.push(...childrenOf(pid));
  }
  return undefined;
}
