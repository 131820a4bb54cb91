// Spec text → YAML document with source positions. Nothing here knows the schema.
import { LineCounter, parseAllDocuments, isMap, isPair, isScalar, isSeq, visit, type Document, type Node } from "yaml";
import type { Diagnostic } from "../diagnostics.js";

export type SpecPath = readonly (string | number)[];

export interface SpecSource {
  readonly file: string;
  readonly text: string;
  readonly doc: Document.Parsed | undefined;
  readonly lines: LineCounter;
}

export interface Parsed {
  readonly source: SpecSource;
  /** The plain data, or undefined when the YAML itself is broken. */
  readonly data: unknown;
  readonly diagnostics: Diagnostic[];
}

export function parseSpecText(file: string, text: string): Parsed {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, version: "1.2" });
  const list = Array.isArray(docs) ? docs : [];
  const source: SpecSource = { file, text, doc: list[0], lines };
  const diagnostics: Diagnostic[] = [];
  const at = (offset: number, message: string, hint?: string) => {
    const { line, col } = lines.linePos(offset);
    diagnostics.push({ file, line, col, path: "", message, ...(hint ? { hint } : {}) });
  };
  for (const d of list) {
    for (const e of d.errors) at(e.pos[0], `YAML syntax error: ${firstLine(e.message)}`, yamlHint(e.code));
  }
  if (list.length > 1) {
    const second = list[1];
    at(second?.range[0] ?? 0, "the spec must be a single YAML document", "remove the '---' separator and merge the documents");
  }
  if (diagnostics.length > 0) return { source, data: undefined, diagnostics };
  // An empty file (or only comments) is an empty spec: every key at its default.
  if (source.doc === undefined) return { source, data: {}, diagnostics };
  let data: unknown;
  try {
    data = source.doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (e) {
    // The yaml library refuses alias expansions that would blow up ("billion laughs").
    at(0, `the spec cannot be read: ${e instanceof Error ? e.message : String(e)}`, "use fewer YAML aliases (*name)");
    return { source, data: undefined, diagnostics };
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    at(0, "the spec must be a YAML mapping (key: value pairs) at the top level");
    return { source, data: undefined, diagnostics };
  }
  return { source, data, diagnostics };
}

function firstLine(s: string): string {
  return s.split("\n")[0]?.trim() ?? s;
}

function yamlHint(code: string): string | undefined {
  switch (code) {
    case "DUPLICATE_KEY":
      return "each key may appear once in a mapping";
    case "TAB_AS_INDENT":
      return "indent with spaces, not tabs";
    case "BAD_INDENT":
    case "MISSING_CHAR":
      return "check the indentation and the ':' after each key";
    default:
      return undefined;
  }
}

/** Line and column of the node at `path`, or of its nearest ancestor present in the text. */
export function locate(source: SpecSource, path: SpecPath, opts: { key?: string } = {}): { line: number; col: number } {
  const doc = source.doc;
  if (!doc) return { line: 1, col: 1 };
  let node: unknown = doc.contents;
  let offset = (node as Node | null)?.range?.[0] ?? 0;
  for (const seg of path) {
    const next = childOf(node, seg);
    if (next === undefined) break;
    node = next.value;
    offset = next.offset;
  }
  if (opts.key !== undefined && isMap(node)) {
    const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === opts.key);
    const r = (pair?.key as Node | undefined)?.range;
    if (r) offset = r[0];
  }
  return source.lines.linePos(offset);
}

function childOf(node: unknown, seg: string | number): { value: unknown; offset: number } | undefined {
  if (isMap(node) && typeof seg === "string") {
    const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === seg);
    if (!pair) return undefined;
    const v = pair.value as Node | null;
    const offset = v?.range?.[0] ?? (pair.key as Node).range?.[0] ?? 0;
    return { value: v, offset };
  }
  if (isSeq(node) && typeof seg === "number") {
    const item = node.items[seg] as Node | undefined;
    if (!item?.range) return undefined;
    return { value: item, offset: item.range[0] };
  }
  return undefined;
}

/** Every mapping key in the document with its path, for rules that look at keys anywhere. */
export function everyKey(source: SpecSource): { key: string; path: SpecPath; value: unknown; offset: number }[] {
  const out: { key: string; path: SpecPath; value: unknown; offset: number }[] = [];
  if (!source.doc) return out;
  visit(source.doc, {
    Pair(_k, pair, ancestors) {
      if (!isPair(pair) || !isScalar(pair.key)) return;
      const path: (string | number)[] = [];
      ancestors.forEach((a, i) => {
        if (isPair(a) && isScalar(a.key)) path.push(String(a.key.value));
        else if (isSeq(a)) path.push(a.items.indexOf((ancestors[i + 1] ?? pair) as never));
      });
      const v = pair.value;
      out.push({
        key: String(pair.key.value),
        path,
        value: isScalar(v) ? v.value : v,
        offset: (pair.key as Node).range?.[0] ?? 0,
      });
    },
  });
  return out;
}
