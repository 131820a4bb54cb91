// npm run bench: ratios measured in one run on this machine, printed, never asserted.
//   1. building the example (all formats) with the CLI  vs  bare `node -e 0`     goal ≤ 1.5×
//   2. a 1,000-worker spec: wall time and peak RSS                                 goal ≤ 1 s, ≤ 200 MB
//   3. packing the .deb (in-process)  vs  `dpkg-deb --build -Zgzip` of the same tree   goal ≤ 1×
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, mkdirSync, chmodSync, rmSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "../generator/pipeline.js";
import { loadTemplates } from "../generator/templates.js";
import { debPackager, debData } from "../generator/emit/packagers.js";

const ROOT = join(fileURLToPath(new URL(".", import.meta.url)), "../..");
const CLI = join(ROOT, "dist/generator/cli.js");
const RSS = join(ROOT, "dist/bench/maxrss.js");
const work = mkdtempSync(join(tmpdir(), "bench-"));
const RUNS = Number(process.env.BENCH_RUNS ?? 15);

function wall(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): { ms: number; stderr: string } {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: "utf8", env });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
  return { ms, stderr: r.stderr };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function alternate(a: () => number, b: () => number, n: number): [number, number] {
  const as: number[] = [];
  const bs: number[] = [];
  a();
  b(); // warm the page cache for both
  for (let i = 0; i < n; i++) {
    as.push(a());
    bs.push(b());
  }
  return [median(as), median(bs)];
}

const line = (name: string, value: string, goal: string, ok: boolean) =>
  console.log(`${name.padEnd(58)} ${value.padStart(24)}   goal ${goal.padEnd(14)} ${ok ? "met" : "NOT MET"}`);

console.log(`synapse-systemd benchmark: node ${process.version}, ${RUNS} runs each, medians\n`);

// 1. CLI build of the example vs node startup.
const out1 = join(work, "out1");
const [cliMs, nodeMs] = alternate(
  () => wall(process.execPath, [CLI, "build", "--out", out1]).ms,
  () => wall(process.execPath, ["-e", "0"]).ms,
  RUNS,
);
const r1 = cliMs / nodeMs;
line("example, all formats (CLI) / node -e 0", `${cliMs.toFixed(0)} / ${nodeMs.toFixed(0)} ms = ${r1.toFixed(2)}×`, "≤ 1.5×", r1 <= 1.5);

// For context: the same build in-process, warm, without Node's start or module loading.
{
  const templates = await loadTemplates();
  const text = readFileSync(join(ROOT, "fixtures/example.yaml"), "utf8");
  const once = () => {
    const t = process.hrtime.bigint();
    build({ file: "example", text, toolVersion: "bench", epoch: 1767225600, templates, formats: ["tar", "deb"] });
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  for (let i = 0; i < 5; i++) once();
  const ms = median(Array.from({ length: RUNS }, once));
  console.log(`${"  (context) the same build in-process, warm / node -e 0".padEnd(58)} ${`${ms.toFixed(1)} / ${nodeMs.toFixed(0)} ms = ${(ms / nodeMs).toFixed(2)}×`.padStart(24)}`);
}

// 2. A 1,000-worker spec.
const specPath = join(work, "1000.yaml");
const kinds = [
  ["federation_reader", "federation"],
  ["client_reader", "client"],
  ["synchrotron", "client"],
  ["event_creator", "client"],
];
let spec = "workers:\n";
for (let i = 0; i < 1000; i++) {
  const [type, res] = kinds[i % kinds.length]!;
  spec += `  - { name: w${i}, type: ${type}, listeners: [{ port: ${20000 + i}, bind_addresses: ["127.0.0.1"], resources: [${res}] }] }\n`;
}
writeFileSync(specPath, spec);
const times: number[] = [];
let rssKiB = 0;
for (let i = 0; i < Math.max(3, Math.floor(RUNS / 3)); i++) {
  const r = wall(process.execPath, ["--import", RSS, CLI, "build", specPath, "--out", join(work, "out2")]);
  times.push(r.ms);
  rssKiB = Math.max(rssKiB, Number(/maxrss_kib (\d+)/.exec(r.stderr)?.[1] ?? 0));
}
const t2 = median(times);
line("1,000 workers, all formats (CLI): wall", `${t2.toFixed(0)} ms = ${(t2 / 1000).toFixed(2)}× of 1 s`, "≤ 1 s", t2 <= 1000);
line("1,000 workers, all formats (CLI): peak RSS", `${(rssKiB / 1024).toFixed(0)} MB = ${(rssKiB / 1024 / 200).toFixed(2)}× of 200 MB`, "≤ 200 MB", rssKiB / 1024 <= 200);

// 3. Our .deb writer vs dpkg-deb on the same tree.
const templates = await loadTemplates();
const b = build({ file: "example", text: spec, toolVersion: "bench", epoch: 1767225600, templates, formats: [] });
if (!b.ok) throw new Error("bench spec invalid");
const tree = join(work, "debroot");
for (const f of debData(b.deployment, b.rendered)) {
  const p = join(tree, f.path);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, f.content);
  chmodSync(p, f.mode);
}
mkdirSync(join(tree, "DEBIAN"));
for (const f of b.rendered.debianScripts) {
  writeFileSync(join(tree, "DEBIAN", f.path), f.content);
  chmodSync(join(tree, "DEBIAN", f.path), 0o755);
}
const ctl = debPackager.pack(b.deployment, b.rendered);
writeFileSync(join(work, "ours.deb"), ctl.content);
const control = spawnSync("dpkg-deb", ["-f", join(work, "ours.deb")], { encoding: "utf8" }).stdout;
writeFileSync(join(tree, "DEBIAN/control"), control);
const dpkgDeb = spawnSync("sh", ["-c", "command -v dpkg-deb"]).status === 0;
if (dpkgDeb) {
  const [oursMs, dpkgMs] = alternate(
    () => {
      const t = process.hrtime.bigint();
      debPackager.pack(b.deployment, b.rendered);
      return Number(process.hrtime.bigint() - t) / 1e6;
    },
    () => wall("dpkg-deb", ["--root-owner-group", "-Zgzip", "--build", tree, join(work, "theirs.deb")], { ...process.env, SOURCE_DATE_EPOCH: "1767225600" }).ms,
    RUNS,
  );
  const r3 = oursMs / dpkgMs;
  line("pack the 1,000-worker .deb: ours (in-process) / dpkg-deb", `${oursMs.toFixed(1)} / ${dpkgMs.toFixed(1)} ms = ${r3.toFixed(2)}×`, "≤ 1×", r3 <= 1);
} else {
  console.log("dpkg-deb not found: pack comparison not measured");
}
rmSync(work, { recursive: true, force: true });
