// User errors are data: every problem found in one run, each pointing at the spec.
export interface Diagnostic {
  /** Spec file name as the user gave it ("-" or "<stdin>" for standard input). */
  readonly file: string;
  readonly line: number;
  readonly col: number;
  /** Dotted spec path, e.g. "workers[1].name"; "" for the document itself. */
  readonly path: string;
  readonly message: string;
  readonly hint?: string;
}

export function formatPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out === "" ? seg : `.${seg}`;
  }
  return out;
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = `${d.file}:${d.line}:${d.col}`;
  const head = d.path === "" ? `${where}: ${d.message}` : `${where}: ${d.path}: ${d.message}`;
  return d.hint ? `${head}\n  hint: ${d.hint}` : head;
}

export function sortDiagnostics(ds: readonly Diagnostic[]): Diagnostic[] {
  return [...ds].sort((a, b) => a.line - b.line || a.col - b.col || (a.message < b.message ? -1 : 1));
}
