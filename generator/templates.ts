// Loads templates/ and compiles them with Handlebars. Each template may print
// values only through the escapers for its kind of file; a bare {{value}} is a
// programming error caught when the templates load (and by the test suite).
import Handlebars from "handlebars";
import { readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { unitValue, execArg, shWord, yamlValue, octalMode, plain, commentText } from "./escape.js";

export type TemplateKind = "unit" | "sh" | "yaml" | "text";

const HELPERS: Record<TemplateKind, readonly string[]> = {
  unit: ["unit", "exec", "plain", "comment"],
  sh: ["sh", "plain", "comment"],
  yaml: ["yaml", "octal", "plain", "yamlblock", "comment"],
  text: ["plain", "text"],
};

const BLOCKS = new Set(["if", "unless", "each", "with"]);

export type Render = (context: unknown) => string;
export interface Templates {
  render(name: string, context: unknown): string;
  readonly names: readonly string[];
}

export function templatesDir(): string {
  // dist/generator/templates.js → <root>/templates; generator/templates.ts → same.
  const here = fileURLToPath(new URL(".", import.meta.url));
  return join(here, here.includes("/dist/") ? "../../templates" : "../templates");
}

function kindOf(name: string): TemplateKind {
  if (/\.(service|target|conf)\.hbs$/.test(name)) return "unit";
  if (/\.ya?ml\.hbs$/.test(name)) return "yaml";
  if (/\.sh\.hbs$/.test(name) || /^debian\/(preinst|postinst|prerm|postrm)\.hbs$/.test(name)) return "sh";
  return "text";
}

export function loadTemplates(dir = templatesDir()): Templates {
  const files = walk(dir).filter((f) => f.endsWith(".hbs"));
  const compiled = new Map<string, Render>();
  for (const file of files) {
    const name = relative(dir, file);
    const kind = kindOf(name);
    const text = readFileSync(file, "utf8");
    lint(name, text, kind);
    const hb = Handlebars.create();
    hb.registerHelper("unit", (v: string) => unitValue(String(v)));
    hb.registerHelper("exec", (v: string) => execArg(String(v)));
    hb.registerHelper("sh", (v: string) => shWord(String(v)));
    hb.registerHelper("yaml", (v: unknown) => yamlValue(v));
    hb.registerHelper("octal", (v: string) => octalMode(String(v)));
    hb.registerHelper("plain", (v: string | number) => plain(v));
    hb.registerHelper("comment", (v: string) => commentText(String(v)));
    // Already serialised by the yaml library from spec data (see model.ts).
    hb.registerHelper("yamlblock", (v: string) => String(v).replace(/\n$/, ""));
    // Free text (changelog, copyright): one line, no control characters.
    hb.registerHelper("text", (v: string) => {
      const s = String(v);
      if (/[\u0000-\u001f]/.test(s)) throw new Error(`control character in text: ${JSON.stringify(s)}`);
      return s;
    });
    for (const p of files.filter((f) => relative(dir, f).startsWith("partials/"))) {
      hb.registerPartial(relative(join(dir, "partials"), p).replace(/\..*$/, ""), readFileSync(p, "utf8"));
    }
    compiled.set(name, hb.compile(text, { noEscape: true, strict: true, preventIndent: true }));
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

/** Every {{...}} that prints must be a call to one of the kind's escapers. */
export function lint(name: string, text: string, kind: TemplateKind = kindOf(name)): void {
  const allowed = HELPERS[kind];
  const ast = Handlebars.parse(text);
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
