// Builds a binary .deb in memory, laid out like `dpkg-deb -Zgzip --build`
// with debhelper's conventions for md5sums (conffiles excluded, as
// dh_md5sums does) and dpkg-gencontrol's Installed-Size rule.
import { createHash } from "node:crypto";
import { arArchive } from "./ar.js";
import { tarGz } from "./tar.js";
import { parentDirs, sortTree, type FileTree, type TreeFile } from "../tree.js";

export interface DebInput {
  /**
   * Control fields in output order. Multi-line values (Description) must
   * already be in deb-control form: continuation lines start with a space,
   * blank lines are " ." (formatDescription does this). Installed-Size is
   * computed and must not be passed.
   */
  control: Record<string, string>;
  /** Maintainer scripts: bare names (preinst, postinst, prerm, postrm), mode 0755. */
  scripts: readonly TreeFile[];
  /** Absolute paths of conffiles; each must be a file in `data`. */
  conffiles: readonly string[];
  data: FileTree;
  /** Seconds since the epoch, used for every archive timestamp. */
  mtime: number;
}

export interface DebOutput {
  deb: Buffer;
  controlText: string;
  filename: string;
}

const REQUIRED_FIELDS = ["Package", "Version", "Architecture", "Maintainer", "Description"];
const SCRIPT_NAMES = new Set(["preinst", "postinst", "prerm", "postrm"]);

export function buildDeb(input: DebInput): DebOutput {
  const data = sortTree(input.data);
  for (const f of data) {
    // DEBIAN/ would collide with the control area when unpacked by dpkg-deb -R.
    if (f.path === "DEBIAN" || f.path.startsWith("DEBIAN/")) throw new Error(`deb: data must not contain ${f.path}`);
  }
  const conffiles = checkConffiles(input.conffiles, data);
  const controlText = renderControl(input.control, installedSizeKiB(data));

  const controlFiles: TreeFile[] = [{ path: "control", mode: 0o644, content: Buffer.from(controlText, "utf8") }];
  if (conffiles.length > 0) {
    controlFiles.push({ path: "conffiles", mode: 0o644, content: Buffer.from(conffiles.map((c) => c + "\n").join(""), "utf8") });
  }
  const md5sums = md5sumsText(data, new Set(conffiles));
  // dh_md5sums writes no md5sums file when there is nothing to list.
  if (md5sums !== "") controlFiles.push({ path: "md5sums", mode: 0o644, content: Buffer.from(md5sums, "utf8") });
  controlFiles.push(...checkScripts(input.scripts));

  const controlTar = tarGz(controlFiles, { mtime: input.mtime, prefix: "./" });
  const dataTar = tarGz(data, { mtime: input.mtime, prefix: "./" });
  const deb = arArchive(
    [
      { name: "debian-binary", content: Buffer.from("2.0\n", "ascii") },
      { name: "control.tar.gz", content: controlTar },
      { name: "data.tar.gz", content: dataTar },
    ],
    input.mtime,
  );

  const c = input.control;
  // dpkg-gencontrol drops the epoch from file names ("1:2.0" -> "2.0").
  const version = (c.Version ?? "").replace(/^\d+:/, "");
  return { deb, controlText, filename: `${c.Package}_${version}_${c.Architecture}.deb` };
}

/**
 * dpkg-gencontrol's rule, applied to the installed tree: ceil(size / 1024)
 * per regular file, 1 per directory including the root "./". (Run on a real
 * build tree it would also count a DEBIAN/ directory if one exists; the
 * control area is not installed, so we leave it out.)
 */
export function installedSizeKiB(data: FileTree): number {
  let kib = 1 + parentDirs(data).length;
  for (const f of data) kib += Math.ceil(f.content.length / 1024);
  return kib;
}

/**
 * Formats an extended description per Debian Policy 5.6.13: the synopsis on
 * the field line, then every line indented by one space, blank lines as " .".
 * Paragraph text is wrapped at 79 columns; lines already starting with
 * whitespace are kept verbatim (they are displayed verbatim by dpkg/apt).
 */
export function formatDescription(synopsis: string, body: string): string {
  if (synopsis.trim() === "" || synopsis.includes("\n")) throw new Error("deb: synopsis must be one non-empty line");
  const out = [synopsis.trim()];
  const paragraphs = body.replace(/\r\n/g, "\n").trim().split(/\n[ \t]*\n/);
  paragraphs.forEach((para, i) => {
    if (para.trim() === "") return;
    if (i > 0) out.push(" .");
    let words: string[] = [];
    const flush = () => {
      if (words.length > 0) out.push(...wrap(words, 78).map((l) => " " + l));
      words = [];
    };
    for (const line of para.split("\n")) {
      if (/^[ \t]/.test(line)) {
        flush();
        out.push(" " + line.replace(/\s+$/, ""));
      } else {
        words.push(...line.split(/\s+/).filter((w) => w !== ""));
      }
    }
    flush();
  });
  return out.join("\n");
}

function wrap(words: string[], width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const w of words) {
    if (line !== "" && line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else {
      line = line === "" ? w : line + " " + w;
    }
  }
  if (line !== "") lines.push(line);
  return lines;
}

function renderControl(fields: Record<string, string>, installedSize: number): string {
  const seen = new Set<string>();
  for (const name of Object.keys(fields)) {
    if (!/^[A-Za-z0-9][\x21-\x39\x3b-\x7e]*$/.test(name)) throw new Error(`deb: invalid control field name ${JSON.stringify(name)}`);
    const lower = name.toLowerCase();
    if (seen.has(lower)) throw new Error(`deb: control field ${name} given twice (field names are case-insensitive)`);
    if (lower === "installed-size") throw new Error("deb: Installed-Size is computed, do not pass it");
    seen.add(lower);
  }
  for (const name of REQUIRED_FIELDS) {
    if (!(name in fields)) throw new Error(`deb: control field ${name} is required`);
  }
  checkIdentity(fields);

  const names = Object.keys(fields);
  // Where dpkg-gencontrol puts it: after Maintainer.
  const at = names.indexOf("Maintainer") + 1;
  const lines: string[] = [];
  names.forEach((name, i) => {
    lines.push(`${name}: ${checkValue(name, fields[name] ?? "")}`);
    if (i + 1 === at) lines.push(`Installed-Size: ${installedSize}`);
  });
  return lines.join("\n") + "\n";
}

function checkValue(name: string, value: string): string {
  const [first = "", ...rest] = value.split("\n");
  if (first.trim() === "") throw new Error(`deb: control field ${name} has an empty first line`);
  for (const line of rest) {
    // An unindented or blank line would end the field or the whole stanza.
    if (!/^[ \t]/.test(line) || line.trim() === "") {
      throw new Error(`deb: continuation line of ${name} must start with a space and not be blank (use " ."): ${JSON.stringify(line)}`);
    }
  }
  return value;
}

// The values that end up in the file name and that dpkg-deb refuses if malformed.
function checkIdentity(fields: Record<string, string>): void {
  const { Package: pkg = "", Version: version = "", Architecture: arch = "" } = fields;
  if (!/^[a-z0-9][a-z0-9+.-]+$/.test(pkg)) throw new Error(`deb: invalid Package ${JSON.stringify(pkg)}`);
  if (!/^(?:\d+:)?[0-9][A-Za-z0-9.+~-]*$/.test(version)) throw new Error(`deb: invalid Version ${JSON.stringify(version)}`);
  if (!/^[a-z0-9][a-z0-9-]*$/.test(arch)) throw new Error(`deb: invalid Architecture ${JSON.stringify(arch)}`);
}

function checkConffiles(conffiles: readonly string[], data: readonly TreeFile[]): string[] {
  const files = new Set(data.map((f) => "/" + f.path));
  const sorted = [...new Set(conffiles)].sort();
  if (sorted.length !== conffiles.length) throw new Error("deb: duplicate conffile");
  for (const c of sorted) {
    if (!files.has(c)) throw new Error(`deb: conffile ${c} is not a file in the package data`);
  }
  return sorted;
}

function checkScripts(scripts: readonly TreeFile[]): TreeFile[] {
  const seen = new Set<string>();
  for (const s of scripts) {
    if (!SCRIPT_NAMES.has(s.path)) throw new Error(`deb: unsupported maintainer script ${JSON.stringify(s.path)}`);
    if (seen.has(s.path)) throw new Error(`deb: maintainer script ${s.path} given twice`);
    seen.add(s.path);
    // dpkg-deb --build rejects scripts that are not executable.
    if (s.mode !== 0o755) throw new Error(`deb: maintainer script ${s.path} must have mode 0755`);
  }
  return [...scripts];
}

// Format of md5sum(1) / dh_md5sums: "<hex>  <path without leading ./>".
function md5sumsText(data: readonly TreeFile[], conffiles: Set<string>): string {
  return data
    .filter((f) => !conffiles.has("/" + f.path))
    .map((f) => `${createHash("md5").update(f.content).digest("hex")}  ${f.path}\n`)
    .join("");
}
