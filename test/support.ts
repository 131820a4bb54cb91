// Shared by the tests: real tools or a loud skip (a failure under CI=true), the
// pipeline run in-process, and the CLI run as a user would run it.
import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestContext } from "node:test";
import { build, type BuildResult } from "../generator/pipeline.js";
import { loadTemplates, type Templates } from "../generator/templates.js";

export const ROOT = join(fileURLToPath(new URL(".", import.meta.url)), "../..");
export const CLI = join(ROOT, "dist/generator/cli.js");
export const EXAMPLE = readFileSync(join(ROOT, "fixtures/example.yaml"), "utf8");
export const EPOCH = 1767225600;

const toolCache = new Map<string, boolean>();
export function haveTool(name: string): boolean {
  let ok = toolCache.get(name);
  if (ok === undefined) {
    ok = spawnSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" }).status === 0;
    toolCache.set(name, ok);
  }
  return ok;
}

/**
 * False (after skipping the test) when a tool is missing, except under CI=true,
 * where a missing tool must fail: a green CI run has to mean the check ran.
 */
export function needTools(t: TestContext, ...names: string[]): boolean {
  const missing = names.filter((n) => !haveTool(n));
  if (missing.length === 0) return true;
  const reason = `missing tool(s): ${missing.join(", ")} (.ci/run installs them)`;
  if (process.env.CI === "true") assert.fail(`${reason}; CI=true, so this is a failure, not a skip`);
  console.warn(`\n!!! SKIPPING "${t.name}": ${reason}\n`);
  t.skip(reason);
  return false;
}

export function needRoot(t: TestContext): boolean {
  if (process.getuid?.() === 0) return true;
  const reason = "needs root (mount namespaces / dpkg)";
  if (process.env.CI === "true") assert.fail(`${reason}; CI=true, so this is a failure, not a skip`);
  console.warn(`\n!!! SKIPPING "${t.name}": ${reason}\n`);
  t.skip(reason);
  return false;
}

/** Fixed locale and zone so tool output reads the same everywhere. */
export const TOOL_ENV = { ...process.env, TZ: "UTC", LC_ALL: "C" };

export function run(cmd: string, args: string[], opts: { cwd?: string; input?: string | Buffer; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, env: opts.env ?? TOOL_ENV, input: opts.input, maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  assert.equal(r.status, 0, `${cmd} ${args.join(" ")} exited ${r.status}:\n${r.stdout.toString()}${r.stderr.toString()}`);
  return r.stdout.toString("utf8");
}

export function cli(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, ...args], {
    encoding: "utf8",
    input: opts.input,
    cwd: opts.cwd,
    env: { ...process.env, ...(opts.env ?? {}) },
  });
}

const templates: Templates = await loadTemplates();
export function buildText(text: string, file = "spec.yaml", epoch = EPOCH): BuildResult {
  return build({ file, text, toolVersion: "0.0.0-test", epoch, templates, formats: ["tar", "deb"] });
}

export function mustBuild(text: string): Extract<BuildResult, { ok: true }> {
  const r = buildText(text);
  if (!r.ok) assert.fail(`expected a valid spec, got:\n${r.diagnostics.map((d) => `${d.line}:${d.col} ${d.path}: ${d.message}`).join("\n")}`);
  return r;
}
