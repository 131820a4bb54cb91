// The in-memory file tree every emitter consumes. Paths are relative to the
// filesystem root ("etc/systemd/system/x.service"), never absolute, never "..".
export interface TreeFile {
  readonly path: string;
  /** Permission bits only (0o644, 0o755). Owner is always root:root in archives. */
  readonly mode: number;
  readonly content: Buffer;
}

export type FileTree = readonly TreeFile[];

export function textFile(path: string, content: string, mode = 0o644): TreeFile {
  return { path, mode, content: Buffer.from(content, "utf8") };
}

/** Sorted by path, byte order, so every archive lists entries the same way. */
export function sortTree(files: Iterable<TreeFile>): TreeFile[] {
  return [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Every parent directory of the files, sorted, each ending in "/". */
export function parentDirs(files: FileTree): string[] {
  const dirs = new Set<string>();
  for (const f of files) {
    const parts = f.path.split("/");
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join("/") + "/");
  }
  return [...dirs].sort();
}
