// Writes a build to disk all at once: everything goes to a fresh sibling
// directory first and is renamed into place, so a failed build leaves no
// partial output and a reader never sees half of one.
import { mkdirSync, mkdtempSync, writeFileSync, chmodSync, renameSync, rmSync, existsSync, readdirSync, utimesSync } from "node:fs";
import { dirname, join, basename, resolve } from "node:path";

export interface OutFile {
  readonly path: string;
  readonly mode: number;
  readonly content: Buffer;
}

export class OutputError extends Error {}

/** The marker a previous build left; only such a directory is replaced. */
export const MARKER = "MANIFEST";

export function writeOutput(outDir: string, files: readonly OutFile[], mtime: number): void {
  const target = resolve(outDir);
  if (existsSync(target) && readdirSync(target).length > 0 && !existsSync(join(target, MARKER)))
    throw new OutputError(`${outDir} exists and is not a previous synapse-systemd output (no ${MARKER}); refusing to replace it`);
  mkdirSync(dirname(target), { recursive: true });
  const tmp = mkdtempSync(join(dirname(target), `.${basename(target)}.tmp-`));
  try {
    for (const f of files) {
      const p = join(tmp, f.path);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, f.content);
      chmodSync(p, f.mode);
      utimesSync(p, mtime, mtime);
    }
    if (existsSync(target)) {
      const old = `${tmp}.old`;
      renameSync(target, old);
      renameSync(tmp, target);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(tmp, target);
    }
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
