/**
 * Reading JSON-lines files without holding them in memory: a forward scan in large chunks
 * (open and verify) and a backward read of the last line (continuing the audit chain).
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
  /** False for a last line with no newline: a write that was cut off. */
  terminated: boolean;
}

/**
 * Calls `onLine` for each line of the file up to byte `end` (default: the whole file), in
 * order. Returning `false` from `onLine` stops the scan.
 */
export async function scanLines(handle: FileHandle, onLine: (line: Line) => boolean | void, end?: number): Promise<void> {
  const limit = end ?? (await handle.stat()).size;
  const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  let carried: Buffer[] = [];
  let lineStart = 0;
  let number = 0;
  let position = 0;
  while (position < limit) {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(CHUNK_BYTES, limit - position), position);
    if (bytesRead === 0) break;
    const chunk = buffer.subarray(0, bytesRead);
    let from = 0;
    for (let newline = chunk.indexOf(NEWLINE); newline !== -1; newline = chunk.indexOf(NEWLINE, from)) {
      const piece = chunk.subarray(from, newline);
      const bytes = carried.length > 0 ? Buffer.concat([...carried, piece]) : piece;
      number += 1;
      if (onLine({ text: bytes.toString('utf8'), number, start: lineStart, terminated: true }) === false) return;
      carried = [];
      from = newline + 1;
      lineStart = position + from;
    }
    // The buffer is reused for the next chunk, so keep a copy of the unfinished line.
    if (from < bytesRead) carried.push(Buffer.from(chunk.subarray(from)));
    position += bytesRead;
  }
  if (carried.length > 0) {
    onLine({ text: Buffer.concat(carried).toString('utf8'), number: number + 1, start: lineStart, terminated: false });
  }
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
