// The common ar format exactly as dpkg-deb writes it for .deb files: member
// names space-padded without the GNU "/" terminator, uid/gid 0, mode 100644,
// odd-sized members padded with "\n". No symbol table, no long-name table:
// dpkg only ever needs short names.
export interface ArMember {
  name: string;
  content: Buffer;
}

const MAGIC = "!<arch>\n";

export function arArchive(members: readonly ArMember[], mtime: number): Buffer {
  if (!Number.isInteger(mtime) || mtime < 0 || String(mtime).length > 12) {
    throw new Error(`ar: mtime must be a non-negative integer of at most 12 digits, got ${mtime}`);
  }
  const chunks: Buffer[] = [Buffer.from(MAGIC, "ascii")];
  for (const m of members) {
    chunks.push(memberHeader(m.name, m.content.length, mtime), m.content);
    if (m.content.length % 2 === 1) chunks.push(Buffer.from("\n", "ascii"));
  }
  return Buffer.concat(chunks);
}

function memberHeader(name: string, size: number, mtime: number): Buffer {
  // A "/" or space would be read back as part of a GNU/BSD name convention.
  if (!/^[\x21-\x7e]{1,16}$/.test(name) || name.includes("/")) {
    throw new Error(`ar: member name must be 1-16 printable ASCII characters without "/" or spaces: ${JSON.stringify(name)}`);
  }
  const sizeText = String(size);
  if (sizeText.length > 10) throw new Error(`ar: member ${name} is too large (${size} bytes)`);
  const header =
    field(name, 16) +
    field(String(mtime), 12) +
    field("0", 6) +
    field("0", 6) +
    field("100644", 8) +
    field(sizeText, 10) +
    "`\n";
  return Buffer.from(header, "ascii");
}

function field(value: string, width: number): string {
  return value.padEnd(width, " ");
}
