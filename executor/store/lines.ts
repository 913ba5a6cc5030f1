/**
 * Reading JSON-lines files without holding them in memory: a forward scan in large chunks
 * (open and verify), a backward read of the last line (continuing the audit chain), and a
 * backward scan (listing the newest runs first from an index file).
 */
import type { FileHandle } from 'node:fs/promises';

const NEWLINE = 0x0a;
const CHUNK_BYTES = 1 << 20;
const TAIL_CHUNK_BYTES = 1 << 16;

export interface Line {
  text: string;
  /** 1-based line number. */
  number: number;
  /** Byte offset where the line starts. */
  start: number;
  /** Length in bytes, without the newline. */
  bytes: number;
  /** False for a last line with no newline: a write that was cut off. */
  terminated: boolean;
}

/**
 * Calls `onLine` for each line of the file from byte `start` (a line's start; default 0) up to
 * byte `end` (default: the whole file), in order. Line numbers count from `start`. Returning
 * `false` from `onLine` stops the scan.
 */
export async function scanLines(handle: FileHandle, onLine: (line: Line) => boolean | void, end?: number, start = 0): Promise<void> {
  const limit = end ?? (await handle.stat()).size;
  const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  let carried: Buffer[] = [];
  let lineStart = start;
  let number = 0;
  let position = start;
  while (position < limit) {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(CHUNK_BYTES, limit - position), position);
    if (bytesRead === 0) break;
    const chunk = buffer.subarray(0, bytesRead);
    let from = 0;
    for (let newline = chunk.indexOf(NEWLINE); newline !== -1; newline = chunk.indexOf(NEWLINE, from)) {
      const piece = chunk.subarray(from, newline);
      const bytes = carried.length > 0 ? Buffer.concat([...carried, piece]) : piece;
      number += 1;
      if (onLine({ text: bytes.toString('utf8'), number, start: lineStart, bytes: bytes.length, terminated: true }) === false) return;
      carried = [];
      from = newline + 1;
      lineStart = position + from;
    }
    // The buffer is reused for the next chunk, so keep a copy of the unfinished line.
    if (from < bytesRead) carried.push(Buffer.from(chunk.subarray(from)));
    position += bytesRead;
  }
  if (carried.length > 0) {
    const bytes = Buffer.concat(carried);
    onLine({ text: bytes.toString('utf8'), number: number + 1, start: lineStart, bytes: bytes.length, terminated: false });
  }
}

/**
 * A page of lines read backwards: the whole lines that end at or before byte `end` within the
 * last `chunkBytes` or so (more when one line is longer), newest first, and `next`, the end to
 * pass for the page before. `end` must follow a newline (a durable end of an index file).
 */
export async function readLinesBefore(handle: FileHandle, end: number, chunkBytes = TAIL_CHUNK_BYTES): Promise<{ lines: string[]; next: number }> {
  for (let size = chunkBytes; end > 0; size *= 2) {
    const from = Math.max(0, end - size);
    const bytes = Buffer.allocUnsafe(end - from);
    await handle.read(bytes, 0, bytes.length, from);
    // Before the first newline is the end of a line that starts further back, unless this is the file's start.
    const first = from === 0 ? 0 : bytes.indexOf(NEWLINE) + 1;
    if (first === bytes.length) continue;
    return { lines: bytes.subarray(first, bytes.length - 1).toString('utf8').split('\n').reverse(), next: from + first };
  }
  return { lines: [], next: 0 };
}

export interface Tail {
  /** The last complete (newline-terminated) line, if any. */
  lastLine?: { text: string; start: number };
  /** Where an unterminated last fragment starts, if the file ends with one. */
  tornFrom?: number;
}

/** Reads backwards from the end only as far as needed to find the last complete line. */
export async function readTail(handle: FileHandle, size: number): Promise<Tail> {
  let bytes = Buffer.alloc(0);
  let bytesStart = size;
  // Until we hold the last newline and the one before it (or reach the file's start).
  for (;;) {
    const last = bytes.lastIndexOf(NEWLINE);
    const enough = last !== -1 && (last === 0 || bytes.lastIndexOf(NEWLINE, last - 1) !== -1);
    if (enough || bytesStart === 0) break;
    const readFrom = Math.max(0, bytesStart - TAIL_CHUNK_BYTES);
    const chunk = Buffer.alloc(bytesStart - readFrom);
    await handle.read(chunk, 0, chunk.length, readFrom);
    bytes = Buffer.concat([chunk, bytes]);
    bytesStart = readFrom;
  }
  const last = bytes.lastIndexOf(NEWLINE);
  if (last === -1) return bytes.length > 0 ? { tornFrom: bytesStart } : {};
  const tail: Tail = {};
  if (last !== bytes.length - 1) tail.tornFrom = bytesStart + last + 1;
  const previous = last === 0 ? -1 : bytes.lastIndexOf(NEWLINE, last - 1);
  tail.lastLine = { text: bytes.subarray(previous + 1, last).toString('utf8'), start: bytesStart + previous + 1 };
  return tail;
}
