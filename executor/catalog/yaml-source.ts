/**
 * A YAML file read with its source positions, so that every problem found later (a bad value,
 * an unknown reference) can name the file, the line and the key path.
 */
import { isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';

export type KeyPath = readonly (string | number)[];

/** `actions[3].allow.roles[0]` */
export function formatPath(path: KeyPath): string {
  return path.map((part, index) => (typeof part === 'number' ? `[${part}]` : index === 0 ? part : `.${part}`)).join('');
}

export class YamlSource {
  readonly data: unknown;
  /** Syntax errors, already formatted as `file:line message`. */
  readonly syntaxErrors: string[];
  private readonly document: Document;
  private readonly lines = new LineCounter();

  constructor(
    readonly fileName: string,
    text: string,
  ) {
    this.document = parseDocument(text, { lineCounter: this.lines, uniqueKeys: true });
    this.syntaxErrors = this.document.errors.map((error) => {
      const line = error.linePos?.[0].line ?? 1;
      const firstLine = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
      return `${fileName}:${line} ${firstLine}`;
    });
    this.data = this.syntaxErrors.length === 0 ? this.document.toJS() : undefined;
  }

  /** `file:line path: message`, the line being that of the deepest node of the path that exists. */
  problem(path: KeyPath, message: string): string {
    const where = path.length === 0 ? '' : ` ${formatPath(path)}`;
    return `${this.fileName}:${this.lineOf(path)}${where}: ${message}`;
  }

  /** The line of a map key (for unknown keys, whose value may span many lines). */
  keyProblem(mapPath: KeyPath, key: string, message: string): string {
    const map = this.nodeAt(mapPath);
    const pair = isMap(map) ? map.items.find((item) => isScalar(item.key) && item.key.value === key) : undefined;
    const offset = pair && isNode(pair.key) ? pair.key.range?.[0] : undefined;
    const line = offset === undefined ? this.lineOf(mapPath) : this.lines.linePos(offset).line;
    return `${this.fileName}:${line} ${formatPath([...mapPath, key])}: ${message}`;
  }

  lineOf(path: KeyPath): number {
    for (let length = path.length; length >= 0; length--) {
      const node = this.nodeAt(path.slice(0, length));
      const offset = isNode(node) ? node.range?.[0] : undefined;
      if (offset !== undefined) return this.lines.linePos(offset).line;
    }
    return 1;
  }

  private nodeAt(path: KeyPath): unknown {
    let node: unknown = this.document.contents;
    for (const part of path) {
      if (isMap(node)) node = node.items.find((item) => isScalar(item.key) && item.key.value === part)?.value;
      else if (isSeq(node) && typeof part === 'number') node = node.items[part];
      else return undefined;
    }
    return node;
  }
}
