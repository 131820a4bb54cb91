#!/usr/bin/env node
// The edge: argv, files, stdin, SOURCE_DATE_EPOCH and exit codes live here and
// nowhere else. Exit 0 ok, 1 invalid spec, 2 usage or I/O problem.
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import type { Diagnostic } from "./diagnostics.js";

const ROOT = join(fileURLToPath(new URL(".", import.meta.url)), import.meta.url.includes("/dist/") ? "../.." : "..");
const VERSION: string = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;
export const EXAMPLE_PATH = join(ROOT, "fixtures/example.yaml");
/** Used when SOURCE_DATE_EPOCH is unset, so the same spec gives the same bytes anywhere (2026-01-01). */
const DEFAULT_EPOCH = 1767225600;

class UsageError extends Error {}

// yargs reads a bare "-" as a flag, so it is swapped for this before parsing.
const STDIN = "\0stdin";

function readSpec(spec: string | undefined): { file: string; text: string } {
  if (spec === undefined) return { file: "<example>", text: readFileSync(EXAMPLE_PATH, "utf8") };
  try {
    if (spec === STDIN) return { file: "<stdin>", text: readFileSync(0, "utf8") };
    return { file: spec, text: readFileSync(spec, "utf8") };
  } catch (e) {
    throw new UsageError(`cannot read spec ${spec}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

function epoch(): number {
  const v = process.env.SOURCE_DATE_EPOCH;
  if (v === undefined || v === "") return DEFAULT_EPOCH;
  if (!/^\d+$/.test(v)) throw new UsageError(`SOURCE_DATE_EPOCH must be a whole number of seconds, got ${JSON.stringify(v)}`);
  return Number(v);
}

async function printDiagnostics(ds: Diagnostic[]): Promise<void> {
  const { formatDiagnostic } = await import("./diagnostics.js");
  for (const d of ds) process.stderr.write(formatDiagnostic(d) + "\n");
  process.stderr.write(`${ds.length} problem${ds.length === 1 ? "" : "s"} found; nothing was written.\n`);
}

const FORMATS = ["dir", "tar", "deb"] as const;
type Format = (typeof FORMATS)[number];

function parseFormats(v: string | string[]): Format[] {
  const list = (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(",")).map((s) => s.trim()).filter(Boolean);
  for (const f of list) if (!(FORMATS as readonly string[]).includes(f)) throw new UsageError(`unknown format ${JSON.stringify(f)} (use ${FORMATS.join(",")})`);
  return [...new Set(list)] as Format[];
}

async function cmdBuild(argv: { spec?: string; out: string; format: string | string[] }): Promise<number> {
  const formats = parseFormats(argv.format);
  const { file, text } = readSpec(argv.spec);
  const [{ build }, { loadTemplates }, { writeOutput }, { manifestText }] = await Promise.all([
    import("./pipeline.js"),
    import("./templates.js"),
    import("./emit/directory.js"),
    import("./manifest.js"),
  ]);
  const result = build({
    file,
    text,
    toolVersion: VERSION,
    epoch: epoch(),
    templates: await loadTemplates(),
    formats: formats.filter((f): f is "tar" | "deb" => f !== "dir"),
  });
  if (!result.ok) {
    await printDiagnostics(result.diagnostics);
    return 1;
  }
  const files: { path: string; mode: number; content: Buffer }[] = [];
  if (formats.includes("dir")) {
    files.push(...result.rendered.tree.map((f) => ({ ...f, path: `tree/${f.path}` })));
    files.push(...result.rendered.debianScripts.map((f) => ({ ...f, path: `debian/${f.path}` })));
    files.push(...result.rendered.debianDocs.map((f) => ({ ...f, path: `debian/${f.path}` })));
  }
  for (const a of result.artifacts) files.push({ path: a.filename, mode: 0o644, content: a.content });
  files.sort((a, b) => (a.path < b.path ? -1 : 1));
  const manifest = manifestText(files, result.deployment.provenance);
  writeOutput(argv.out, [...files, { path: "MANIFEST", mode: 0o644, content: Buffer.from(manifest) }], result.deployment.provenance.epoch);
  printTable(argv.out, files.filter((f) => !f.path.startsWith("tree/") && !f.path.startsWith("debian/")), files.length + 1);
  return 0;
}

function printTable(out: string, shown: { path: string; content: Buffer }[], total: number): void {
  const rows = shown.map((f) => [join(out, f.path), String(f.content.length), sha(f.content)]);
  rows.push([join(out, "tree/"), "", "staging tree (see MANIFEST)"]);
  process.stdout.write(columns([["path", "size", "sha256"], ...rows]));
  process.stdout.write(`wrote ${total} files to ${out} (listed with sizes and sha256 in ${join(out, "MANIFEST")})\n`);
}

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

async function cmdValidate(argv: { spec?: string; json: boolean }): Promise<number> {
  const { file, text } = readSpec(argv.spec);
  const { deploymentFromText } = await import("./pipeline.js");
  const r = deploymentFromText(file, text, VERSION, epoch());
  if (argv.json) {
    const body = r.ok
      ? { ok: true, workers: r.deployment.workers.map((w) => ({ name: w.name, type: w.type, unit: w.unit, config: w.configPath, listeners: w.listeners })) }
      : { ok: false, diagnostics: r.diagnostics };
    process.stdout.write(JSON.stringify(body, null, 2) + "\n");
    return r.ok ? 0 : 1;
  }
  if (!r.ok) {
    await printDiagnostics(r.diagnostics);
    return 1;
  }
  const d = r.deployment;
  const n = d.workers.length;
  process.stdout.write(`${file}: valid. ${n} worker${n === 1 ? "" : "s"}${n > 0 ? ":" : "."}\n`);
  const rows = d.workers.map((w) => {
    const ls = w.listeners.map((l) => (l.path ?? `${(l.bindAddresses ?? ["*"]).join(",")}:${l.port}`) + ` [${l.resources.join(",")}]`);
    return [`  ${w.unit}`, w.type, ls.join(" ") || "(no listeners)"];
  });
  process.stdout.write(columns(rows));
  return 0;
}

/** Rows as aligned columns, two spaces apart; the last column is left ragged. */
function columns(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => r[i]!.length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ") + "\n").join("");
}

function cmdInit(argv: { path: string; force: boolean }): number {
  if (argv.path !== STDIN && existsSync(argv.path) && !argv.force) throw new UsageError(`${argv.path} exists; use --force to overwrite`);
  const text = readFileSync(EXAMPLE_PATH, "utf8");
  if (argv.path === STDIN) process.stdout.write(text);
  else {
    writeFileSync(argv.path, text);
    process.stdout.write(`wrote ${argv.path}: the example spec, commented. Next: synapse-systemd validate ${argv.path}\n`);
  }
  return 0;
}

async function cmdSchema(): Promise<number> {
  const { jsonSchema } = await import("./spec/schema.js");
  process.stdout.write(JSON.stringify(jsonSchema(), null, 2) + "\n");
  return 0;
}

async function main(): Promise<number> {
  let code = 0;
  const run = (f: () => number | Promise<number>) => async () => {
    code = await f();
  };
  await yargs(hideBin(process.argv).map((a) => (a === "-" ? STDIN : a)))
    .scriptName("synapse-systemd")
    .usage("$0 <command>: systemd units, worker configs and packages for Synapse with workers, from one spec")
    .command(
      "build [spec]",
      "validate a spec and write the staging tree, .tar.gz and .deb (no spec: the embedded example)",
      (y) =>
        y
          .positional("spec", { type: "string", describe: "spec file, or - for stdin" })
          .option("out", { type: "string", default: "out", describe: "output directory (replaced atomically)" })
          .option("format", { type: "string", default: "dir,tar,deb", describe: "comma-separated: dir, tar, deb" }),
      (a) => run(() => cmdBuild(a as never))(),
    )
    .command(
      "validate [spec]",
      "check a spec and report every problem with file:line:col",
      (y) => y.positional("spec", { type: "string", describe: "spec file, or - for stdin" }).option("json", { type: "boolean", default: false, describe: "machine-readable output" }),
      (a) => run(() => cmdValidate(a as never))(),
    )
    .command(
      "init [path]",
      "write the example spec, commented",
      (y) => y.positional("path", { type: "string", default: "synapse-systemd.yaml", describe: "where to write it, or - for stdout" }).option("force", { type: "boolean", default: false }),
      (a) => run(() => cmdInit(a as never))(),
    )
    .command("schema", "print the spec's JSON Schema (for editors)", (y) => y, () => run(cmdSchema)())
    .demandCommand(1, "name a command: build, validate, init or schema")
    .strict()
    .version(VERSION)
    .help()
    .fail((msg, err) => {
      if (err) throw err;
      throw new UsageError(msg);
    })
    .parseAsync();
  return code;
}

main().then(
  (code) => process.exit(code),
  async (e: unknown) => {
    const { EscapeError } = await import("./escape.js");
    const { OutputError } = await import("./emit/directory.js");
    if (e instanceof UsageError || e instanceof OutputError) {
      process.stderr.write(`synapse-systemd: ${e.message}\nRun synapse-systemd --help for usage.\n`);
      process.exit(2);
    }
    if (e instanceof EscapeError) {
      process.stderr.write(`synapse-systemd: refused to write an unsafe value: ${e.message}\n`);
      process.exit(1);
    }
    process.stderr.write(`synapse-systemd: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(70);
  },
);
