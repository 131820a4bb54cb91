// Escaping at the template boundary. Every value a template prints goes through
// one of these, chosen by the kind of file; the spec schema already keeps hostile
// characters out, so these are the second lock, not the only one.

export class EscapeError extends Error {}

function noNewline(v: string, where: string): string {
  if (/[\n\r\0]/.test(v)) throw new EscapeError(`refusing to write a line break into ${where}: ${JSON.stringify(v)}`);
  return v;
}

/** A value in a systemd unit setting: specifiers (%) and backslashes are literal. */
export function unitValue(v: string): string {
  return noNewline(v, "a unit file").replace(/\\/g, "\\\\").replace(/%/g, "%%");
}

/** One argument of an Exec*= command line: also keep $ literal and keep it one word. */
export function execArg(v: string): string {
  const s = unitValue(v).replace(/\$/g, "$$$$");
  return /[\s"';]/.test(s) ? `"${s.replace(/"/g, '\\"')}"` : s;
}

/** A word for POSIX sh: bare when it is plainly safe, single-quoted otherwise. */
export function shWord(v: string): string {
  noNewline(v, "a shell script");
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`;
}

/** A YAML value: JSON is valid YAML flow style for PyYAML (1.1) and yaml (1.2) alike. */
export function yamlValue(v: unknown): string {
  if (typeof v === "string") noNewline(v, "a YAML scalar");
  if (Array.isArray(v)) return `[${v.map(yamlValue).join(", ")}]`;
  const s = JSON.stringify(v);
  if (s === undefined) throw new EscapeError(`cannot write ${String(v)} as YAML`);
  return s;
}

/** A unix mode for PyYAML: a leading 0 makes YAML 1.1 read it as octal (0660 → 432). */
export function octalMode(v: string): string {
  if (!/^0[0-7]{3}$/.test(v)) throw new EscapeError(`not an octal mode: ${JSON.stringify(v)}`);
  return v;
}

/** Tokens known to be plain (versions, hashes, unit names): written as they are, or refused. */
export function plain(v: string | number): string {
  const s = String(v);
  if (!/^[A-Za-z0-9._+~:@-]*$/.test(s)) throw new EscapeError(`not a plain token: ${JSON.stringify(s)}`);
  return s;
}

/** Free text inside a comment line (#): anything but a line break. */
export function commentText(v: string): string {
  return noNewline(v, "a comment");
}

/** An nginx argument, double-quoted: no quote, backslash, line break or "$" (nginx would expand it). */
export function nginxString(v: string): string {
  if (/["\\\n\r$]/.test(v)) throw new EscapeError(`refusing to write ${JSON.stringify(v)} into an nginx file`);
  return `"${v}"`;
}

/** An nginx location regex, double-quoted: regex locations are not variable-expanded, so "$" may anchor. */
export function nginxRegex(v: string): string {
  if (/["\\\n\r]/.test(v) || !v.startsWith("^")) throw new EscapeError(`refusing to write ${JSON.stringify(v)} as an nginx location regex`);
  return `"${v}"`;
}
