// The package lifecycle in a real Debian root (debootstrap, chroot), for the .deb
// and for the tarball: install v1 (3 workers) → the admin edits one worker's
// config and disables one instance → install v2 (one worker added, one dropped)
// → configure again → remove → purge. The state is checked after each step. No
// systemd runs in a chroot, so this checks files, links and records; the live
// suite (test/live) checks the same packages with systemd running.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, writeFileSync,
} from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { needRoot, needTools, mustBuild, run } from "./support.js";

const CACHE = "/var/tmp/synapse-systemd-lifecycle";
const BASE = join(CACHE, "bookworm");
const MIRROR = process.env.DEBIAN_MIRROR ?? "http://deb.debian.org/debian";
const PKG = "matrix-synapse-workers";
const WORKERS_DIR = "etc/matrix-synapse/workers";
const unit = (w: string) => `matrix-synapse-worker@${w}.service`;

const worker = (name: string, type: string, port: number, resource: string) =>
  `  - { name: ${name}, type: ${type}, listeners: [{ port: ${port}, resources: [${resource}] }] }\n`;
const V1 = `package: { version: 1.0.0 }
workers:
${worker("fed1", "federation_reader", 8083, "federation")}${worker("client1", "client_reader", 8084, "client")}${worker("sync1", "synchrotron", 8085, "client")}`;
const V2 = `package: { version: 2.0.0 }
workers:
${worker("fed1", "federation_reader", 8083, "federation")}${worker("client1", "client_reader", 8084, "client")}${worker("ec1", "event_creator", 8086, "client")}`;

// ---- the Debian root -------------------------------------------------------

/** The cached bookworm root, made once with debootstrap (~40 s) and then reused. */
function baseRoot(): string {
  if (existsSync(join(BASE, "usr/bin/systemctl"))) return BASE;
  mkdirSync(CACHE, { recursive: true });
  const tmp = `${BASE}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const r = spawnSync("debootstrap", ["--variant=minbase", "--include=systemd,adduser", "bookworm", tmp, MIRROR], { encoding: "utf8" });
  if (r.status !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    assert.fail(`debootstrap failed (${r.status}):\n${r.stdout.slice(-2000)}${r.stderr.slice(-2000)}`);
  }
  renameSync(tmp, BASE);
  return BASE;
}

/** A private copy of the cached root for one story, removed when the test ends. */
function freshRoot(t: TestContext): string {
  const base = baseRoot();
  const root = mkdtempSync(join(CACHE, "case-"));
  run("cp", ["-a", `${base}/.`, root]);
  t.after(() => {
    if (process.env.LIFECYCLE_KEEP === "1") console.log(`kept ${root}`);
    else rmSync(root, { recursive: true, force: true });
  });
  return root;
}

const CHROOT_ENV = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C", TZ: "UTC", DEBIAN_FRONTEND: "noninteractive", HOME: "/root" };

/** Runs a shell script inside the root; fails the test unless it exits 0. */
function sh(root: string, script: string): string {
  const r = spawnSync("chroot", [root, "sh", "-ec", script], { encoding: "utf8", env: CHROOT_ENV });
  if (r.error) throw r.error;
  assert.equal(r.status, 0, `in the root: ${script}\nexited ${r.status}:\n${r.stdout}${r.stderr}`);
  return r.stdout + r.stderr;
}

/** Synapse's own package, as far as ours is concerned: its unit, its config, its directories. */
function installFakeSynapse(root: string): void {
  const dir = mkdtempSync(join(CACHE, "synapse-deb-"));
  try {
    const put = (p: string, text: string) => {
      mkdirSync(join(dir, p, ".."), { recursive: true });
      writeFileSync(join(dir, p), text);
    };
    put("DEBIAN/control", "Package: matrix-synapse-py3\nVersion: 1.0+fake\nArchitecture: all\nMaintainer: Test <test@example.org>\nDescription: stand-in for Synapse's package\n");
    put("DEBIAN/conffiles", "/etc/matrix-synapse/homeserver.yaml\n");
    put("etc/matrix-synapse/homeserver.yaml", "server_name: example.org\n");
    put("etc/matrix-synapse/conf.d/server_name.yaml", "server_name: example.org\n");
    put("lib/systemd/system/matrix-synapse.service", "[Unit]\nDescription=Synapse's own unit\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n");
    run("dpkg-deb", ["--root-owner-group", "--build", dir, join(root, "root/synapse.deb")]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  sh(root, "dpkg -i /root/synapse.deb >/dev/null");
  // What Synapse makes at run time: its signing key and its database.
  sh(root, "echo 'ed25519 a_key secret' >/etc/matrix-synapse/homeserver.signing.key; mkdir -p /var/lib/matrix-synapse; echo db >/var/lib/matrix-synapse/homeserver.db");
}

// ---- looking at the root ---------------------------------------------------

const NEVER = ["proc", "sys", "dev", "run", "tmp", "root", "var/lib/dpkg", "var/log", "var/cache", "var/lib/apt"];
const HASHED = ["etc/", "lib/systemd/", "usr/lib/", "var/lib/"];

/** Every path of the root (but NEVER) → type, mode and content (sha256 or link target). */
function snapshot(root: string, skip: readonly string[] = []): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const p = rel ? `${rel}/${name}` : name;
      if (NEVER.includes(p) || skip.includes(p)) continue;
      const st = lstatSync(join(root, p));
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out.set(p, `link -> ${readlinkSync(join(root, p))}`);
      else if (st.isDirectory()) {
        out.set(p, `dir ${mode}`);
        walk(p);
      } else if (st.isFile()) {
        const sum = HASHED.some((h) => p.startsWith(h)) ? createHash("sha256").update(readFileSync(join(root, p))).digest("hex") : `${st.size} bytes`;
        out.set(p, `file ${mode} ${sum}`);
      } else out.set(p, `other ${mode}`);
    }
  };
  walk("");
  return out;
}

function changes(before: Map<string, string>, after: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [p, v] of before) if (after.get(p) !== v) out.push(after.has(p) ? `changed ${p}: ${v} → ${after.get(p)}` : `gone ${p}`);
  for (const [p, v] of after) if (!before.has(p)) out.push(`new ${p}: ${v}`);
  return out;
}

/** Enablement links of our units: "matrix-synapse.target.wants/matrix-synapse.service", … */
function ourLinks(root: string): string[] {
  const dir = join(root, "etc/systemd/system");
  return readdirSync(dir)
    .filter((d) => d.endsWith(".wants") || d.endsWith(".requires"))
    .flatMap((d) => readdirSync(join(dir, d)).map((n) => `${d}/${n}`))
    .filter((l) => l.includes("matrix-synapse"))
    .sort();
}

const expectedLinks = (workers: string[]) =>
  [
    "matrix-synapse.target.wants/matrix-synapse.service",
    ...workers.map((w) => `matrix-synapse.target.wants/${unit(w)}`),
    "multi-user.target.wants/matrix-synapse.target",
  ].sort();

const read = (root: string, p: string) => readFileSync(join(root, p), "utf8");
const has = (root: string, p: string) => existsSync(join(root, p));

// ---- the story -------------------------------------------------------------

interface Format {
  readonly name: string;
  /** Where this format puts the units. */
  readonly unitDir: string;
  /** Beside a config the admin edited, where the new version lands. */
  readonly newVersionSuffix: string;
  prepare(root: string): void;
  install(root: string, v: 1 | 2): string;
  /** Each way of running the set-up of the installed version again. */
  again: readonly (readonly [string, (root: string) => string])[];
  remove(root: string): string;
  purge(root: string): string;
}

function artifacts(spec: string) {
  const b = mustBuild(spec);
  const get = (suffix: string) => b.artifacts.find((a) => a.filename.endsWith(suffix))!.content;
  return { deb: get(".deb"), tar: get(".tar.gz"), version: b.deployment.pkg.version };
}

const deb: Format = {
  name: ".deb",
  unitDir: "lib/systemd/system",
  newVersionSuffix: ".dpkg-dist",
  prepare(root) {
    writeFileSync(join(root, "root/v1.deb"), artifacts(V1).deb);
    writeFileSync(join(root, "root/v2.deb"), artifacts(V2).deb);
  },
  // Every generated file's header names the spec's hash, so a conffile the admin
  // edited differs on both sides: dpkg would ask. --force-confold keeps the admin's.
  install: (root, v) => sh(root, `dpkg -i --force-confdef --force-confold /root/v${v}.deb 2>&1`),
  again: [
    ["dpkg-reconfigure", (root) => sh(root, `dpkg-reconfigure ${PKG} 2>&1`)],
    ["dpkg -i of the same version", (root) => sh(root, "dpkg -i --force-confdef --force-confold /root/v2.deb 2>&1")],
  ],
  remove: (root) => sh(root, `dpkg -r ${PKG} 2>&1`),
  purge: (root) => sh(root, `dpkg -P ${PKG} 2>&1`),
};

const tarball: Format = {
  name: "tarball",
  unitDir: "etc/systemd/system",
  newVersionSuffix: ".dist",
  prepare(root) {
    for (const [v, spec] of [[1, V1], [2, V2]] as const) {
      const file = join(root, `root/v${v}.tar.gz`);
      writeFileSync(file, artifacts(spec).tar);
      mkdirSync(join(root, `root/stage-v${v}`));
      run("tar", ["-xzf", file, "-C", join(root, `root/stage-v${v}`)]);
    }
  },
  install: (root, v) => sh(root, `dash /root/stage-v${v}/usr/lib/${PKG}/install 2>&1`),
  again: [
    ["install --dry-run", (root) => {
      const out = sh(root, `dash /root/stage-v2/usr/lib/${PKG}/install --dry-run 2>&1`);
      assert.match(out, /^\+ write \/var\/lib\/matrix-synapse-workers\/installed$/m, "--dry-run prints its steps");
      return out;
    }],
    ["install from the unpacked tarball", (root) => sh(root, `dash /root/stage-v2/usr/lib/${PKG}/install 2>&1`)],
    ["install as installed", (root) => sh(root, `dash /usr/lib/${PKG}/install 2>&1`)],
  ],
  remove: (root) => sh(root, `dash /usr/lib/${PKG}/uninstall 2>&1`),
  purge: (root) => sh(root, `dash /var/lib/${PKG}/uninstall --purge 2>&1`),
};

// adduser's files: the service user stays after purge, as Debian's packages leave system users.
const USER_FILES = ["etc/passwd", "etc/passwd-", "etc/group", "etc/group-", "etc/shadow", "etc/shadow-", "etc/gshadow", "etc/gshadow-", "etc/.pwd.lock"];
const SYNAPSE_FILES = [
  "etc/matrix-synapse/homeserver.yaml",
  "etc/matrix-synapse/conf.d/server_name.yaml",
  "etc/matrix-synapse/homeserver.signing.key",
  "var/lib/matrix-synapse/homeserver.db",
];
const EDIT = "# the admin was here\n";

async function story(t: TestContext, f: Format): Promise<void> {
  if (!needTools(t, "debootstrap", "chroot", "dpkg-deb", "tar") || !needRoot(t)) return;
  const root = freshRoot(t);
  installFakeSynapse(root);
  f.prepare(root);
  const synapseUnit = read(root, "lib/systemd/system/matrix-synapse.service");
  const pristine = snapshot(root, USER_FILES);
  const synapseFiles = SYNAPSE_FILES.map((p) => read(root, p));

  await t.test("install v1: three workers, each unit enabled, the user made", () => {
    f.install(root, 1);
    assert.deepEqual(ourLinks(root), expectedLinks(["fed1", "client1", "sync1"]));
    for (const w of ["fed1", "client1", "sync1"]) assert.ok(has(root, `${WORKERS_DIR}/${w}.yaml`), w);
    assert.match(read(root, `${f.unitDir}/matrix-synapse.service`), /Generated by synapse-systemd/);
    sh(root, "getent passwd matrix-synapse >/dev/null");
    if (f === deb) {
      assert.match(sh(root, "dpkg-divert --list"), /diversion of \/lib\/systemd\/system\/matrix-synapse.service to \/lib\/systemd\/system\/matrix-synapse.service.distrib by matrix-synapse-workers/);
      assert.equal(read(root, "lib/systemd/system/matrix-synapse.service.distrib"), synapseUnit, "Synapse's unit, diverted aside");
    }
  });

  await t.test("the admin edits fed1's config and disables client1", () => {
    sh(root, `printf '${EDIT}' >>/${WORKERS_DIR}/fed1.yaml; systemctl disable --quiet ${unit("client1")}`);
    assert.deepEqual(ourLinks(root), expectedLinks(["fed1", "sync1"]));
  });

  await t.test("install v2: the edit kept, client1 still disabled, sync1 gone, ec1 enabled", () => {
    const out = f.install(root, 2);
    assert.ok(read(root, `${WORKERS_DIR}/fed1.yaml`).endsWith(EDIT), "the admin's edit was kept");
    assert.match(read(root, `${WORKERS_DIR}/fed1.yaml${f.newVersionSuffix}`), /Generated by synapse-systemd/, "the new version beside it");
    assert.deepEqual(ourLinks(root), expectedLinks(["fed1", "ec1"]));
    assert.ok(!has(root, `${WORKERS_DIR}/sync1.yaml`), "the dropped worker's config is removed");
    assert.match(out, /matrix-synapse-worker@sync1\.service is no longer in the spec/);
    assert.ok(has(root, `${WORKERS_DIR}/ec1.yaml`));
    assert.equal(read(root, `var/lib/${PKG}/workers`).split("\n").filter(Boolean).map((l) => l.split(" ")[0]).join(" "), [unit("fed1"), unit("client1"), unit("ec1")].join(" "));
  });

  await t.test("configure again: nothing changes", () => {
    for (const [how, again] of f.again) {
      const before = snapshot(root);
      again(root);
      assert.deepEqual(changes(before, snapshot(root)), [], how);
    }
  });

  await t.test("remove: every unit stopped and disabled, ours gone, Synapse's unit back", () => {
    f.remove(root);
    assert.deepEqual(ourLinks(root), []);
    for (const u of ["matrix-synapse-worker@.service", "matrix-synapse.target"]) assert.ok(!has(root, `${f.unitDir}/${u}`), u);
    assert.equal(read(root, "lib/systemd/system/matrix-synapse.service"), synapseUnit);
    if (f === deb) assert.doesNotMatch(sh(root, "dpkg-divert --list"), /matrix-synapse/);
    // The admin's disable is remembered until purge.
    assert.equal(read(root, `var/lib/${PKG}/enabled`), `${unit("client1")}\n`);
    assert.ok(read(root, `${WORKERS_DIR}/fed1.yaml`).endsWith(EDIT), "the edited config stays until purge");
  });

  await t.test("purge: nothing of ours is left, Synapse's files untouched", () => {
    f.purge(root);
    assert.deepEqual(changes(pristine, snapshot(root, USER_FILES)), []);
    assert.deepEqual(SYNAPSE_FILES.map((p) => read(root, p)), synapseFiles);
    sh(root, "getent passwd matrix-synapse >/dev/null");
  });
}

/**
 * v1 → the admin edits the config of a worker v2 drops, and disables client1 →
 * v2 → remove → install v2 again → remove → purge.
 */
async function droppedButEdited(t: TestContext, f: Format): Promise<void> {
  if (!needTools(t, "debootstrap", "chroot", "dpkg-deb", "tar") || !needRoot(t)) return;
  const root = freshRoot(t);
  installFakeSynapse(root);
  f.prepare(root);
  const pristine = snapshot(root, USER_FILES);
  f.install(root, 1);
  sh(root, `printf '${EDIT}' >>/${WORKERS_DIR}/sync1.yaml; systemctl disable --quiet ${unit("client1")}`);
  const out = f.install(root, 2);
  assert.match(out, /kept \/etc\/matrix-synapse\/workers\/sync1\.yaml/, "says it kept the edited config");
  assert.ok(read(root, `${WORKERS_DIR}/sync1.yaml`).endsWith(EDIT));
  assert.deepEqual(ourLinks(root), expectedLinks(["fed1", "ec1"]), "the instance is disabled all the same");
  f.remove(root);
  assert.ok(has(root, `${WORKERS_DIR}/sync1.yaml`), "kept until purge");
  f.install(root, 2);
  assert.deepEqual(ourLinks(root), expectedLinks(["fed1", "ec1"]), "installed again after remove: enabled again, but client1 stays disabled");
  f.remove(root);
  f.purge(root);
  assert.deepEqual(changes(pristine, snapshot(root, USER_FILES)), []);
}

test("lifecycle of the .deb in a Debian root: install, upgrade, configure again, remove, purge", (t) => story(t, deb));
test("lifecycle of the tarball in a Debian root: install, upgrade, install again, uninstall, purge", (t) => story(t, tarball));
test("the .deb keeps a dropped worker's config the admin edited and says so; remove, install again, purge", (t) => droppedButEdited(t, deb));
test("the tarball keeps a dropped worker's config the admin edited and says so; uninstall, install again, purge", (t) => droppedButEdited(t, tarball));
