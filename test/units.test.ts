// Generated units and scripts checked by the real tools: systemd-analyze,
// shellcheck, dash.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { spawnSync } from "node:child_process";
import { needTools, needRoot, run, mustBuild, EXAMPLE, TOOL_ENV } from "./support.js";
import type { TreeFile } from "../generator/tree.js";

const FOUR = `workers:
  - { name: federation_reader1, type: federation_reader, listeners: [{ port: 8083, resources: [federation] }] }
  - { name: client_reader1, type: client_reader, listeners: [{ port: 8084, resources: [client] }] }
  - { name: synchrotron1, type: synchrotron, listeners: [{ path: /run/matrix-synapse/synchrotron1/client.sock, mode: "0660", resources: [client] }] }
  - { name: event-creator_2, type: event_creator, listeners: [{ port: 8086, resources: [client] }], log_config: /etc/matrix-synapse/ec-log.yaml }
`;
const SPECS: Record<string, string> = {
  example: EXAMPLE,
  "four workers": FOUR,
  "no workers, not hardened, unix replication": "workers: []\nhardening: false\nmaster:\n  replication: { path: /run/matrix-synapse/replication.sock }\nsynapse:\n  environment_file: null\n",
  "own paths": "synapse:\n  python: /srv/synapse/env/bin/python\n  working_directory: /srv/synapse/data\n  config_paths: [/srv/synapse/homeserver.yaml, /srv/synapse/conf.d/]\n  shared_config: /srv/synapse/conf.d/workers.yaml\n  workers_dir: /srv/synapse/workers\nworkers:\n  - { name: w1, type: client_reader, listeners: [{ port: 8084, resources: [client] }] }\n",
};

function writeTree(files: readonly TreeFile[]): string {
  const root = mkdtempSync(join(tmpdir(), "tree-"));
  for (const f of files) {
    const p = join(root, f.path);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, f.content);
    chmodSync(p, f.mode);
  }
  return root;
}

for (const [name, spec] of Object.entries(SPECS)) {
  test(`systemd-analyze verify reports nothing on the units (${name})`, (t) => {
    if (!needTools(t, "systemd-analyze", "unshare") || !needRoot(t)) return;
    const b = mustBuild(spec);
    const root = writeTree(b.rendered.tree);
    const units = join(root, "etc/systemd/system");
    const d = b.deployment;
    const names = [d.unit.master, ...d.workers.map((w) => w.unit), d.unit.target];
    // The interpreter must exist for verify; give it one in a private mount
    // namespace (tmpfs over its top directory) so the host is not touched.
    const top = "/" + d.python.split("/")[1];
    const script = [
      "set -e",
      `mount -t tmpfs tmpfs ${top}`,
      `mkdir -p ${dirname(d.python)}`,
      `ln -s /usr/bin/python3 ${d.python}`,
      `SYSTEMD_UNIT_PATH=${units}: systemd-analyze verify ${names.join(" ")}`,
    ].join("\n");
    const r = spawnSync("unshare", ["-m", "sh", "-c", script], { encoding: "utf8", env: TOOL_ENV });
    assert.equal(r.status, 0, r.stderr);
    assert.equal((r.stdout + r.stderr).trim(), "", "systemd-analyze verify printed something");
  });

  test(`shellcheck finds nothing in the scripts, and dash parses them (${name})`, (t) => {
    if (!needTools(t, "shellcheck", "dash")) return;
    const b = mustBuild(spec);
    const scripts = [...b.rendered.debianScripts, ...b.rendered.tree.filter((f) => f.mode === 0o755)];
    assert.equal(scripts.length, 6);
    const root = writeTree(scripts);
    const paths = scripts.map((s) => join(root, s.path));
    run("shellcheck", ["--shell=sh", "--severity=style", ...paths]);
    for (const p of paths) run("dash", ["-n", p]);
  });
}

test("the install script's --dry-run prints the seed's steps in order, under dash", (t) => {
  if (!needTools(t, "dash")) return;
  const b = mustBuild(FOUR);
  const stage = writeTree(b.rendered.tree);
  const out = run("dash", [join(stage, "usr/lib/matrix-synapse-workers/install"), "--dry-run", "--start"]);
  const steps = out.split("\n").filter((l) => l.startsWith("+ "));
  const copies = steps.filter((s) => s.startsWith("+ install -D"));
  assert.equal(copies.length, b.rendered.tree.length, "every file of the MANIFEST, and the MANIFEST itself");
  assert.ok(copies.some((s) => s.endsWith(" /etc/systemd/system/matrix-synapse.service")));
  const enables = steps.filter((s) => s.includes("systemctl enable")).map((s) => s.split(" ").pop());
  assert.deepEqual(enables, [
    "matrix-synapse.service",
    "matrix-synapse-worker@federation_reader1.service",
    "matrix-synapse-worker@client_reader1.service",
    "matrix-synapse-worker@synchrotron1.service",
    "matrix-synapse-worker@event-creator_2.service",
    "matrix-synapse.target",
  ]);
  const nostart = run("dash", [join(stage, "usr/lib/matrix-synapse-workers/install"), "--dry-run", "--no-start"]);
  assert.doesNotMatch(nostart, /systemctl start/);
  const bad = spawnSync("dash", [join(stage, "usr/lib/matrix-synapse-workers/install"), "--bogus"], { encoding: "utf8" });
  assert.equal(bad.status, 2);
  const un = run("dash", [join(stage, "usr/lib/matrix-synapse-workers/uninstall"), "--help"]);
  assert.match(un, /usage: .*uninstall \[--dry-run\]/);
});

test("systemd-analyze security: the hardened drop-ins are in effect for master and worker", (t) => {
  if (!needTools(t, "systemd-analyze")) return;
  const b = mustBuild(EXAMPLE);
  const root = writeTree(b.rendered.tree);
  for (const unit of ["matrix-synapse.service", "matrix-synapse-worker@x.service"]) {
    const r = spawnSync("systemd-analyze", ["security", "--offline=true", `--root=${root}`, "--no-pager", unit], { encoding: "utf8", env: TOOL_ENV });
    const m = /Overall exposure level for \S+: (\d+\.\d+) (\w+)/.exec(r.stdout);
    assert.ok(m, `no exposure figure:\n${r.stdout}${r.stderr}`);
    console.log(`${unit}: exposure ${m[1]} ${m[2]} (offline)`);
    assert.ok(Number(m[1]) <= 2.0, `${unit} exposure ${m[1]}`);
  }
});
