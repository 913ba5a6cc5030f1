/**
 * Runs on files without replaying history at start-up: the asynchronous run port
 * (state-port.ts) over the same `runs.jsonl` as FileRuns, plus an index that checkpoints make
 * durable, so opening reads the last checkpoint and the lines written after it, whatever the
 * number of runs behind it.
 *
 *   runs.jsonl                  every record, appended (group commit); the source of truth
 *   runs-index/checkpoint.json  how far the index covers runs.jsonl, the unfinished runs then,
 *                               and the durable size of each index file
 *   runs-index/ids/<xx>.tsv     "<id>\t<offset>\t<length>": where a run's latest line is (last wins),
 *                               256 files by a hash of the id
 *   runs-index/created.tsv      "<id>\t<principal as JSON>" per run, in creation order
 *   runs-index/principals/<xx>.tsv  the same lines, 64 files by a hash of the principal
 *
 * Between checkpoints, the records written since the last one are held in memory (at most
 * `checkpointEvery` lines' worth), with every unfinished run; everything older is read from
 * disk on demand: a lookup reads one id file and one line of runs.jsonl. The index is derived
 * data: a missing or damaged index is rebuilt from runs.jsonl (once, reading it whole), so a
 * data folder written by FileRuns opens here unchanged. Index files are read only up to their
 * size in the checkpoint, and each append first cuts a file back to that size, so lines of a
 * checkpoint that never finished are ignored, then overwritten. See docs/store.md.
 */
import { open, readFile, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Logger } from '../../lib/logger.ts';
import { DeputyError } from '../contract/errors.ts';
import { isFinalRunState, type RunState } from '../contract/index.ts';
import { RunRecordSchema, type RunRecord } from '../domain.ts';
import { ensurePrivateDir, fsyncDir, isMissingFile, openAppendOnly, PRIVATE_FILE_MODE, writeFileDurably } from './files.ts';
import { GroupCommitFile } from './group-commit.ts';
import { readLinesBefore, scanLines } from './lines.ts';
import { RunOutputFiles } from './output-files.ts';
import type { RunFilter, StoredRecord } from './port.ts';
import { assertRunId, parseJsonOrUndefined, parseOutput, parseRun, StoredRecordSchema } from './run-index.ts';
import { besides, type Alongside, type AsyncRunStore, type TransitionOptions, type TransitionResult, type UnfinishedRunState } from './state-port.ts';

const ID_FILES = 256;
/** Index files flushed at once by a checkpoint, so its fsyncs leave threads for the run log's. */
const FLUSH_PARALLELISM = 2;
const PRINCIPAL_FILES = 64;
const CHECKPOINT_FORMAT = 1;
/** Output (as JSON) up to this size is stored in its run's final line rather than a file of its own. */
export const INLINE_OUTPUT_BYTES = 16 * 1024;

interface Location {
  offset: number;
  length: number;
}

interface Written {
  record: RunRecord;
  location: Location;
}

/** What was written since a checkpoint: the latest record of each run touched, and the runs created, in order. */
class Segment {
  readonly latest = new Map<string, Written>();
  readonly created: Array<{ id: string; principal: string }> = [];
  lines = 0;
}

const CheckpointSchema = z.object({
  format: z.literal(CHECKPOINT_FORMAT),
  /** runs.jsonl up to here is in the index files. */
  logBytes: z.number().int().min(0),
  /** Runs created up to logBytes (the next run's creation ordinal). */
  created: z.number().int().min(0),
  /** Durable size of each index file, by its path under runs-index/. */
  sizes: z.record(z.string(), z.number().int().min(0)),
  /** Runs not in a final state at logBytes, with their creation ordinal. */
  unfinished: z.array(z.object({ ordinal: z.number().int().min(0), record: RunRecordSchema })),
});
type Checkpoint = z.infer<typeof CheckpointSchema>;

const EMPTY_CHECKPOINT: Checkpoint = { format: CHECKPOINT_FORMAT, logBytes: 0, created: 0, sizes: {}, unfinished: [] };

/** FNV-1a: a stable spread of ids and principals over the index files. */
function bucket(text: string, buckets: number): string {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return (hash % buckets).toString(16).padStart(2, '0');
}

const idFile = (id: string) => `ids/${bucket(id, ID_FILES)}.tsv`;
const principalFile = (principal: string) => `principals/${bucket(principal, PRINCIPAL_FILES)}.tsv`;
const CREATED_FILE = 'created.tsv';

function parseStoredRun(text: string, where: string): RunRecord {
  const parsed = RunRecordSchema.safeParse(parseJsonOrUndefined(text));
  if (!parsed.success) throw new DeputyError('DEPUTY_E_INTERNAL', { message: `The run history is damaged at ${where}; fix or remove that line.` });
  return parsed.data;
}

/** A creation line of created.tsv or a principal file: the id, then the principal as JSON. */
function parseCreationLine(text: string): { id: string; principal: string } | undefined {
  const tab = text.indexOf('\t');
  if (tab <= 0) return undefined;
  const principal = parseJsonOrUndefined(text.slice(tab + 1));
  return typeof principal === 'string' ? { id: text.slice(0, tab), principal } : undefined;
}

export interface IndexedFileRunsOptions {
  /** runs.jsonl */
  path: string;
  indexDir: string;
  outputDir: string;
  logger: Logger;
  /** Lines between checkpoints: what opening may have to replay, and what is held in memory. */
  checkpointEvery?: number;
  /** Lines held in memory at once while opening reads a long tail (the first open of an old folder); default 50,000. */
  replayChunk?: number;
}

interface PendingLine {
  record: RunRecord;
  line: string;
  created: boolean;
}

export class IndexedFileRuns implements AsyncRunStore {
  private current = new Segment();
  /** The segment a checkpoint is writing to the index files; still read from memory until that is durable. */
  private flushing: Segment | undefined;
  private readonly unfinishedRuns = new Map<string, { ordinal: number; record: RunRecord }>();
  private createdCount: number;
  private sizes: Record<string, number>;
  private checkpointing: Promise<void> | undefined;
  /** Index files written by a replay chunk and not flushed yet. */
  private readonly unsynced = new Set<string>();
  /** Writes to one run wait for the previous one, so `transition` compares against the latest state. */
  private readonly runLocks = new Map<string, Promise<unknown>>();
  private log!: GroupCommitFile<PendingLine, Location>;
  private closed = false;
  /** Lines read from runs.jsonl when this store opened (the replay after the last checkpoint). */
  readonly replayedLines: number;

  private constructor(
    private readonly options: Required<IndexedFileRunsOptions>,
    private readonly reader: FileHandle,
    private readonly outputs: RunOutputFiles,
    checkpoint: Checkpoint,
    replayedLines: number,
  ) {
    this.createdCount = checkpoint.created;
    this.sizes = { ...checkpoint.sizes };
    for (const { ordinal, record } of checkpoint.unfinished) this.unfinishedRuns.set(record.id, { ordinal, record });
    this.replayedLines = replayedLines;
  }

  static async open(options: IndexedFileRunsOptions): Promise<IndexedFileRuns> {
    const settings: Required<IndexedFileRunsOptions> = { checkpointEvery: 10_000, replayChunk: 50_000, ...options };
    const { logger } = settings;
    await ensurePrivateDir(settings.indexDir, logger);
    await ensurePrivateDir(join(settings.indexDir, 'ids'), logger);
    await ensurePrivateDir(join(settings.indexDir, 'principals'), logger);
    await ensurePrivateDir(settings.outputDir, logger);
    const { handle, size } = await openAppendOnly(settings.path);
    const reader = await open(settings.path, 'r');
    try {
      let checkpoint = await readCheckpoint(settings.indexDir, logger);
      if (checkpoint && checkpoint.logBytes > size) {
        logger.warn({ path: settings.path }, 'the run index covers more than runs.jsonl holds; rebuilding it');
        checkpoint = undefined;
      }
      if (!checkpoint) {
        await rm(join(settings.indexDir, 'checkpoint.json'), { force: true });
        checkpoint = EMPTY_CHECKPOINT;
      }
      const store = new IndexedFileRuns(settings, reader, new RunOutputFiles(settings.outputDir), checkpoint, 0);
      const { durableSize, lines } = await store.replay(handle, checkpoint, size);
      (store as { replayedLines: number }).replayedLines = lines;
      store.log = new GroupCommitFile<PendingLine, Location>(handle, settings.path, durableSize, (batch) => {
        let offset = store.log.size;
        const written = batch.map((pending) => {
          const length = Buffer.byteLength(pending.line) - 1;
          const location = { offset, length };
          offset += length + 1;
          return location;
        });
        return {
          text: batch.map((pending) => pending.line).join(''),
          results: written,
          // Memory changes only once the lines are durable: nobody reads a run that a crash could take back.
          commit: () => batch.forEach((pending, index) => store.apply(pending.record, written[index] as Location, pending.created)),
        };
      });
      return store;
    } catch (error) {
      await handle.close();
      await reader.close();
      throw error;
    }
  }

  async create(run: RunRecord, alongside?: Alongside): Promise<void> {
    const record = parseRun(run);
    await this.exclusive(record.id, async () => {
      if ((await this.get(record.id)) !== undefined) throw new DeputyError('DEPUTY_E_CONFLICT', { detail: `run ${record.id} exists already` });
      await besides(this.append({ record, line: `${JSON.stringify(record)}\n`, created: true }), alongside);
    });
  }

  /**
   * The compare-and-set is decided here, in memory (one process owns the files, and one run's
   * changes wait for each other), so `alongside` starts before the record's flush and shares its
   * round trip. A final state's output up to INLINE_OUTPUT_BYTES rides in the record's own line
   * (one flush where an output file costs another before it); larger output is its file first.
   */
  async transition(id: string, expected: RunState, next: RunRecord, options: TransitionOptions = {}): Promise<TransitionResult> {
    const record = parseRun(next);
    if (record.id !== id) throw new DeputyError('DEPUTY_E_INTERNAL', { detail: `transition of run ${id} was given the record of run ${record.id}` });
    return this.exclusive(id, async () => {
      const current = await this.get(id);
      if (current?.state !== expected) return { ok: false as const, current };
      // A final run changed again keeps the output its previous line carried.
      const output = options.output ?? (isFinalRunState(current.state) ? await this.inlineOutput(id) : undefined);
      const line = await this.lineWithOutput(record, output);
      await besides(this.append({ record, line, created: false }), options.alongside);
      return { ok: true as const, run: structuredClone(record) };
    });
  }

  async get(id: string): Promise<RunRecord | undefined> {
    assertRunId(id);
    const inMemory = this.current.latest.get(id) ?? this.flushing?.latest.get(id);
    if (inMemory) return structuredClone(inMemory.record);
    const unfinished = this.unfinishedRuns.get(id);
    if (unfinished) return structuredClone(unfinished.record);
    const location = await this.locate(id);
    return location && this.readAt(location);
  }

  async list(filter: RunFilter): Promise<RunRecord[]> {
    const limit = Math.max(0, Math.floor(filter.limit));
    const found: RunRecord[] = [];
    if (limit === 0) return found;
    const matches = (record: RunRecord) =>
      (filter.principal === undefined || record.principalId === filter.principal) && (filter.state === undefined || record.state === filter.state);
    // Unfinished runs are all in memory: a filter on one of their states never reads the history.
    if (filter.state !== undefined && !isFinalRunState(filter.state)) {
      return [...this.unfinishedRuns.values()]
        .filter(({ record }) => matches(record))
        .sort((a, b) => b.ordinal - a.ordinal)
        .slice(0, limit)
        .map(({ record }) => structuredClone(record));
    }
    await this.newestFirst(filter.principal, async (id) => {
      const record = await this.get(id);
      if (record && matches(record)) found.push(record);
      return found.length < limit;
    });
    return found;
  }

  async unfinished(): Promise<RunRecord[]> {
    return [...this.unfinishedRuns.values()].sort((a, b) => a.ordinal - b.ordinal).map(({ record }) => structuredClone(record));
  }

  async count(filter: { state: UnfinishedRunState; principal?: string }): Promise<number> {
    let count = 0;
    for (const { record } of this.unfinishedRuns.values()) if (record.state === filter.state && (filter.principal === undefined || record.principalId === filter.principal)) count += 1;
    return count;
  }

  writeOutput(runId: string, records: StoredRecord[]): Promise<void> {
    return this.outputs.write(runId, records);
  }

  async readOutput(runId: string): Promise<StoredRecord[]> {
    return (await this.inlineOutput(runId)) ?? this.outputs.read(runId);
  }

  /** A record line, with `output` when it is small enough to ride along; larger output is made durable in its file first. */
  private async lineWithOutput(record: RunRecord, output: StoredRecord[] | undefined): Promise<string> {
    if (output === undefined) return `${JSON.stringify(record)}\n`;
    const records = parseOutput(output);
    const text = JSON.stringify(records);
    if (Buffer.byteLength(text) <= INLINE_OUTPUT_BYTES) return `${JSON.stringify({ ...record, output: records })}\n`;
    await this.outputs.write(record.id, records);
    return `${JSON.stringify(record)}\n`;
  }

  /** The output carried by the run's latest durable line, if it carries any. */
  private async inlineOutput(id: string): Promise<StoredRecord[] | undefined> {
    assertRunId(id);
    const written = this.current.latest.get(id) ?? this.flushing?.latest.get(id);
    const location = written ? written.location : this.unfinishedRuns.has(id) ? undefined : await this.locate(id);
    if (!location) return undefined;
    const where = `byte ${location.offset} of ${this.options.path}`;
    const line = parseJsonOrUndefined(await this.readLineAt(location));
    if (typeof line !== 'object' || line === null || !('output' in line)) return undefined;
    const parsed = z.array(StoredRecordSchema).safeParse(line.output);
    if (!parsed.success) throw new DeputyError('DEPUTY_E_INTERNAL', { message: `The run history is damaged at ${where}; fix or remove that line.` });
    return parsed.data;
  }

  /** Makes everything written so far part of the index (close does this too). */
  async checkpoint(): Promise<void> {
    while (this.checkpointing) await this.checkpointing;
    if (this.current.lines === 0) return;
    this.checkpointing = this.writeCheckpoint().finally(() => {
      this.checkpointing = undefined;
    });
    await this.checkpointing;
  }

  get syncs(): number {
    return this.log.syncs;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.runLocks.values());
    await this.log.close();
    await this.checkpoint();
    await this.reader.close();
  }

  private exclusive<T>(id: string, work: () => Promise<T>): Promise<T> {
    const previous = this.runLocks.get(id) ?? Promise.resolve();
    const result = previous.then(work);
    const settled = result.catch(() => undefined);
    this.runLocks.set(id, settled);
    void settled.then(() => {
      if (this.runLocks.get(id) === settled) this.runLocks.delete(id);
    });
    return result;
  }

  private async append(pending: PendingLine): Promise<void> {
    await this.log.submit(pending);
    if (this.current.lines >= this.options.checkpointEvery && !this.checkpointing) {
      this.checkpoint().catch((error: unknown) => this.options.logger.error({ err: error }, 'writing a run index checkpoint failed; the next one retries'));
    }
  }

  private apply(record: RunRecord, location: Location, created: boolean): void {
    const segment = this.current;
    segment.latest.set(record.id, { record, location });
    segment.lines += 1;
    let ordinal = this.unfinishedRuns.get(record.id)?.ordinal;
    if (created) {
      ordinal = this.createdCount;
      this.createdCount += 1;
      segment.created.push({ id: record.id, principal: record.principalId });
    }
    if (isFinalRunState(record.state)) this.unfinishedRuns.delete(record.id);
    else if (ordinal !== undefined) this.unfinishedRuns.set(record.id, { ordinal, record });
  }

  /**
   * Reads runs.jsonl after the checkpoint into memory, checkpointing every `checkpointEvery`
   * lines so a long tail (a first open of an old data folder) never sits in memory whole.
   * Returns the durable end of the file (a torn last line is cut off) and the lines read.
   */
  private async replay(handle: FileHandle, checkpoint: Checkpoint, size: number): Promise<{ durableSize: number; lines: number }> {
    // Runs first seen in this replay; whether an id was created before the checkpoint is asked of the index files.
    const seen = new Set<string>();
    let position = checkpoint.logBytes;
    let lines = 0;
    for (;;) {
      const chunk: Array<{ record: RunRecord; location: Location }> = [];
      let tornFrom: number | undefined;
      let next = position;
      const chunkLines = this.options.replayChunk;
      await scanLines(
        handle,
        (line) => {
          if (!line.terminated) {
            tornFrom = line.start;
            return false;
          }
          next = line.start + line.bytes + 1;
          if (line.text.trim() !== '') chunk.push({ record: parseStoredRun(line.text, `byte ${line.start} of ${this.options.path}`), location: { offset: line.start, length: line.bytes } });
          return chunk.length < chunkLines;
        },
        size,
        position,
      );
      const fresh = chunk.filter(({ record }) => !seen.has(record.id)).map(({ record }) => record.id);
      const existing = checkpoint.logBytes === 0 ? new Set<string>() : await this.indexedIds(fresh, checkpoint.sizes);
      for (const { record, location } of chunk) {
        const created = !seen.has(record.id) && !existing.has(record.id) && !this.unfinishedRuns.has(record.id);
        seen.add(record.id);
        this.apply(record, location, created);
      }
      lines += chunk.length;
      position = next;
      if (tornFrom !== undefined) {
        // A crash cut the last write short; its put never returned, so dropping it loses nothing promised.
        this.options.logger.warn({ path: this.options.path, offset: tornFrom, bytes: size - tornFrom }, 'dropping an incomplete last line of the run history (a write was cut off)');
        await handle.truncate(tornFrom);
        await handle.datasync();
        if (this.unsynced.size > 0) await this.writeCheckpoint(tornFrom);
        return { durableSize: tornFrom, lines };
      }
      if (chunk.length < chunkLines) {
        // A long replay flushed chunks without making them durable; one checkpoint now makes all of it count.
        if (this.unsynced.size > 0) await this.writeCheckpoint(size);
        return { durableSize: size, lines };
      }
      // Out of memory's way, not yet durable: a crash before the checkpoint above just replays again.
      await this.writeCheckpoint(position, false);
    }
  }

  /** Of `ids`, those the index files (as of `sizes`) know. One read per id file. */
  private async indexedIds(ids: string[], sizes: Record<string, number>): Promise<Set<string>> {
    const byFile = new Map<string, string[]>();
    for (const id of ids) byFile.set(idFile(id), [...(byFile.get(idFile(id)) ?? []), id]);
    const known = new Set<string>();
    for (const [file, fileIds] of byFile) {
      const text = await this.readIndexFile(file, sizes);
      for (const id of fileIds) if (findIdLine(text, id) !== undefined) known.add(id);
    }
    return known;
  }

  private async readIndexFile(file: string, sizes: Record<string, number>): Promise<Buffer> {
    const size = sizes[file] ?? 0;
    if (size === 0) return Buffer.alloc(0);
    const handle = await open(join(this.options.indexDir, file), 'r');
    try {
      const buffer = Buffer.allocUnsafe(size);
      const { bytesRead } = await handle.read(buffer, 0, size, 0);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }

  private async locate(id: string): Promise<Location | undefined> {
    const text = await this.readIndexFile(idFile(id), this.sizes);
    const line = findIdLine(text, id);
    if (line === undefined) return undefined;
    const [, offset, length] = line.split('\t');
    return { offset: Number(offset), length: Number(length) };
  }

  private async readAt(location: Location): Promise<RunRecord> {
    return parseStoredRun(await this.readLineAt(location), `byte ${location.offset} of ${this.options.path}`);
  }

  private async readLineAt(location: Location): Promise<string> {
    const buffer = Buffer.allocUnsafe(location.length);
    await this.reader.read(buffer, 0, location.length, location.offset);
    return buffer.toString('utf8');
  }

  /** Calls `visit` with run ids, newest created first (of one principal, when given), until it answers false. */
  private async newestFirst(principal: string | undefined, visit: (id: string) => Promise<boolean>): Promise<void> {
    // Snapshot the sources now: a checkpoint finishing meanwhile moves entries from memory to disk.
    const sizes = this.sizes;
    const inMemory = [...(this.flushing?.created ?? []), ...this.current.created].filter((entry) => principal === undefined || entry.principal === principal);
    for (let index = inMemory.length - 1; index >= 0; index -= 1) {
      if (!(await visit((inMemory[index] as { id: string }).id))) return;
    }
    const file = principal === undefined ? CREATED_FILE : principalFile(principal);
    let end = sizes[file] ?? 0;
    if (end === 0) return;
    const handle = await open(join(this.options.indexDir, file), 'r');
    try {
      while (end > 0) {
        const page = await readLinesBefore(handle, end);
        for (const text of page.lines) {
          const entry = parseCreationLine(text);
          if (entry && (principal === undefined || entry.principal === principal) && !(await visit(entry.id))) return;
        }
        end = page.next;
      }
    } finally {
      await handle.close();
    }
  }

  /**
   * Writes the current segment into the index files, then the checkpoint that makes them count.
   * With `durable` false (chunks of a long replay), the files are neither flushed nor counted:
   * the next durable checkpoint flushes them and writes checkpoint.json.
   */
  private async writeCheckpoint(logBytes = this.log.size, durable = true): Promise<void> {
    const segment = this.current;
    this.current = new Segment();
    this.flushing = segment;
    const created = this.createdCount;
    const unfinished = [...this.unfinishedRuns.values()].map(({ ordinal, record }) => ({ ordinal, record }));
    try {
      const additions = new Map<string, string[]>();
      const add = (file: string, line: string) => {
        const lines = additions.get(file);
        if (lines) lines.push(line);
        else additions.set(file, [line]);
      };
      for (const [id, { location }] of segment.latest) add(idFile(id), `${id}\t${location.offset}\t${location.length}\n`);
      for (const { id, principal } of segment.created) {
        const line = `${id}\t${JSON.stringify(principal)}\n`;
        add(CREATED_FILE, line);
        add(principalFile(principal), line);
      }
      const sizes = { ...this.sizes };
      const queue = [...additions];
      const flushNext = async (): Promise<void> => {
        for (let next = queue.shift(); next; next = queue.shift()) {
          const [file, lines] = next;
          const text = lines.join('');
          await appendAt(join(this.options.indexDir, file), sizes[file] ?? 0, text, durable);
          sizes[file] = (sizes[file] ?? 0) + Buffer.byteLength(text);
          if (durable) this.unsynced.delete(file);
          else this.unsynced.add(file);
        }
      };
      await Promise.all(Array.from({ length: FLUSH_PARALLELISM }, flushNext));
      if (durable) {
        const left = [...this.unsynced];
        const syncNext = async (): Promise<void> => {
          for (let file = left.shift(); file; file = left.shift()) await syncFile(join(this.options.indexDir, file));
        };
        await Promise.all(Array.from({ length: FLUSH_PARALLELISM }, syncNext));
        this.unsynced.clear();
        await Promise.all(['', 'ids', 'principals'].map((dir) => fsyncDir(join(this.options.indexDir, dir))));
        const checkpoint: Checkpoint = { format: CHECKPOINT_FORMAT, logBytes, created, sizes, unfinished };
        await writeFileDurably(join(this.options.indexDir, 'checkpoint.json'), JSON.stringify(checkpoint));
      }
      this.sizes = sizes;
      this.flushing = undefined;
    } catch (error) {
      // Nothing counts until the checkpoint file is replaced: fold the segment back and try again later.
      for (const [id, written] of segment.latest) if (!this.current.latest.has(id)) this.current.latest.set(id, written);
      this.current.created.unshift(...segment.created);
      this.current.lines += segment.lines;
      this.flushing = undefined;
      throw error;
    }
  }
}

/** The last line of an id file that names `id`, if any. */
function findIdLine(text: Buffer, id: string): string | undefined {
  const needle = Buffer.from(`\n${id}\t`);
  let at = text.lastIndexOf(needle);
  let start: number;
  if (at !== -1) start = at + 1;
  else if (text.subarray(0, needle.length - 1).equals(needle.subarray(1))) start = 0;
  else return undefined;
  at = text.indexOf(0x0a, start);
  return text.subarray(start, at === -1 ? text.length : at).toString('utf8');
}

/** Appends `text` at `at` (the file's known size: anything after it is a checkpoint that never finished), flushed when `durable`. */
async function appendAt(path: string, at: number, text: string, durable: boolean): Promise<void> {
  const handle = await open(path, 'a+', PRIVATE_FILE_MODE);
  try {
    const { size } = await handle.stat();
    if (size !== at) await handle.truncate(at);
    await handle.write(text, at, 'utf8');
    if (durable) await handle.datasync();
  } finally {
    await handle.close();
  }
}

async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

async function readCheckpoint(indexDir: string, logger: Logger): Promise<Checkpoint | undefined> {
  let text: string;
  try {
    text = await readFile(join(indexDir, 'checkpoint.json'), 'utf8');
  } catch (error) {
    if (isMissingFile(error)) return undefined;
    throw error;
  }
  const parsed = CheckpointSchema.safeParse(parseJsonOrUndefined(text));
  if (parsed.success) return parsed.data;
  logger.warn({ indexDir }, 'the run index checkpoint is damaged; rebuilding the index from runs.jsonl');
  return undefined;
}
