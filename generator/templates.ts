// Templates: the files in templates/, compiled with Handlebars. Each template may
// print values only through the escapers for its kind of file; a bare {{value}}
// is a programming error, caught when templates are compiled (npm run build) and
// by the test suite. The CLI loads the precompiled module so it never pays for
// the Handlebars compiler at run time.
import HandlebarsRuntimeModule from "handlebars/runtime.js";
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { unitValue, execArg, shWord, yamlValue, octalMode, plain, commentText, nginxString, nginxRegex } from "./escape.js";

export type TemplateKind = "unit" | "sh" | "yaml" | "nginx" | "text";

const HELPERS: Record<TemplateKind, readonly string[]> = {
  unit: ["unit", "exec", "plain", "comment"],
  sh: ["sh", "plain", "comment"],
  yaml: ["yaml", "octal", "plain", "yamlblock", "comment"],
  nginx: ["nginx", "nginxre", "plain", "comment"],
  text: ["plain", "text"],
};
const BLOCKS = new Set(["if", "unless", "each", "with"]);
const COMPILE_OPTIONS = { noEscape: true, strict: true } as const;

export interface Templates {
  render(name: string, context: unknown): string;
  readonly names: readonly string[];
}

// The runtime's typings re-export nothing; it is the full Handlebars API minus the compiler.
type Runtime = typeof import("handlebars");
const HandlebarsRuntime = HandlebarsRuntimeModule as unknown as Runtime;
/** Precompiled template specs by template name (see compile-templates.ts). */
export type CompiledSpecs = Record<string, unknown>;

const here = fileURLToPath(new URL(".", import.meta.url));
const inDist = here.includes("/dist/");
export const TEMPLATES_DIR = join(here, inDist ? "../../templates" : "../templates");
/** Written by `npm run build` next to this module in dist/. */
export const COMPILED_PATH = join(here, "templates.compiled.js");

function kindOf(name: string): TemplateKind {
  if (/\.(service|target|conf)\.hbs$/.test(name)) return "unit";
  if (/\.ya?ml\.hbs$/.test(name)) return "yaml";
  if (/\.nginx\.hbs$/.test(name)) return "nginx";
  if (/\.sh\.hbs$/.test(name) || /^debian\/(preinst|postinst|prerm|postrm)\.hbs$/.test(name)) return "sh";
  return "text";
}

function registerHelpers(hb: Runtime): void {
  hb.registerHelper("unit", (v: string) => unitValue(String(v)));
  hb.registerHelper("exec", (v: string) => execArg(String(v)));
  hb.registerHelper("sh", (v: string) => shWord(String(v)));
  hb.registerHelper("yaml", (v: unknown) => yamlValue(v));
  hb.registerHelper("octal", (v: string) => octalMode(String(v)));
  hb.registerHelper("plain", (v: string | number) => plain(v));
  hb.registerHelper("comment", (v: string) => commentText(String(v)));
  hb.registerHelper("nginx", (v: string) => nginxString(String(v)));
  hb.registerHelper("nginxre", (v: string) => nginxRegex(String(v)));
  // Already serialised by the yaml library from spec data (see model.ts).
  hb.registerHelper("yamlblock", (v: string) => String(v).replace(/\n$/, ""));
  // Free text (changelog, copyright): one line, no control characters.
  hb.registerHelper("text", (v: string) => {
    const s = String(v);
    if (/[\u0000-\u001f]/.test(s)) throw new Error(`control character in text: ${JSON.stringify(s)}`);
    return s;
  });
}

const partialName = (name: string) => name.replace(/^partials\//, "").replace(/\..*$/, "");

/** Templates from precompiled specs: the Handlebars runtime only. */
export function templatesFromSpecs(specs: CompiledSpecs): Templates {
  const hb = HandlebarsRuntime.create();
  registerHelpers(hb);
  const compiled = new Map<string, (ctx: unknown) => string>();
  for (const [name, spec] of Object.entries(specs)) {
    const t = hb.template(spec as never) as unknown as (ctx: unknown) => string;
    if (name.startsWith("partials/")) hb.registerPartial(partialName(name), t as never);
    else compiled.set(name, t);
  }
  return {
    names: [...compiled.keys()].sort(),
    render(name, context) {
      const t = compiled.get(name);
      if (!t) throw new Error(`no template ${name}`);
      return t(context);
    },
  };
}

/** Reads, lints and precompiles templates/ (needs the full Handlebars compiler). */
export async function compileTemplateSources(dir = TEMPLATES_DIR): Promise<Record<string, string>> {
  const { default: Handlebars } = await import("handlebars");
  const out: Record<string, string> = {};
  for (const file of walk(dir).filter((f) => f.endsWith(".hbs"))) {
    const name = relative(dir, file);
    const text = readFileSync(file, "utf8");
    lint(name, Handlebars.parse(text));
    out[name] = Handlebars.precompile(text, COMPILE_OPTIONS) as string;
  }
  return out;
}

/** The precompiled templates when the build made them, else compiled from templates/ now. */
export async function loadTemplates(): Promise<Templates> {
  if (existsSync(COMPILED_PATH)) {
    const mod = (await import(COMPILED_PATH)) as { default: CompiledSpecs };
    return templatesFromSpecs(mod.default);
  }
  const sources = await compileTemplateSources();
  // The specs are Handlebars' own output for our own templates.
  const specs = Object.fromEntries(Object.entries(sources).map(([k, v]) => [k, new Function(`return ${v}`)()]));
  return templatesFromSpecs(specs);
}

/** Every {{...}} that prints must be a call to one of the kind's escapers. */
export function lint(name: string, ast: hbs.AST.Program): void {
  const kind = kindOf(name);
  const allowed = HELPERS[kind];
  const visit = (node: hbs.AST.Node): void => {
    if (node.type === "MustacheStatement") {
      const m = node as hbs.AST.MustacheStatement;
      const helper = m.path.type === "PathExpression" ? (m.path as hbs.AST.PathExpression).original : "";
      if (m.params.length !== 1 || !allowed.includes(helper) || (m as { escaped?: boolean }).escaped === false) {
        const loc = m.loc ? `${m.loc.start.line}:${m.loc.start.column + 1}` : "?";
        throw new Error(`${name}:${loc}: print values through one of {{${allowed.join(" x}}, {{")} x}}`);
      }
    } else if (node.type === "BlockStatement") {
      const b = node as hbs.AST.BlockStatement;
      const helper = b.path.type === "PathExpression" ? (b.path as hbs.AST.PathExpression).original : "";
      if (!BLOCKS.has(helper)) throw new Error(`${name}: unknown block helper ${helper}`);
      b.program.body.forEach(visit);
      b.inverse?.body.forEach(visit);
    } else if (node.type === "Program") {
      (node as hbs.AST.Program).body.forEach(visit);
    }
  };
  visit(ast);
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]))
    .sort();
}
