// Deterministic tar and gzip writers. Output depends only on the arguments:
// no disk, no clock, no environment. The archives are read by GNU tar and by
// dpkg's own tar extractor (lib/dpkg/tarfn.c), which understands ustar
// prefix/name splitting and GNU long names but rejects pax headers ('x'), so
// pax is never written.
import { gzipSync } from "node:zlib";
import { Header } from "tar/header";
import { parentDirs, type FileTree } from "../tree.js";

export interface TarOptions {
  /** Modification time of every entry, in seconds since the epoch. */
  mtime: number;
  /** "./" for dpkg (adds a "./" root entry, like dpkg-deb), "" for a plain tarball. */
  prefix?: "" | "./";
}

const BLOCK = 512;
const DIR_MODE = 0o755;
// GNU tar's octal fields: 11 digits for mtime, so keep within that range and
// node-tar never needs to fall back to base-256 or pax for the timestamp.
const MAX_MTIME = 0o77777777777;

interface Entry {
  path: string;
  mode: number;
  content: Buffer | null; // null marks a directory
}

export function tarArchive(files: FileTree, opts: TarOptions): Buffer {
  const prefix = opts.prefix ?? "";
  if (prefix !== "" && prefix !== "./") throw new Error(`tar prefix must be "" or "./", got ${JSON.stringify(prefix)}`);
  if (!Number.isInteger(opts.mtime) || opts.mtime < 0 || opts.mtime > MAX_MTIME) {
    throw new Error(`tar mtime must be an integer number of seconds in [0, ${MAX_MTIME}], got ${opts.mtime}`);
  }
  const dirs = parentDirs(files);
  checkPaths(files, dirs);

  const entries: Entry[] = [
    ...dirs.map((d) => ({ path: d, mode: DIR_MODE, content: null })),
    ...files.map((f) => ({ path: f.path, mode: f.mode, content: f.content })),
  ];
  // A directory "a/" sorts before everything under it because it is a
  // strict prefix of those paths; plain code-unit order is what sortTree uses.
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  if (prefix === "./") entries.unshift({ path: "", mode: DIR_MODE, content: null });

  const mtime = new Date(opts.mtime * 1000);
  const chunks: Buffer[] = [];
  for (const e of entries) entryBlocks(chunks, prefix + e.path, e.mode, e.content, mtime);
  chunks.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(chunks);
}

/**
 * gzip that gives the same bytes everywhere the same zlib build runs:
 * no file name, MTIME 0 and the OS byte pinned to 3 (Unix), i.e. the header
 * `gzip -9n` writes on Linux. zlib picks the OS byte at compile time (macOS
 * and Windows builds differ), hence the patch. The deflate stream itself is
 * only stable per zlib build (`process.versions.zlib`).
 */
export function gzip(data: Buffer): Buffer {
  const out = gzipSync(data, { level: 9 });
  if (out.readUInt32LE(4) !== 0) throw new Error("zlib wrote a non-zero gzip MTIME");
  out[9] = 3;
  return out;
}

export function tarGz(files: FileTree, opts: TarOptions): Buffer {
  return gzip(tarArchive(files, opts));
}

// Appends the entry's blocks to `out` (one list for the whole archive, joined once).
function entryBlocks(out: Buffer[], path: string, mode: number, content: Buffer | null, mtime: Date): void {
  const isDir = content === null;
  const size = isDir ? 0 : content.length;
  const header = new Header({
    path,
    mode,
    uid: 0,
    gid: 0,
    size,
    mtime,
    type: isDir ? "Directory" : "File",
    uname: "root",
    gname: "root",
  });
  const block = Buffer.alloc(BLOCK);
  // encode() reports when the path did not fit the ustar name+prefix fields
  // (or is not ASCII); the other fields are range-checked above. It also
  // drops a directory's trailing "/" when it splits a long path into
  // prefix+name, so read the header back and keep the exact path in a GNU
  // long-name record whenever it does not survive.
  // Only a path longer than the 100-byte name field can have been split.
  const needLongName = header.encode(block, 0) || (path.length > 100 && new Header(block).path !== path);
  if (needLongName) out.push(...longNameBlocks(path, mtime));
  out.push(block);
  if (!isDir) {
    out.push(content);
    if (size % BLOCK !== 0) out.push(ZEROS.subarray(0, BLOCK - (size % BLOCK)));
  }
}

const ZEROS = Buffer.alloc(BLOCK);

// GNU long-name record ('L'): both GNU tar and dpkg's extractor apply its
// body to the next header. It is what `tar --format=gnu` (dpkg-deb) emits.
function longNameBlocks(path: string, mtime: Date): Buffer[] {
  const body = Buffer.from(path + "\0", "utf8");
  const header = new Header({
    path: "././@LongLink",
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: body.length,
    mtime,
    type: "NextFileHasLongPath",
    uname: "root",
    gname: "root",
  });
  const block = Buffer.alloc(BLOCK);
  if (header.encode(block, 0)) throw new Error("tar: could not encode GNU long-name header");
  return [block, body, padding(body.length)];
}

function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

// Reject trees that would produce ambiguous or unsafe archives rather than
// silently writing them.
function checkPaths(files: FileTree, dirs: readonly string[]): void {
  const seen = new Set<string>();
  for (const f of files) {
    const p = f.path;
    if (p === "" || p.startsWith("/") || p.endsWith("/") || p.includes("\0")) {
      throw new Error(`tar: invalid path ${JSON.stringify(p)}`);
    }
    if (p.split("/").some((s) => s === "" || s === "." || s === "..")) {
      throw new Error(`tar: path has an empty, "." or ".." segment: ${JSON.stringify(p)}`);
    }
    if (!Number.isInteger(f.mode) || f.mode < 0 || f.mode > 0o7777) {
      throw new Error(`tar: mode of ${p} must be permission bits (0..0o7777), got ${f.mode}`);
    }
    if (seen.has(p)) throw new Error(`tar: duplicate path ${p}`);
    seen.add(p);
  }
  for (const d of dirs) {
    const asFile = d.slice(0, -1);
    if (seen.has(asFile)) throw new Error(`tar: ${asFile} is both a file and a directory`);
  }
}
