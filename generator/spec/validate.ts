// Parsed spec → validated Spec, or every problem found, each pointing at the text.
import { z } from "zod";
import type { Diagnostic } from "../diagnostics.js";
import { formatPath, sortDiagnostics } from "../diagnostics.js";
import { Spec } from "./schema.js";
import { parseSpecText, locate, type SpecSource, type SpecPath } from "./source.js";
import { crossFieldRules, forbiddenKeys, workerRules, type Finding } from "./rules.js";
import { resolveWorkers, type ResolvedWorker } from "./allocate.js";

export type Validated =
  | { ok: true; spec: Spec; workers: ResolvedWorker[]; source: SpecSource }
  | { ok: false; diagnostics: Diagnostic[] };

export function validateSpecText(file: string, text: string): Validated {
  const parsed = parseSpecText(file, text);
  if (parsed.data === undefined) return { ok: false, diagnostics: sortDiagnostics(parsed.diagnostics) };
  const { source } = parsed;
  const diag = (f: Finding): Diagnostic => {
    const { line, col } = locate(source, f.path, f.key !== undefined ? { key: f.key } : {});
    const path = f.key !== undefined ? formatPath([...f.path, f.key]) : formatPath(f.path);
    return { file, line, col, path, message: f.message, ...(f.hint ? { hint: f.hint } : {}) };
  };

  const findings: Finding[] = forbiddenKeys(source);
  const forbidden = new Set(findings.map((f) => formatPath([...f.path, f.key ?? ""])));
  const result = Spec.safeParse(parsed.data, { reportInput: true });
  if (!result.success) {
    for (const issue of result.error.issues) {
      for (const f of fromZodIssue(issue)) {
        if (!forbidden.has(formatPath([...f.path, f.key ?? ""]))) findings.push(f);
      }
    }
  }
  // Cross-field rules run on the defaulted spec when it is well-formed, else on the
  // raw data, so a spec with a type error still gets its duplicate names reported.
  findings.push(...crossFieldRules(result.success ? result.data : parsed.data, source));
  if (findings.length > 0 || !result.success) return { ok: false, diagnostics: dedupe(sortDiagnostics(findings.map(diag))) };
  // Only a well-formed spec has workers to allocate and to check as a whole.
  const workers = resolveWorkers(result.data);
  findings.push(...workerRules(result.data, workers, source));
  if (findings.length > 0) return { ok: false, diagnostics: dedupe(sortDiagnostics(findings.map(diag))) };
  return { ok: true, spec: result.data, workers, source };
}

function dedupe(ds: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return ds.filter((d) => {
    const k = `${d.line}:${d.col}:${d.path}:${d.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return String(v);
}

function kind(v: unknown): string {
  if (v === null || v === undefined) return "nothing";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  if (typeof v === "string") return `the string ${JSON.stringify(v)}`;
  return `the ${typeof v} ${String(v)}`;
}

function fromZodIssue(issue: z.core.$ZodIssue): Finding[] {
  const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((key) => {
        const known = knownKeys(path);
        const near = closest(key, known);
        return {
          path,
          key,
          message: `unknown key ${JSON.stringify(key)}`,
          hint: near ? `did you mean ${JSON.stringify(near)}?` : known.length ? `known keys here: ${known.join(", ")}` : undefined,
        };
      });
    case "invalid_type":
      return [{ path, message: `expected ${article(issue.expected)}, got ${kind(input)}` }];
    case "invalid_value":
      return [{ path, message: `${show(input)} is not one of: ${issue.values.map((v) => String(v)).join(", ")}` }];
    case "invalid_format":
    case "custom":
      return [{ path, message: input === undefined ? issue.message : `${show(input)} ${issue.message}` }];
    case "too_small":
      return [{ path, message: issue.origin === "array" ? `needs at least ${String(issue.minimum)} item(s)` : `${show(input)} is below the minimum ${String(issue.minimum)}` }];
    case "too_big":
      return [{ path, message: `${show(input)} is above the maximum ${String(issue.maximum)}` }];
    case "invalid_union": {
      // Report the alternative that got furthest: a wrong type on the union itself
      // or a failed pattern says little; a deeper or more specific issue says more.
      const branches = issue.errors
        .map((b) => b.map((i) => ({ ...i, path: [...path, ...i.path] }) as z.core.$ZodIssue))
        .filter((b) => b.length > 0 && !b.every((i) => i.path.length === path.length && (i.code === "invalid_type" || i.code === "invalid_format")));
      const best = branches.sort((a, b) => Math.max(...b.map((i) => i.path.length)) - Math.max(...a.map((i) => i.path.length)))[0];
      return best ? best.flatMap((i) => fromZodIssue({ ...i, input: (i as { input?: unknown }).input ?? input } as z.core.$ZodIssue)) : [{ path, message: `${show(input)} is not valid here` }];
    }
    case "invalid_key":
      return issue.issues.flatMap((i) => fromZodIssue({ ...i, path: [...path, ...i.path] } as z.core.$ZodIssue)).map((f) => ({
        ...f,
        message: `key ${f.message}`,
      }));
    default:
      return [{ path, message: issue.message }];
  }
}

function article(t: string): string {
  const names: Record<string, string> = { object: "a mapping", array: "a list", string: "a string", number: "a number", boolean: "true or false" };
  return names[t] ?? t;
}

// The keys the schema accepts at a path, for "did you mean" hints.
function knownKeys(path: SpecPath): string[] {
  let s: unknown = Spec;
  for (const seg of [...path, null]) {
    s = unwrap(s);
    if (seg === null) break;
    const def = (s as { _zod?: { def?: { type?: string; shape?: Record<string, unknown>; element?: unknown } } })._zod?.def;
    if (def?.type === "object" && typeof seg === "string") s = def.shape?.[seg];
    else if (def?.type === "array" && typeof seg === "number") s = def.element;
    else return [];
  }
  const def = (s as { _zod?: { def?: { type?: string; shape?: Record<string, unknown> } } })._zod?.def;
  return def?.type === "object" && def.shape ? Object.keys(def.shape) : [];
}

function unwrap(s: unknown): unknown {
  for (;;) {
    const def = (s as { _zod?: { def?: { type?: string; innerType?: unknown; in?: unknown } } })._zod?.def;
    if (!def) return s;
    if (["default", "prefault", "optional", "nullable", "catch", "readonly"].includes(def.type ?? "")) s = def.innerType;
    else if (def.type === "pipe") s = def.in;
    else return s;
  }
}

function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}
