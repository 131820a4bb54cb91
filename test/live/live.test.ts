// Live suite: installs the generated artifacts into a real systemd (PID 1) inside a
// systemd-nspawn container (test/live/harness.sh) and checks the promises the units make:
// everything comes up and answers HTTP, target restart/stop reach every unit, a worker restart
// leaves the master alone, new worker instances can be enabled, Restart= recovers a SIGKILL,
// and all of it with the hardened drop-ins on (the default), starting without a signing key.
//
// Run: `npm run test:live` as root on a Debian host with debootstrap and systemd-container.
// Missing prerequisites skip the suite loudly, or fail it under CI=true.
// Environment: SYNAPSE_SYSTEMD_LIVE (cache dir of the harness), LIVE_HANDWRITTEN=1 (install
// upstream's hand-written units instead of the generator's artifacts), LIVE_CASES (comma-separated
// case titles to run, e.g. LIVE_CASES="one of each"; default all), LIVE_CONCURRENCY (cases run at
// once, default 2).
// Cases run two at a time, each in its own containers: every case is bound to a harness instance
// (LIVE_INSTANCE, its own overlay, machine and cgroup over the one cached root), carried to every
// harness call of the case's hooks and steps by an AsyncLocalStorage; a harness call outside a
// case is an error, never a silent default. Its notes and journal tails are tagged [<case>].
// One overlay of the cached root per install path per spec: the deb overlay carries the
// lifecycle checks, the tarball overlay proves the same running state on a fresh system.
// The one-of-each spec (21 workers, every type) gets one lean .deb overlay: everything active and
// answering on every listener, and Synapse's own config loader run on each unit's config paths.
// The "upgrade" case (test/live/upgrade-v1.yaml -> upgrade-v2.yaml, one overlay for the .deb and one
// for the tarball) checks an upgrade's effect on running services: the dropped worker stopped and
// disabled, an admin-disabled instance left down, the master and then the enabled workers restarted,
// the worker the new spec adds started,
// and after remove nothing of ours running while Synapse's homeserver.yaml and signing key stay.
// The "unix sockets" case (test/live/unix-sockets.yaml, one .deb overlay) puts the master's replication
// listener and the workers' listeners on unix sockets in their runtime dirs and checks the hardened
// runtime-directory layout: socket modes, replication both ways over the sockets, stopping one worker
// removes only its own dir, restarting (or kill -9 of) the master alone leaves the workers' sockets.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { AsyncLocalStorage } from "node:async_hooks";
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";

// dist/test/live/live.test.js -> repo root (the harness and the spec live in the sources)
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const HARNESS = "test/live/harness.sh";
const CLI = path.join(REPO, "dist/generator/cli.js");
const KEY = "/etc/matrix-synapse/homeserver.signing.key";
const MASTER = "matrix-synapse.service";
const TARGET = "matrix-synapse.target";

// ------------------------------------------------------------------ processes

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], timeoutMs = 120_000, env?: NodeJS.ProcessEnv): Promise<Result> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: REPO, timeout: timeoutMs, maxBuffer: 64 << 20, env }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, stdout: stdout.toString(), stderr: stderr.toString() });
    });
  });
}

/** The container a case runs in: its harness instance (LIVE_INSTANCE) and its title, for output. */
interface Box {
  instance: string;
  label: string;
}
/** The Box of the case whose hook or step is running (node:test runs them in their definition's context). */
const BOX = new AsyncLocalStorage<Box>();

/** The case's tag for interleaved output ("" outside a case). */
const tag = (): string => {
  const b = BOX.getStore();
  return b ? `[${b.label}] ` : "";
};

function note(msg: string): void {
  process.stderr.write(`    ${tag()}${msg}\n`);
}

/** The harness, as the given instance (default: the running case's; outside a case that is an error). */
function runHarness(args: string[], timeoutMs = 120_000, instance = BOX.getStore()?.instance): Promise<Result> {
  if (instance === undefined) throw new Error(`harness ${args.join(" ")} called outside a case: no container instance`);
  return run("bash", [HARNESS, ...args], timeoutMs, { ...process.env, LIVE_INSTANCE: instance });
}

/** Harness subcommand; throws with its stderr on failure. Its timing lines are forwarded. */
async function harness(args: string[], timeoutMs = 120_000, instance?: string): Promise<string> {
  const r = await runHarness(args, timeoutMs, instance);
  const timing = r.stderr.split("\n").filter((l) => /^harness: (root|building|boot|stop|system state|failed|container)/.test(l));
  for (const l of timing) note(l);
  if (r.code !== 0) throw new Error(`harness ${args.join(" ")} exited ${r.code}\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** Shell snippet inside the container; resolves with the result (no throw). */
async function sh(script: string, timeoutMs = 120_000): Promise<Result> {
  return runHarness(["exec", "sh", "-c", script], timeoutMs);
}

/** Shell snippet inside the container; throws unless it exits 0, returns stdout. */
async function shOk(script: string, timeoutMs = 120_000): Promise<string> {
  const r = await sh(script, timeoutMs);
  if (r.code !== 0) throw new Error(`in container: ${script}\nexit ${r.code}\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

// ------------------------------------------------------------------ prerequisites

async function missingPrerequisite(): Promise<string | undefined> {
  if (process.platform !== "linux") return "not Linux";
  if (process.getuid?.() !== 0) return "must run as root (systemd-nspawn, overlayfs, debootstrap)";
  for (const tool of ["systemd-nspawn", "debootstrap", "nsenter", "unshare", "curl"]) {
    const r = await run("bash", ["-c", `command -v ${tool}`]);
    if (r.code !== 0) return `${tool} not found (apt-get install debootstrap systemd-container curl)`;
  }
  for (const url of ["http://deb.debian.org/debian/dists/bookworm/InRelease", "https://pypi.org/simple/matrix-synapse/"]) {
    const r = await run("curl", ["-sS", "-o", "/dev/null", "-m", "15", "-w", "%{http_code}", "-I", url]);
    if (r.code !== 0 || r.stdout !== "200") return `no network to ${url} (${r.stderr.trim() || r.stdout})`;
  }
  return undefined;
}

// ------------------------------------------------------------------ specs

/** A worker as the generator reports it (`validate --json`). */
interface Listener {
  type: string;
  port?: number;
  path?: string;
  mode?: string;
  bindAddresses?: string[];
  resources: string[];
}
interface Worker {
  name: string;
  type: string;
  unit: string;
  config: string;
  listeners: Listener[];
}
interface SpecCase {
  title: string;
  /** spec file for the CLI; undefined = the embedded example */
  spec?: string;
  workers: Worker[];
  /** the master's replication socket (spec master.replication.path); undefined: TCP 127.0.0.1:9093 */
  mainSocket?: string;
  /**
   * full: .deb lifecycle + tarball overlays; lean: one .deb overlay (start, listeners, Synapse's config
   * loader, exposure); sockets: one .deb overlay, unix-socket runtime directories under stop/restart
   */
  suite: "full" | "lean" | "sockets";
}

/** The workers of a spec (undefined: the embedded example), from the generator itself. */
function loadWorkers(spec?: string): Worker[] {
  if (!existsSync(CLI)) throw new Error(`generator CLI ${path.relative(REPO, CLI)} not built: run npm run build`);
  const args = [CLI, "validate", ...(spec ? [spec] : []), "--json"];
  let out: string;
  try {
    out = execFileSync(process.execPath, args, { cwd: REPO, encoding: "utf8" });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    throw new Error(`node ${args.join(" ")} failed\n${err.stdout ?? ""}${err.stderr ?? ""}`);
  }
  const doc = JSON.parse(out) as { ok: boolean; workers: Worker[] };
  if (!doc.ok) throw new Error(`spec ${spec ?? "(embedded example)"} is invalid:\n${out}`);
  return doc.workers;
}

const specCase = (title: string, spec?: string, suite: SpecCase["suite"] = "full"): SpecCase => {
  const master = spec ? (parseYaml(readFileSync(spec, "utf8")) as { master?: { replication?: { path?: string } } } | null)?.master : undefined;
  return { title, spec, workers: loadWorkers(spec), mainSocket: master?.replication?.path, suite };
};
const ALL_CASES: SpecCase[] = [
  specCase("embedded example"), // the seed's: one federation_reader on 127.0.0.1:8083
  specCase("four workers", path.join(REPO, "test/live/four-workers.yaml")),
  // 21 workers, one of every type, <type>1 from port 18101; stream writers add a replication listener
  specCase("one of each", path.join(REPO, "fixtures/one-of-each.yaml"), "lean"),
  // the master's replication and three workers' listeners on unix sockets in their runtime dirs
  specCase("unix sockets", path.join(REPO, "test/live/unix-sockets.yaml"), "sockets"),
];
const ONLY = process.env.LIVE_CASES?.split(",").map((t) => t.trim());
const CASES = ALL_CASES.filter((c) => !ONLY || ONLY.includes(c.title));

const workerUnit = (name: string): string => `matrix-synapse-worker@${name}.service`;
const unitsOf = (c: SpecCase): string[] => [MASTER, ...c.workers.map((w) => w.unit)];

/** An HTTP probe: a URL, or "<socket>|http://localhost/<path>" for a unix-socket listener. */
const viaSocket = (sock: string, p = "/health"): string => `${sock}|http://localhost${p}`;

/** The probe of one worker listener: federation readers' version endpoint, else /health. */
function probeOf(w: Worker, l: Listener): string {
  assert.equal(l.type, "http", `${w.name}: the live suite probes http listeners only: ${JSON.stringify(l)}`);
  const p = w.type === "federation_reader" && l.resources.includes("federation") ? "/_matrix/federation/v1/version" : "/health";
  if (l.path !== undefined) return viaSocket(l.path, p);
  assert.ok(l.port !== undefined, `${w.name}: listener with neither port nor path: ${JSON.stringify(l)}`);
  const bind = l.bindAddresses?.[0] ?? "127.0.0.1";
  const host = bind === "0.0.0.0" || bind === "::" ? "127.0.0.1" : bind; // a wildcard answers on loopback
  return `http://${host.includes(":") ? `[${host}]` : host}:${l.port}${p}`;
}

/**
 * Every HTTP endpoint the running stack must answer with 200: the master's public listener and
 * its replication listener (instance_map.main), and every listener of every worker, replication
 * listeners included (Synapse mounts /health on every http listener).
 */
function endpointsOf(c: SpecCase): string[] {
  const urls = ["http://127.0.0.1:8008/_matrix/client/versions", c.mainSocket ? viaSocket(c.mainSocket) : "http://127.0.0.1:9093/health"];
  for (const w of c.workers) for (const l of w.listeners) urls.push(probeOf(w, l));
  return urls;
}

// ------------------------------------------------------------------ artifacts

/**
 * What gets installed. "generated": the generator CLI's .deb and .tar.gz. "handwritten": the
 * upstream docs/systemd-with-workers units + upstream override-hardened.conf, used only while
 * the CLI does not exist yet (proves root, venv, PostgreSQL, Redis, boot and the checks).
 */
type Artifacts = { kind: "generated"; deb: string; tar: string } | { kind: "handwritten"; files: Map<string, string> };

// Decided once, at load time, so the test names say what is being installed.
// LIVE_HANDWRITTEN=1 forces the hand-written units (to tell harness trouble from generator trouble).
const GENERATED = existsSync(CLI) && process.env.LIVE_HANDWRITTEN !== "1";

async function buildArtifacts(c: SpecCase, out: string): Promise<Artifacts> {
  if (!GENERATED) {
    note(`generator CLI ${path.relative(REPO, CLI)} not built (or LIVE_HANDWRITTEN=1): using hand-written upstream units`);
    return { kind: "handwritten", files: handwrittenFiles(c) };
  }
  const args = [CLI, "build", ...(c.spec ? [c.spec] : []), "--out", out, "--format", "dir,tar,deb"];
  const r = await run(process.execPath, args);
  if (r.code !== 0) throw new Error(`generator failed: node ${args.join(" ")}\n${r.stdout}${r.stderr}`);
  const pick = (suffix: string): string => {
    const hits = readdirSync(out).filter((f) => f.endsWith(suffix));
    assert.equal(hits.length, 1, `exactly one *${suffix} in ${out}: ${hits.join(", ")}`);
    return path.join(out, hits[0]!);
  };
  return { kind: "generated", deb: pick(".deb"), tar: pick(".tar.gz") };
}

/** Install into the booted container: the one place that knows how each artifact installs. */
async function installArtifacts(a: Artifacts, via: "deb" | "tar"): Promise<void> {
  if (a.kind === "generated" && via === "deb") {
    await harness(["copy-in", a.deb, "/root/pkg.deb"]);
    await shOk("dpkg -i /root/pkg.deb", 300_000);
  } else if (a.kind === "generated" && via === "tar") {
    await harness(["copy-in", a.tar, "/root/pkg.tar.gz"]);
    await shOk(
      "rm -rf /tmp/stage && mkdir /tmp/stage && tar -xzf /root/pkg.tar.gz -C /tmp/stage && " +
        "/tmp/stage/usr/lib/matrix-synapse-workers/install --start",
      300_000,
    );
  } else if (a.kind === "handwritten") {
    const dir = mkdtempSync(path.join(tmpdir(), "live-hand-"));
    try {
      for (const [rel, content] of a.files) {
        const local = path.join(dir, rel.replaceAll("/", "_"));
        writeFileSync(local, content);
        await harness(["copy-in", local, `/${rel}`]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const units = [...a.files.keys()].filter((f) => f.startsWith("etc/matrix-synapse/workers/")).map((f) => workerUnit(path.basename(f, ".yaml")));
    await shOk(`systemctl daemon-reload && systemctl enable -q ${MASTER} ${units.join(" ")} ${TARGET} && systemctl start ${TARGET}`, 300_000);
  }
}

const UPSTREAM_HARDENED = `[Service]
RuntimeDirectory=matrix-synapse
StateDirectory=matrix-synapse
LogsDirectory=matrix-synapse
PrivateTmp=true
PrivateDevices=true
CapabilityBoundingSet=
AmbientCapabilities=
ProtectSystem=strict
ProtectKernelTunables=true
ProtectKernelModules=true
ProtectControlGroups=true
ProtectClock=true
ProtectHostname=true
ProtectHome=tmpfs
ProtectKernelLogs=true
ProtectProc=invisible
ProcSubset=pid
PrivateNetwork=false
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
IPAddressAllow=any
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
RestrictSUIDSGID=true
RemoveIPC=true
NoNewPrivileges=true
RestrictRealtime=true
RestrictNamespaces=true
LockPersonality=true
PrivateUsers=true
MemoryDenyWriteExecute=false
# not upstream: lets ExecStartPre --generate-keys write the missing signing key
ReadWritePaths=/etc/matrix-synapse
`;

function handwrittenFiles(c: SpecCase): Map<string, string> {
  const py = "/opt/venvs/matrix-synapse/bin/python";
  const cfg = "--config-path=/etc/matrix-synapse/homeserver.yaml --config-path=/etc/matrix-synapse/conf.d/";
  const f = new Map<string, string>();
  f.set("etc/systemd/system/matrix-synapse.target", "[Unit]\nDescription=Synapse parent target\nAfter=network.target\n\n[Install]\nWantedBy=multi-user.target\n");
  f.set(
    "etc/systemd/system/matrix-synapse.service",
    `[Unit]\nDescription=Synapse master\nPartOf=matrix-synapse.target\nReloadPropagatedFrom=matrix-synapse.target\n\n[Service]\nType=notify\nNotifyAccess=main\nUser=matrix-synapse\nRuntimeDirectory=synapse\nWorkingDirectory=/var/lib/matrix-synapse\nEnvironmentFile=-/etc/default/matrix-synapse\nExecStartPre=${py} -m synapse.app.homeserver ${cfg} --generate-keys\nExecStart=${py} -m synapse.app.homeserver ${cfg}\nExecReload=/bin/kill -HUP $MAINPID\nRestart=always\nRestartSec=3\nSyslogIdentifier=matrix-synapse\n\n[Install]\nWantedBy=matrix-synapse.target\n`,
  );
  f.set(
    "etc/systemd/system/matrix-synapse-worker@.service",
    `[Unit]\nDescription=Synapse %i\nAssertPathExists=/etc/matrix-synapse/workers/%i.yaml\nPartOf=matrix-synapse.target\nReloadPropagatedFrom=matrix-synapse.target\nAfter=matrix-synapse.service\n\n[Service]\nType=notify\nNotifyAccess=main\nUser=matrix-synapse\nWorkingDirectory=/var/lib/matrix-synapse\nEnvironmentFile=-/etc/default/matrix-synapse\nExecStart=${py} -m synapse.app.generic_worker ${cfg} --config-path=/etc/matrix-synapse/workers/%i.yaml\nExecReload=/bin/kill -HUP $MAINPID\nRestart=always\nRestartSec=3\nSyslogIdentifier=matrix-synapse-%i\n\n[Install]\nWantedBy=matrix-synapse.target\n`,
  );
  f.set("etc/systemd/system/matrix-synapse.service.d/override-hardened.conf", UPSTREAM_HARDENED);
  f.set("etc/systemd/system/matrix-synapse-worker@.service.d/override-hardened-worker.conf", UPSTREAM_HARDENED);
  f.set(
    "etc/matrix-synapse/conf.d/synapse-systemd.yaml",
    `listeners:
  - { type: http, port: 8008, bind_addresses: ['127.0.0.1'], x_forwarded: true, resources: [{ names: [client, federation] }] }
  - { type: http, port: 9093, bind_addresses: ['127.0.0.1'], resources: [{ names: [replication] }] }
instance_map:
  main: { host: 127.0.0.1, port: 9093 }
redis: { enabled: true, host: 127.0.0.1, port: 6379 }
`,
  );
  for (const w of c.workers) f.set(`etc/matrix-synapse/workers/${w.name}.yaml`, workerYaml(w.name, w.listeners));
  return f;
}

function workerYaml(name: string, listeners: Pick<Listener, "port" | "resources">[]): string {
  const ls = listeners
    .map((l) => `  - { type: http, port: ${l.port}, bind_addresses: ['127.0.0.1'], x_forwarded: true, resources: [{ names: [${l.resources.join(", ")}] }] }\n`)
    .join("");
  return `worker_app: synapse.app.generic_worker\nworker_name: "${name}"\nworker_listeners:\n${ls}`;
}

// ------------------------------------------------------------------ in-container probes

/** MainPID and ActiveState of each unit (one exec). */
async function unitStates(units: string[]): Promise<Map<string, { pid: number; state: string }>> {
  const out = await shOk(`systemctl show -p Id -p MainPID -p ActiveState ${units.join(" ")}`);
  const m = new Map<string, { pid: number; state: string }>();
  for (const block of out.trim().split(/\n\n+/)) {
    const kv = Object.fromEntries(block.split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
    m.set(kv.Id ?? "?", { pid: Number(kv.MainPID), state: kv.ActiveState ?? "?" });
  }
  return m;
}

/** Poll until pred(states) holds or the deadline passes; returns the last states. */
async function pollUnits(
  units: string[],
  pred: (s: Map<string, { pid: number; state: string }>) => boolean,
  deadlineS = 60,
): Promise<Map<string, { pid: number; state: string }>> {
  const end = Date.now() + deadlineS * 1000;
  for (;;) {
    const s = await unitStates(units);
    if (pred(s) || Date.now() > end) return s;
    await new Promise((r) => setTimeout(r, 250));
  }
}

const fmt = (s: Map<string, { pid: number; state: string }>): string => [...s].map(([u, v]) => `${u}=${v.state}/${v.pid}`).join(" ");

/** Single-quoted for sh. */
const q = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;

/** Poll every probe (URL or socket|URL, inside the container: private network) until 200, ~60 s deadline. */
async function waitHttp(urls: string[], deadlineS = 60): Promise<void> {
  const script = `
    end=$(( $(date +%s) + ${deadlineS} )); rc=0
    for u in ${urls.map(q).join(" ")}; do
      case $u in *'|'*) set -- --unix-socket "\${u%%|*}" ;; *) set -- ;; esac
      while :; do
        code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$@" "\${u#*|}")
        [ "$code" = 200 ] && { echo "200 $u"; break; }
        [ "$(date +%s)" -ge "$end" ] && { echo "$code $u (deadline)"; rc=1; break; }
        sleep 0.25
      done
    done
    exit $rc`;
  const r = await sh(script, (deadlineS + 30) * 1000);
  for (const l of r.stdout.trim().split("\n")) note(l);
  assert.equal(r.code, 0, `HTTP endpoints did not all answer 200:\n${r.stdout}`);
}

async function dumpJournals(units: string[]): Promise<void> {
  for (const u of units) {
    const r = await runHarness(["journal", u, "50"]);
    process.stderr.write(`----- ${tag()}journalctl -u ${u} -n 50 -----\n${r.stdout}${r.stderr}\n`);
  }
}

/** A named test whose failure prints the journals of the units involved. */
function step(name: string, units: () => string[], fn: () => Promise<void>, timeoutMs = 180_000): void {
  test(name, { timeout: timeoutMs }, async () => {
    try {
      await fn();
    } catch (e) {
      await dumpJournals(units());
      throw e;
    }
  });
}

/** Overall exposure of each unit, from `systemd-analyze security` (one exec for all units). */
async function exposures(units: string[]): Promise<Map<string, string>> {
  const out = await shOk(`for u in ${units.join(" ")}; do echo "$u $(systemd-analyze security --no-pager $u | tail -n 1)"; done`);
  const m = new Map<string, string>();
  for (const l of out.trim().split("\n")) {
    const u = l.slice(0, l.indexOf(" "));
    const hit = /Overall exposure level for \S+: ([0-9.]+ \S+)/.exec(l);
    m.set(u, hit?.[1] ?? l.slice(u.length + 1).trim());
  }
  assert.deepEqual([...m.keys()], units, `systemd-analyze security output:\n${out}`);
  return m;
}

// ------------------------------------------------------------------ the suite

async function runningState(c: SpecCase): Promise<string[]> {
  // the part of the state both install paths must agree on: each unit active + enabled
  const out = await shOk(`for u in ${TARGET} ${unitsOf(c).join(" ")}; do echo "$u $(systemctl is-active $u) $(systemctl is-enabled $u)"; done`);
  return out.trim().split("\n");
}

function specSuite(c: SpecCase, ctx: { artifacts?: Artifacts; out: string; states: Record<string, string[]> }): void {
  const units = (): string[] => unitsOf(c);

  describe(`${c.title}: .deb`, () => {
    before(async () => {
      await harness(["boot"]);
    });
    after(async () => {
      await harness(["stop"]);
    });

    step(GENERATED ? "a. install the .deb (dpkg -i), no signing key yet" : "a. install hand-written upstream units (no generator CLI yet), no signing key yet", units, async () => {
      await shOk(`test -x /opt/venvs/matrix-synapse/bin/python && ! test -e ${KEY}`);
      await installArtifacts(ctx.artifacts!, "deb");
      // both specs say install.start: true, so the postinst itself must have started the target
      const r = await sh(`systemctl is-active ${TARGET}`);
      assert.equal(r.stdout.trim(), "active", `${TARGET} not started by the install`);
    }, 360_000);

    step("b. start matrix-synapse.target: every unit active, every listener answers", units, async () => {
      await shOk(`systemctl start ${TARGET}`);
      const s = await pollUnits(units(), (s) => [...s.values()].every((v) => v.state === "active"));
      note(fmt(s));
      assert.ok([...s.values()].every((v) => v.state === "active"), `not all active: ${fmt(s)}`);
      await waitHttp(endpointsOf(c));
      ctx.states.deb = await runningState(c);
    });

    step("d. hardened first start generated the signing key", units, async () => {
      await shOk(`test -s ${KEY}`);
      const ps = await shOk(`systemctl show -p ProtectSystem --value ${units().join(" ")}`);
      for (const v of ps.trim().split("\n")) assert.notEqual(v, "no", `hardening off: ProtectSystem=${v}`);
    });

    step("d. systemd-analyze security exposure", units, async () => {
      const e = await exposures(units());
      for (const [u, v] of e) note(`exposure ${u}: ${v}`);
    });

    step("c. restarting the target gives every unit a new MainPID", units, async () => {
      const before = await unitStates(units());
      await shOk(`systemctl restart ${TARGET}`);
      const s = await pollUnits(units(), (s) =>
        [...s].every(([u, v]) => v.state === "active" && v.pid > 0 && v.pid !== before.get(u)?.pid),
      );
      note(`before: ${fmt(before)}`);
      note(`after:  ${fmt(s)}`);
      for (const [u, v] of s) {
        assert.equal(v.state, "active", `${u} after target restart`);
        assert.notEqual(v.pid, before.get(u)?.pid, `${u} kept MainPID ${v.pid}`);
      }
      await waitHttp(endpointsOf(c));
    });

    step("c. restarting one worker leaves the master's MainPID unchanged", units, async () => {
      const w = workerUnit(c.workers[0]!.name);
      const before = await unitStates([MASTER, w]);
      await shOk(`systemctl restart ${w}`);
      const s = await pollUnits([MASTER, w], (s) => s.get(w)!.state === "active");
      note(`before: ${fmt(before)}  after: ${fmt(s)}`);
      assert.equal(s.get(MASTER)!.pid, before.get(MASTER)!.pid, "master restarted with a worker");
      assert.notEqual(s.get(w)!.pid, before.get(w)!.pid, "worker kept its MainPID");
      assert.equal(s.get(w)!.state, "active");
    });

    step("c. kill -9 of a worker's MainPID: systemd restarts it", units, async () => {
      const w = workerUnit(c.workers[c.workers.length - 1]!.name);
      const pid = (await unitStates([w])).get(w)!.pid;
      assert.ok(Number.isInteger(pid) && pid > 1, `bad MainPID ${pid}`); // never kill 0/1
      await shOk(`kill -9 ${pid}`);
      const s = await pollUnits([w], (s) => s.get(w)!.state === "active" && s.get(w)!.pid > 0 && s.get(w)!.pid !== pid, 30);
      const n = await shOk(`systemctl show -p NRestarts --value ${w}`);
      note(`${w}: ${pid} -> ${s.get(w)!.pid}, NRestarts=${n.trim()}`);
      assert.equal(s.get(w)!.state, "active");
      assert.notEqual(s.get(w)!.pid, pid);
      assert.ok(Number(n) >= 1, "NRestarts did not increase");
    });

    step("c. stopping the target leaves every unit inactive", units, async () => {
      await shOk(`systemctl stop ${TARGET}`);
      // stop returns once the target is down; the PartOf= services follow: poll
      const s = await pollUnits(units(), (s) => [...s.values()].every((v) => v.state === "inactive"));
      note(fmt(s));
      for (const [u, v] of s) assert.equal(v.state, "inactive", u);
    });

    const extra = "extra_worker1";
    step("c. a newly enabled worker instance comes up with the target", () => [...units(), workerUnit(extra)], async () => {
      const dir = mkdtempSync(path.join(tmpdir(), "live-extra-"));
      try {
        const f = path.join(dir, `${extra}.yaml`);
        writeFileSync(f, workerYaml(extra, [{ port: 8099, resources: ["client"] }]));
        await harness(["copy-in", f, `/etc/matrix-synapse/workers/${extra}.yaml`]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      await shOk(`systemctl enable -q ${workerUnit(extra)} && systemctl restart ${TARGET}`);
      const all = [...units(), workerUnit(extra)];
      const s = await pollUnits(all, (s) => [...s.values()].every((v) => v.state === "active"));
      note(fmt(s));
      for (const [u, v] of s) assert.equal(v.state, "active", u);
      await waitHttp([...endpointsOf(c), "http://127.0.0.1:8099/health"]);
    });
  });

  // the tarball path only exists with the generator; without it, skip (loudly) instead of booting
  describe(`${c.title}: .tar.gz`, { skip: GENERATED ? false : "no generated tarball: hand-written units (generator CLI not built, or LIVE_HANDWRITTEN=1)" }, () => {
    before(async () => {
      await harness(["boot"]);
    });
    after(async () => {
      await harness(["stop"]);
    });

    step("a. install the tarball with its install script --start (fresh overlay)", units, async () => {
      await shOk(`! test -e ${KEY}`);
      await installArtifacts(ctx.artifacts!, "tar");
      const s = await pollUnits(units(), (s) => [...s.values()].every((v) => v.state === "active"));
      note(fmt(s));
      await waitHttp(endpointsOf(c));
      await shOk(`test -s ${KEY}`);
      const e = await exposures(units());
      for (const [u, v] of e) note(`exposure ${u}: ${v}`);
      ctx.states.tar = await runningState(c);
      assert.ok(ctx.states.deb, "no .deb running state to compare with (the .deb checks failed)");
      assert.deepEqual(ctx.states.tar, ctx.states.deb, "tarball and .deb reach different states");
    }, 360_000);
  });
}

// ------------------------------------------------------------------ Synapse's config loader

/**
 * Loads each job's argv with Synapse's own loader (HomeServerConfig.load_config, what every
 * Synapse process runs at start) in one interpreter (importing synapse once, not 22 times), and
 * prints one JSON line per job: the traceback if loading failed, else what the config decided.
 * Exits 1 if any job failed. Needs the signing key (the loader reads it), so it runs after the
 * master's first start generated it.
 */
const LOADER_PY = String.raw`
import json, sys, traceback
import attr
from synapse.config.homeserver import HomeServerConfig

def listener(l):
    h = l.http_options
    return {"type": l.type, "port": getattr(l, "port", None), "path": getattr(l, "path", None),
            "bindAddresses": list(getattr(l, "bind_addresses", None) or []),
            "resources": sorted(n for r in (h.resources if h else []) for n in r.names)}

failed = 0
for job in json.load(open(sys.argv[1])):
    r = {"unit": job["unit"]}
    try:
        c = HomeServerConfig.load_config("synapse-systemd live check", job["args"])
    except BaseException:  # ConfigError, argparse's SystemExit, anything
        failed += 1
        r["error"] = traceback.format_exc()
    else:
        w = c.worker
        r.update(
            worker_app=w.worker_app, worker_name=w.worker_name,
            instance_map={k: {"host": getattr(v, "host", None), "port": getattr(v, "port", None),
                              "path": getattr(v, "path", None)} for k, v in w.instance_map.items()},
            writers=attr.asdict(w.writers),
            listeners=[listener(l) for l in (w.worker_listeners if w.worker_app else c.server.listeners)],
            send_federation=w.send_federation,
            pusher_instances=list(w.pusher_shard_config.instances),
            run_background_tasks=w.run_background_tasks,
            should_notify_appservices=w.should_notify_appservices,
            should_update_user_directory=w.should_update_user_directory,
            can_load_media_repo=c.media.can_load_media_repo,
            redis_enabled=c.redis.redis_enabled,
        )
    print(json.dumps(r), flush=True)
sys.exit(1 if failed else 0)
`;

interface Loaded {
  unit: string;
  error?: string;
  worker_app?: string | null;
  worker_name?: string | null;
  instance_map?: Record<string, { host: string | null; port: number | null; path: string | null }>;
  writers?: Record<string, string[]>;
  listeners?: { type: string; port: number | null; path: string | null; bindAddresses: string[]; resources: string[] }[];
  send_federation?: boolean;
  pusher_instances?: string[];
  run_background_tasks?: boolean;
  should_notify_appservices?: boolean;
  should_update_user_directory?: boolean;
  can_load_media_repo?: boolean;
  redis_enabled?: boolean;
}

/** Each unit's ExecStart argv, as systemd resolved it (%i expanded). */
async function execStarts(units: string[]): Promise<Map<string, string[]>> {
  const out = await shOk(`systemctl show -p Id -p ExecStart ${units.join(" ")}`);
  const m = new Map<string, string[]>();
  for (const block of out.trim().split(/\n\n+/)) {
    const id = /^Id=(.*)$/m.exec(block)?.[1] ?? "?";
    const argv = /argv\[\]=([^;]*) ;/.exec(block)?.[1];
    assert.ok(argv, `${id}: no ExecStart argv in:\n${block}`);
    m.set(id, argv.trim().split(/\s+/));
  }
  return m;
}

/**
 * Run Synapse's loader, as the service user in the units' WorkingDirectory, on exactly the
 * arguments each unit's ExecStart passes after `python -m <app>`.
 */
async function loadConfigs(units: string[]): Promise<Map<string, Loaded>> {
  const argvs = await execStarts(units);
  const jobs = units.map((unit) => {
    const argv = argvs.get(unit)!;
    const m = argv.indexOf("-m");
    assert.ok(m > 0, `${unit}: ExecStart does not run python -m: ${argv.join(" ")}`);
    return { unit, app: argv[m + 1], args: argv.slice(m + 2) };
  });
  for (const j of jobs) note(`${j.unit}: ${j.app} ${j.args.join(" ")}`);
  const py = "/opt/venvs/matrix-synapse/bin/python";
  const script =
    `cat >/tmp/live-loader.py <<'PY'\n${LOADER_PY}\nPY\n` +
    `cat >/tmp/live-loader.json <<'JSON'\n${JSON.stringify(jobs)}\nJSON\n` +
    `chmod 644 /tmp/live-loader.py /tmp/live-loader.json && cd /var/lib/matrix-synapse && ` +
    `runuser -u matrix-synapse -- ${py} /tmp/live-loader.py /tmp/live-loader.json`;
  const t = Date.now();
  const r = await sh(script, 300_000);
  note(`loader: ${jobs.length} configs in ${((Date.now() - t) / 1000).toFixed(1)}s, exit ${r.code}`);
  const m = new Map<string, Loaded>();
  for (const l of r.stdout.split("\n").filter((l) => l.startsWith("{"))) {
    const x = JSON.parse(l) as Loaded;
    m.set(x.unit, x);
  }
  const errors = [...m.values()].filter((x) => x.error !== undefined);
  for (const x of errors) process.stderr.write(`----- ${tag()}Synapse's loader rejected ${x.unit} -----\n${x.error}\n`);
  assert.equal(errors.length, 0, `Synapse's loader rejected: ${errors.map((x) => x.unit).join(", ")}`);
  assert.equal(r.code, 0, `loader exited ${r.code}\n${r.stdout}${r.stderr}`);
  assert.deepEqual([...m.keys()].sort(), [...units].sort(), `loader did not report every unit:\n${r.stdout}${r.stderr}`);
  return m;
}

/** The stream each stream-writer type writes (event_persister: events; the others: their own name). */
const STREAMS = ["events", "typing", "to_device", "account_data", "receipts", "presence", "push_rules", "device_lists", "thread_subscriptions", "quarantined_media_changes"];
const streamOf = (type: string): string | undefined => (type === "event_persister" ? "events" : STREAMS.includes(type) ? type : undefined);

/** What every process of the case must have loaded, derived from the generator's worker list. */
function checkLoaded(c: SpecCase, loaded: Map<string, Loaded>): void {
  const main = { host: "127.0.0.1", port: 9093, path: null };
  const instanceMap: NonNullable<Loaded["instance_map"]> = {};
  const writers: Record<string, string[]> = Object.fromEntries(STREAMS.map((st) => [st, []]));
  for (const w of c.workers) {
    const repl = w.listeners.find((l) => l.resources.includes("replication"));
    if (repl) instanceMap[w.name] = { host: repl.bindAddresses?.[0] ?? null, port: repl.port ?? null, path: repl.path ?? null };
    const st = streamOf(w.type);
    if (st) writers[st]!.push(w.name);
  }
  for (const st of STREAMS) if (writers[st]!.length === 0) writers[st] = ["master"]; // Synapse's default
  // the single owner of each duty: the worker of that type, else the master (worker_name null)
  const owner = (type: string): string | null => c.workers.find((w) => w.type === type)?.name ?? null;

  const procs: { unit: string; name: string | null; worker?: Worker }[] = [
    { unit: MASTER, name: null },
    ...c.workers.map((w) => ({ unit: w.unit, name: w.name, worker: w })),
  ];
  for (const p of procs) {
    const l = loaded.get(p.unit)!;
    const who = p.name ?? "master";
    assert.equal(l.worker_name, p.name, `${p.unit}: worker.worker_name`);
    assert.equal(l.worker_app, p.worker ? "synapse.app.generic_worker" : null, `${p.unit}: worker.worker_app`);
    // a worker's loader moves instance_map.main to "master" (the replication system's name for it)
    assert.deepEqual(l.instance_map, { ...instanceMap, [p.worker ? "master" : "main"]: main }, `${p.unit}: worker.instance_map`);
    assert.deepEqual(l.writers, writers, `${p.unit}: worker.writers`);
    assert.equal(l.redis_enabled, true, `${p.unit}: redis.enabled`);
    if (p.worker) {
      const want = p.worker.listeners.map((x) => ({
        type: x.type, port: x.port ?? null, path: x.path ?? null, bindAddresses: x.bindAddresses ?? [], resources: [...x.resources].sort(),
      }));
      assert.deepEqual(l.listeners, want, `${p.unit}: worker.worker_listeners`);
    } else {
      const ports = l.listeners!.map((x) => `${x.port}:${x.resources.join("+")}`);
      assert.deepEqual(ports, ["8008:client+federation", "9093:replication"], `${p.unit}: server.listeners`);
    }
    const duty = (type: string): boolean => p.name === owner(type);
    if (owner("federation_sender")) assert.equal(l.send_federation, duty("federation_sender"), `${who}: worker.send_federation`);
    if (owner("pusher")) assert.deepEqual(l.pusher_instances, [owner("pusher")], `${who}: worker.pusher_shard_config.instances`);
    assert.equal(l.run_background_tasks, duty("background_worker"), `${who}: worker.run_background_tasks`);
    assert.equal(l.should_notify_appservices, duty("appservice"), `${who}: worker.should_notify_appservices`);
    assert.equal(l.should_update_user_directory, duty("user_dir"), `${who}: worker.should_update_user_directory`);
    if (owner("media_repository")) assert.equal(l.can_load_media_repo, duty("media_repository"), `${who}: media.can_load_media_repo`);
  }
  const m = loaded.get(MASTER)!;
  note(`master: instance_map ${Object.keys(m.instance_map!).length} entries, writers ${JSON.stringify(m.writers)}`);
  for (const n of [c.workers[0], c.workers.find((w) => w.listeners.length > 1)]) {
    if (!n) continue;
    const l = loaded.get(n.unit)!;
    note(`${n.name}: worker_name=${l.worker_name} listeners=${l.listeners!.map((x) => `${x.port}:${x.resources.join("+")}`).join(",")}`);
  }
}

// ------------------------------------------------------------------ one of each (lean)

/** Seconds from the first unit leaving inactive to the last one becoming active, and the slowest unit. */
async function startupTimes(units: string[]): Promise<string> {
  const out = await shOk(`systemctl show -p Id -p InactiveExitTimestampMonotonic -p ActiveEnterTimestampMonotonic ${units.join(" ")}`);
  const rows = out.trim().split(/\n\n+/).map((b) => {
    const kv = Object.fromEntries(b.split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
    return { id: kv.Id!, from: Number(kv.InactiveExitTimestampMonotonic), to: Number(kv.ActiveEnterTimestampMonotonic) };
  });
  const first = Math.min(...rows.map((r) => r.from));
  const last = Math.max(...rows.map((r) => r.to));
  const slow = rows.reduce((a, b) => (b.to - b.from > a.to - a.from ? b : a));
  return `${units.length} units from first start to last active: ${((last - first) / 1e6).toFixed(1)}s; slowest ${slow.id} ${((slow.to - slow.from) / 1e6).toFixed(1)}s`;
}

function leanSuite(c: SpecCase, ctx: { artifacts?: Artifacts }): void {
  const units = (): string[] => unitsOf(c);
  describe(`${c.title}: .deb`, { skip: GENERATED ? false : "needs the generator's shared config (LIVE_HANDWRITTEN=1 or CLI not built)" }, () => {
    before(async () => {
      await harness(["boot"]);
    });
    after(async () => {
      await harness(["stop"]);
    });

    step(`a. install the .deb (dpkg -i, ${c.workers.length} workers), no signing key yet`, units, async () => {
      await shOk(`test -x /opt/venvs/matrix-synapse/bin/python && ! test -e ${KEY}`);
      const t = Date.now();
      await installArtifacts(ctx.artifacts!, "deb");
      note(`dpkg -i took ${((Date.now() - t) / 1000).toFixed(1)}s`);
      const r = await sh(`systemctl is-active ${TARGET}`);
      assert.equal(r.stdout.trim(), "active", `${TARGET} not started by the install`);
    }, 660_000);

    step(`b. start matrix-synapse.target: master and ${c.workers.length} workers active, every listener answers`, units, async () => {
      const t = Date.now();
      await shOk(`systemctl start ${TARGET}`, 300_000);
      const s = await pollUnits(units(), (s) => [...s.values()].every((v) => v.state === "active"), 420);
      const active = [...s].filter(([, v]) => v.state === "active").length;
      note(`${active}/${s.size} active after ${((Date.now() - t) / 1000).toFixed(1)}s`);
      assert.ok(active === s.size, `not all active: ${fmt(new Map([...s].filter(([, v]) => v.state !== "active")))}`);
      note(await startupTimes(units()));
      const restarts = await shOk(`for u in ${units().join(" ")}; do echo "$u $(systemctl show -p NRestarts --value $u)"; done`);
      const restarted = restarts.trim().split("\n").filter((l) => !l.endsWith(" 0"));
      note(restarted.length ? `restarted during start: ${restarted.join(", ")}` : "no unit restarted during start (NRestarts=0)");
      const h = Date.now();
      const urls = endpointsOf(c);
      await waitHttp(urls, 180);
      note(`${urls.length} listeners answered 200 in ${((Date.now() - h) / 1000).toFixed(1)}s`);
      assert.deepEqual(restarted, [], "units restarted during the first start (crashed?)");
    }, 720_000);

    step("c. Synapse's config loader accepts the master's and every worker's config", units, async () => {
      checkLoaded(c, await loadConfigs(units()));
    }, 360_000);

    step("d. hardened, signing key generated; systemd-analyze security exposure", units, async () => {
      await shOk(`test -s ${KEY}`);
      const ps = await shOk(`systemctl show -p ProtectSystem --value ${units().join(" ")}`);
      for (const v of ps.trim().split("\n")) assert.notEqual(v, "no", `hardening off: ProtectSystem=${v}`);
      const e = await exposures(units());
      for (const [u, v] of e) note(`exposure ${u}: ${v}`);
    });
  });
}

// ------------------------------------------------------------------ upgrade (running services)

// test/lifecycle.test.ts checks the upgrade's files, links and records in a chroot; this checks
// what only a running systemd shows: which units run after an upgrade, and that they restarted.
const UPGRADE = "upgrade";
const UPGRADE_SPECS = ["test/live/upgrade-v1.yaml", "test/live/upgrade-v2.yaml"].map((f) => path.join(REPO, f));
const PKG = "matrix-synapse-workers"; // the specs keep the default package name
const HOMESERVER = "/etc/matrix-synapse/homeserver.yaml";

interface UpgradePlan {
  v1: SpecCase;
  v2: SpecCase;
  dropped: Worker; // in v1 only
  added: Worker; // in v2 only
  disabled: Worker; // in both; the admin disables it before the upgrade
  restarted: Worker[]; // in both and still enabled: the upgrade must restart them
}

function upgradePlan(): UpgradePlan {
  const [v1, v2] = UPGRADE_SPECS.map((f, i) => specCase(`${UPGRADE} v${i + 1}`, f));
  const has = (c: SpecCase, w: Worker): boolean => c.workers.some((x) => x.name === w.name);
  const dropped = v1!.workers.filter((w) => !has(v2!, w));
  const added = v2!.workers.filter((w) => !has(v1!, w));
  const kept = v1!.workers.filter((w) => has(v2!, w));
  assert.ok(v1!.workers.length === 3 && dropped.length === 1 && added.length === 1 && kept.length === 2, "upgrade specs: 3 workers, one dropped, one added");
  // the admin disables the last kept worker (client_reader1); the first (federation_reader1) stays enabled
  return { v1: v1!, v2: v2!, dropped: dropped[0]!, added: added[0]!, disabled: kept[1]!, restarted: [kept[0]!] };
}

/** Id and the given properties of each unit (one exec). */
async function unitProps(units: string[], props: string[]): Promise<Map<string, Record<string, string>>> {
  const out = await shOk(`systemctl show ${["Id", ...props].map((p) => `-p ${p}`).join(" ")} ${units.join(" ")}`);
  const m = new Map<string, Record<string, string>>();
  for (const block of out.trim().split(/\n\n+/)) {
    const kv = Object.fromEntries(block.split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
    m.set(kv.Id ?? "?", kv);
  }
  return m;
}

/** "active enabled" etc. of one unit (is-active/is-enabled print their answer even when they exit 1). */
async function activeEnabled(unit: string): Promise<string> {
  return (await shOk(`echo "$(systemctl is-active ${unit}) $(systemctl is-enabled ${unit})"`)).trim();
}

const secs = (t: number): string => `${((Date.now() - t) / 1000).toFixed(1)}s`;

function upgradeSuite(via: "deb" | "tar", plan: UpgradePlan, ctx: { v1?: Artifacts; v2?: Artifacts }): void {
  const { v1, v2, dropped, added, disabled, restarted } = plan;
  const all = [MASTER, ...new Set([...v1.workers, ...v2.workers].map((w) => w.unit))];
  const units = (): string[] => all;
  const gen = (a?: Artifacts): { deb: string; tar: string } => {
    assert.ok(a?.kind === "generated", "the upgrade case needs the generator's packages");
    return a;
  };
  const lib = `/usr/lib/${PKG}`;
  const pids: { beforeUpgrade?: Map<string, { pid: number; state: string }> } = {};

  describe(`${UPGRADE}: ${via === "deb" ? ".deb" : ".tar.gz"}`, () => {
    before(async () => {
      await harness(["boot"]);
    });
    after(async () => {
      await harness(["stop"]);
    });

    step(`a. install v1 (${v1.workers.length} workers, ${via === "deb" ? "dpkg -i" : "install --start"}): every unit active, every listener answers`, units, async () => {
      let t = Date.now();
      await installArtifacts(ctx.v1!, via);
      note(`install v1 took ${secs(t)}`);
      t = Date.now();
      const s = await pollUnits(unitsOf(v1), (s) => [...s.values()].every((v) => v.state === "active"));
      note(`${fmt(s)} (${secs(t)})`);
      for (const [u, v] of s) assert.equal(v.state, "active", u);
      await waitHttp(endpointsOf(v1));
    }, 360_000);

    step(`b. the admin runs systemctl disable --now ${disabled.unit}`, units, async () => {
      await shOk(`systemctl disable --now --quiet ${disabled.unit}`);
      assert.equal(await activeEnabled(disabled.unit), "inactive disabled");
      pids.beforeUpgrade = await unitStates(unitsOf(v1));
      note(`before the upgrade: ${fmt(pids.beforeUpgrade)}`);
    });

    const how = via === "deb" ? "dpkg -i --force-confdef --force-confold" : "its install script from an unpacked tree";
    step(`c. upgrade to v2 (${how}): ${dropped.name} dropped, ${added.name} added`, units, async () => {
      const a = gen(ctx.v2);
      await harness(["copy-in", via === "deb" ? a.deb : a.tar, via === "deb" ? "/root/v2.deb" : "/root/v2.tar.gz"]);
      const t = Date.now();
      const out =
        via === "deb"
          ? await shOk("dpkg -i --force-confdef --force-confold /root/v2.deb 2>&1", 300_000)
          : await shOk(`rm -rf /tmp/v2 && mkdir /tmp/v2 && tar -xzf /root/v2.tar.gz -C /tmp/v2 && /tmp/v2${lib}/install 2>&1`, 300_000);
      note(`upgrade took ${secs(t)}`);
      for (const l of out.trim().split("\n")) note(`| ${l}`);
      if (via === "deb") assert.match(await shOk(`dpkg-query -W -f='\${Version}' ${PKG}`), /^1\.1\.0/);
    }, 360_000);

    step(`d. the dropped ${dropped.name}: inactive, disabled, its config gone`, units, async () => {
      assert.equal(await activeEnabled(dropped.unit), "inactive disabled");
      await shOk(`! test -e ${dropped.config}`);
    });

    step(`e. the admin-disabled ${disabled.name} stays disabled and inactive`, units, async () => {
      assert.equal(await activeEnabled(disabled.unit), "inactive disabled");
    });

    step(`f. the master, then ${restarted.map((w) => w.name).join(", ")}, restarted (new MainPIDs, master first)`, units, async () => {
      const who = [MASTER, ...restarted.map((w) => w.unit)];
      const s = await pollUnits(who, (s) => [...s].every(([u, v]) => v.state === "active" && v.pid > 0 && v.pid !== pids.beforeUpgrade?.get(u)?.pid), 30);
      note(`after the upgrade: ${fmt(s)}`);
      for (const [u, v] of s) {
        assert.equal(v.state, "active", u);
        assert.notEqual(v.pid, pids.beforeUpgrade?.get(u)?.pid, `${u} kept MainPID ${v.pid}: not restarted by the upgrade`);
      }
      // each worker left `active` (its restart began) only after the restarted master was active again
      const p = await unitProps(who, ["ActiveExitTimestampMonotonic", "ActiveEnterTimestampMonotonic", "NRestarts"]);
      const m = p.get(MASTER)!;
      const up = Number(m.ActiveEnterTimestampMonotonic);
      for (const w of restarted) {
        const x = p.get(w.unit)!;
        const down = Number(x.ActiveExitTimestampMonotonic);
        note(`${w.unit}: restart began ${((down - up) / 1e6).toFixed(2)}s after the master was active again; NRestarts=${x.NRestarts}`);
        assert.ok(down >= up, `${w.unit} restarted before the master was up again (worker left active at ${down}, master active at ${up})`);
        assert.equal(x.NRestarts, "0", `${w.unit} was restarted by Restart= (crashed?), not by the upgrade`);
      }
    }, 120_000);

    // try-restart never starts a stopped unit: the upgrade must start a worker the new spec adds.
    step(`g. the new ${added.name}: enabled and active right after the upgrade`, () => [added.unit], async () => {
      const s = await pollUnits([added.unit], (s) => s.get(added.unit)!.state === "active", 5);
      note(fmt(s));
      assert.equal(await activeEnabled(added.unit), "active enabled", `${added.unit} after the upgrade`);
    }, 60_000);

    step(`h. systemctl start ${TARGET}: ${added.name} comes up, ${disabled.name} stays down`, units, async () => {
      const t = Date.now();
      await shOk(`systemctl start ${TARGET}`, 120_000);
      const s = await pollUnits([added.unit], (s) => s.get(added.unit)!.state === "active", 30);
      note(`${fmt(s)} (${secs(t)})`);
      assert.equal(await activeEnabled(added.unit), "active enabled");
      assert.equal(await activeEnabled(disabled.unit), "inactive disabled");
    }, 120_000);

    step("h. every active unit answers on its listeners", units, async () => {
      const active: SpecCase = { ...v2, workers: [] };
      const s = await unitStates(unitsOf(v2));
      for (const w of v2.workers) if (s.get(w.unit)!.state === "active") active.workers.push(w);
      note(`active workers: ${active.workers.map((w) => w.name).join(", ")}`);
      assert.deepEqual(active.workers.map((w) => w.name).sort(), v2.workers.filter((w) => w.name !== disabled.name).map((w) => w.name).sort());
      await waitHttp(endpointsOf(active));
    });

    step(`i. ${via === "deb" ? "dpkg -r" : "uninstall"}: every unit of ours inactive; homeserver.yaml and the signing key stay`, units, async () => {
      const t = Date.now();
      const out = await shOk(via === "deb" ? `dpkg -r ${PKG} 2>&1` : `${lib}/uninstall 2>&1`, 300_000);
      note(`remove took ${secs(t)}`);
      for (const l of out.trim().split("\n")) note(`| ${l}`);
      const s = await pollUnits([TARGET, ...all], (s) => [...s.values()].every((v) => v.state === "inactive"), 30);
      note(fmt(s));
      for (const [u, v] of s) assert.equal(v.state, "inactive", u);
      await shOk(`test -s ${HOMESERVER} && test -s ${KEY}`);
    }, 360_000);
  });
}

// ------------------------------------------------------------------ unix sockets (runtime directories)

// The README's promise about runtime directories, under the hardened drop-ins: the master owns
// /run/matrix-synapse (RuntimeDirectoryPreserve=yes), each worker its own /run/matrix-synapse/<name>
// (RuntimeDirectory=matrix-synapse/%i). So hardened processes can create their sockets there,
// stopping one worker removes only its own directory, and restarting the master alone leaves the
// workers' sockets in place.

/** A unix-socket listener: whose it is, the mode asked for (octal digits, e.g. "660") and its probe. */
interface Sock {
  owner: string;
  unit: string;
  path: string;
  mode: string;
  probe: string;
}

/** The master's replication socket (mode as the shared config says it) and every worker's socket. */
function socketsOf(c: SpecCase, out: string): Sock[] {
  assert.ok(c.mainSocket, `${c.title}: the spec has no master.replication.path`);
  // read as PyYAML reads it: YAML 1.1, where the generated `mode: 0660` is octal
  const shared = parseYaml(readFileSync(path.join(out, "tree/etc/matrix-synapse/conf.d/synapse-systemd.yaml"), "utf8"), { version: "1.1" }) as {
    listeners?: { path?: string; mode?: number }[];
    instance_map?: { main?: { path?: string } };
  };
  assert.equal(shared.instance_map?.main?.path, c.mainSocket, "instance_map.main is not the master's replication socket");
  const main = shared.listeners?.find((l) => l.path === c.mainSocket);
  assert.ok(main && typeof main.mode === "number", `no master listener with a mode at ${c.mainSocket}: ${JSON.stringify(shared.listeners)}`);
  const socks: Sock[] = [{ owner: "master", unit: MASTER, path: c.mainSocket, mode: main.mode.toString(8), probe: viaSocket(c.mainSocket) }];
  for (const w of c.workers)
    for (const l of w.listeners) {
      if (l.path === undefined) continue;
      assert.ok(l.mode, `${w.name}: the live spec gives every socket a mode`);
      socks.push({ owner: w.name, unit: w.unit, path: l.path, mode: parseInt(l.mode, 8).toString(8), probe: probeOf(w, l) });
    }
  return socks;
}

/** For each path, "<mode> <user>:<group> <type>" (stat), or "missing". */
async function statPaths(paths: string[]): Promise<Map<string, string>> {
  const out = await shOk(`for p in ${paths.map(q).join(" ")}; do stat -c '%n|%a %U:%G %F' "$p" 2>/dev/null || echo "$p|missing"; done`);
  return new Map(out.trim().split("\n").map((l) => [l.slice(0, l.indexOf("|")), l.slice(l.indexOf("|") + 1)]));
}

/** Each socket exists with the mode asked for, owned by the service user. */
async function assertSockets(socks: Sock[]): Promise<void> {
  const st = await statPaths(socks.map((s) => s.path));
  for (const s of socks) note(`${s.path}: ${st.get(s.path)}`);
  for (const s of socks) assert.equal(st.get(s.path), `${s.mode} matrix-synapse:matrix-synapse socket`, `${s.owner}'s socket ${s.path}`);
}

/** NRestarts of each unit (one exec). */
async function nRestarts(units: string[]): Promise<Map<string, string>> {
  const p = await unitProps(units, ["NRestarts"]);
  return new Map([...p].map(([u, v]) => [u, v.NRestarts ?? "?"]));
}

/** Journal lines of the units since a container epoch that look like trouble. */
async function troubleSince(units: string[], since: string): Promise<string[]> {
  const out = await shOk(
    `journalctl --no-pager -q -o cat --since @${since} ${units.map((u) => `-u ${u}`).join(" ")} | ` +
      `grep -E 'ERROR|CRITICAL|Traceback|Error|in use|denied|refused' || true`,
  );
  return out.trim() ? out.trim().split("\n") : [];
}

// A user for the replication round trips, registered with Synapse's own script through a shared
// secret the case adds to conf.d before the install (test-only config), with presence updates not
// rate-limited (1 per 10 s by default: the worker would answer 429 before replicating anything).
const ALICE = { user: "alice", password: "alice-live-pass-1", secret: "live-test-registration-secret" };

/**
 * Replication over the sockets, both ways: createRoom on the master must hand its events to the
 * events stream writer through instance_map[persister] (a socket), and a presence update sent to
 * the client worker's socket must reach the presence writer, the master, through instance_map.main
 * (a socket). Neither has any TCP route. Prints Synapse's replication client lines as evidence.
 */
async function replicationRoundTrip(token: string, client: Sock, persister: Worker): Promise<void> {
  const since = (await shOk("date +%s")).trim();
  const auth = q(`Authorization: Bearer ${token}`);
  const curl = `curl -s -m 30 -o /dev/null -w '%{http_code}' -H ${auth}`;
  const presence = `http://localhost/_matrix/client/v3/presence/@${ALICE.user}:live.test/status`;
  const t = Date.now();
  const out = await shOk(
    `echo "createRoom on the master: $(${curl} -X POST -d '{}' http://127.0.0.1:8008/_matrix/client/v3/createRoom)"\n` +
      `echo "presence on ${client.owner}'s socket: $(${curl} -X PUT -d ${q('{"presence":"online"}')} --unix-socket ${q(client.path)} ${q(presence)})"\n` +
      `sleep 0.3; journalctl --no-pager -q -o cat --since @${since} -u ${MASTER} -u ${client.unit} | ` +
      `sed -nE 's|.*Received response to ([A-Z]+ synapse-replication://[^/]+/_synapse/replication/[a-z_]+)[^ ]*: ([0-9]+).*|\\1 -> \\2|p' | sort | uniq -c`,
  );
  note(`replication round trip (${secs(t)}):`);
  for (const l of out.trim().split("\n")) note(`| ${l.trim()}`);
  assert.match(out, /^createRoom on the master: 200$/m, `the master could not persist through ${persister.name}'s socket`);
  assert.match(out, /^presence on .*: 200$/m, `${client.owner} could not reach the master's replication socket`);
}

function socketSuite(c: SpecCase, ctx: { artifacts?: Artifacts; out: string }): void {
  const units = (): string[] => unitsOf(c);
  const byType = (type: string): Worker => {
    const w = c.workers.find((x) => x.type === type);
    assert.ok(w, `${c.title}: the spec needs a ${type}`);
    return w;
  };
  const victim = byType("federation_reader"); // stopped and started again
  const client = byType("client_reader"); // serves the presence update of the round trip
  const persister = byType("event_persister"); // the events writer, reached by its socket
  const others = c.workers.filter((w) => w !== victim);
  const dirOf = (w: Worker): string => `/run/matrix-synapse/${w.name}`;
  let socks: Sock[] = [];
  let token = "";
  const sockOf = (owner: string): Sock[] => socks.filter((s) => s.owner === owner);
  const otherSocks = (): Sock[] => socks.filter((s) => s.owner !== victim.name);
  const otherProbes = (): string[] => endpointsOf({ ...c, workers: others });
  const nSocks = 1 + c.workers.flatMap((w) => w.listeners).filter((l) => l.path).length;

  describe(`${c.title}: .deb`, { skip: GENERATED ? false : "needs the generator's packages (LIVE_HANDWRITTEN=1 or CLI not built)" }, () => {
    before(async () => {
      socks = socketsOf(c, ctx.out);
      for (const w of [victim, client, persister]) assert.ok(sockOf(w.name).length > 0, `${w.name} needs a unix socket`);
      await harness(["boot"]);
    });
    after(async () => {
      await harness(["stop"]);
    });

    step(`a. install the .deb (dpkg -i, ${c.workers.length} workers, ${nSocks} unix sockets): every unit active, every listener answers`, units, async () => {
      await shOk(
        `printf '%s\\n' 'registration_shared_secret: ${ALICE.secret}' 'rc_presence: { per_user: { per_second: 100, burst_count: 100 } }' ` +
          `>/etc/matrix-synapse/conf.d/live-test.yaml`,
      );
      let t = Date.now();
      await installArtifacts(ctx.artifacts!, "deb");
      note(`dpkg -i took ${secs(t)}`);
      t = Date.now();
      const s = await pollUnits(units(), (s) => [...s.values()].every((v) => v.state === "active"));
      note(`${fmt(s)} (${secs(t)})`);
      for (const [u, v] of s) assert.equal(v.state, "active", u);
      t = Date.now();
      await waitHttp(endpointsOf(c));
      note(`every listener answered in ${secs(t)}`);
      const n = await nRestarts(units());
      assert.deepEqual([...n].filter(([, v]) => v !== "0"), [], "units restarted during the first start (crashed?)");
    }, 360_000);

    step("b. each socket has the mode asked for; the service user connects, nobody else does", units, async () => {
      await assertSockets(socks);
      const dirs = await statPaths(["/run/matrix-synapse", ...c.workers.map(dirOf)]);
      for (const [d, v] of dirs) note(`${d}: ${v}`);
      for (const [d, v] of dirs) assert.match(v, / matrix-synapse:matrix-synapse directory$/, d);
      // the mode is what keeps other local users out (0660/0600: only matrix-synapse may connect)
      const out = await shOk(
        socks
          .map((s) => {
            const url = s.probe.slice(s.probe.indexOf("|") + 1);
            const probe = (user: string): string => `$(runuser -u ${user} -- curl -s -m 5 -o /dev/null -w '%{http_code}' --unix-socket ${q(s.path)} ${q(url)}; echo " exit $?")`;
            return `echo "${s.path} matrix-synapse=${probe("matrix-synapse")} nobody=${probe("nobody")}"`;
          })
          .join("\n"),
      );
      for (const l of out.trim().split("\n")) note(l);
      for (const l of out.trim().split("\n")) {
        assert.match(l, / matrix-synapse=200 exit 0 /, `the service user cannot use the socket: ${l}`);
        assert.match(l, / nobody=000 exit 7$/, `another user can connect to the socket: ${l}`);
      }
    });

    step(`b. replication runs over the sockets: master -> ${persister.name}, ${client.name} -> master`, units, async () => {
      const py = "/opt/venvs/matrix-synapse/bin";
      await shOk(`${py}/register_new_matrix_user -u ${ALICE.user} -p ${q(ALICE.password)} --no-admin -k ${q(ALICE.secret)} http://127.0.0.1:8008 >/dev/null`);
      const login = JSON.stringify({ type: "m.login.password", identifier: { type: "m.id.user", user: ALICE.user }, password: ALICE.password });
      const r = JSON.parse(await shOk(`curl -s -m 30 -X POST -d ${q(login)} http://127.0.0.1:8008/_matrix/client/v3/login`)) as { access_token?: string };
      assert.ok(r.access_token, `login failed: ${JSON.stringify(r)}`);
      token = r.access_token;
      await replicationRoundTrip(token, sockOf(client.name)[0]!, persister);
    });

    step(`c. systemctl stop ${victim.unit}: its ${dirOf(victim)} is gone, every other socket stays and answers`, units, async () => {
      const before = await unitStates(units());
      const t = Date.now();
      await shOk(`systemctl stop ${victim.unit}`);
      note(`stop took ${secs(t)}`);
      const after = await unitStates(units());
      note(fmt(after));
      assert.equal(after.get(victim.unit)!.state, "inactive");
      const d = await statPaths([dirOf(victim)]);
      assert.equal(d.get(dirOf(victim)), "missing", `${dirOf(victim)} left behind after stop`);
      await assertSockets(otherSocks());
      for (const u of [MASTER, ...others.map((w) => w.unit)]) assert.equal(after.get(u)!.pid, before.get(u)!.pid, `${u} restarted with ${victim.unit}`);
      await waitHttp(otherProbes(), 15);
    });

    step(`d. systemctl restart ${MASTER} alone: the workers' sockets stay and answer, the workers keep running and replicate`, units, async () => {
      const running = [MASTER, ...others.map((w) => w.unit)];
      const before = await unitStates(running);
      const restartsBefore = await nRestarts(running);
      const since = (await shOk("date +%s")).trim();
      let t = Date.now();
      await shOk(`systemctl restart ${MASTER}`);
      note(`restart took ${secs(t)} (returns once the new master is ready: Type=notify)`);
      // right away: the workers' sockets never went away with the master's stop
      await assertSockets(otherSocks());
      const s = await unitStates(running);
      note(`before: ${fmt(before)}`);
      note(`after:  ${fmt(s)}`);
      assert.equal(s.get(MASTER)!.state, "active");
      assert.notEqual(s.get(MASTER)!.pid, before.get(MASTER)!.pid, "the master kept its MainPID");
      t = Date.now();
      await waitHttp(otherProbes(), 30);
      note(`every listener answered ${secs(t)} after the restart returned`);
      // from inside each worker's own (read-only /run) mount namespace, as the service user: the
      // master's new replication socket is where instance_map.main says
      const main = sockOf("master")[0]!;
      const url = main.probe.slice(main.probe.indexOf("|") + 1);
      const seen = await shOk(
        others
          .map((w) => {
            const pid = s.get(w.unit)!.pid;
            assert.ok(Number.isInteger(pid) && pid > 1, `${w.unit}: bad MainPID ${pid}`);
            return `echo "${w.name} sees ${main.path}: $(nsenter -t ${pid} -m -S $(id -u matrix-synapse) -G $(id -g matrix-synapse) -- curl -s -m 5 -o /dev/null -w '%{http_code}' --unix-socket ${q(main.path)} ${q(url)})"`;
          })
          .join("\n"),
      );
      for (const l of seen.trim().split("\n")) note(l);
      for (const l of seen.trim().split("\n")) assert.match(l, /: 200$/, l);
      await replicationRoundTrip(token, sockOf(client.name)[0]!, persister);
      // the workers ride it out: same MainPID, no Restart=, a few seconds later still
      await new Promise((r) => setTimeout(r, 2000));
      const later = await unitStates(running);
      const restartsAfter = await nRestarts(running);
      for (const w of others) {
        note(`${w.unit}: ${before.get(w.unit)!.pid} -> ${later.get(w.unit)!.state}/${later.get(w.unit)!.pid}, NRestarts ${restartsBefore.get(w.unit)} -> ${restartsAfter.get(w.unit)}`);
      }
      const trouble = await troubleSince(running, since);
      note(trouble.length ? `journal since the restart (${trouble.length} lines matching errors):` : "journal since the restart: no error lines");
      for (const l of trouble.slice(0, 20)) note(`| ${l}`);
      for (const w of others) {
        assert.equal(later.get(w.unit)!.state, "active", w.unit);
        assert.equal(later.get(w.unit)!.pid, before.get(w.unit)!.pid, `${w.unit} restarted with the master`);
        assert.equal(restartsAfter.get(w.unit), restartsBefore.get(w.unit), `${w.unit} restarted by Restart= (crashed?)`);
      }
    }, 120_000);

    step(`e. systemctl start ${victim.unit} again: its directory and socket come back and answer`, units, async () => {
      let t = Date.now();
      await shOk(`systemctl start ${victim.unit}`);
      note(`start took ${secs(t)}`);
      const s = await unitStates(units());
      note(fmt(s));
      for (const [u, v] of s) assert.equal(v.state, "active", u);
      const d = await statPaths([dirOf(victim)]);
      note(`${dirOf(victim)}: ${d.get(dirOf(victim))}`);
      assert.match(d.get(dirOf(victim))!, / matrix-synapse:matrix-synapse directory$/);
      t = Date.now();
      await waitHttp(endpointsOf(c), 30);
      note(`every listener answered in ${secs(t)}`);
      await assertSockets(socks);
    }, 120_000);

    // A crash leaves the socket (and Twisted's <socket>.lock -> PID link) in the preserved
    // /run/matrix-synapse: the master that Restart= starts must still bind the same path.
    step(`f. kill -9 of the master: Restart= brings it back on the same socket despite the stale one`, units, async () => {
      const main = sockOf("master")[0]!;
      const before = await unitStates(units());
      const restartsBefore = await nRestarts(units());
      const pid = before.get(MASTER)!.pid;
      assert.ok(Number.isInteger(pid) && pid > 1, `bad MainPID ${pid}`); // never kill 0/1
      const since = (await shOk("date +%s")).trim();
      const t = Date.now();
      const stale = await shOk(`kill -9 ${pid}; sleep 0.2; ls -l ${q(main.path)} ${q(`${main.path}.lock`)} 2>&1 || true`);
      for (const l of stale.trim().split("\n")) note(`after kill: ${l}`);
      const s = await pollUnits(units(), (s) => s.get(MASTER)!.state === "active" && s.get(MASTER)!.pid > 0 && s.get(MASTER)!.pid !== pid, 60);
      note(`${fmt(s)} (${secs(t)} after the kill; RestartSec=3)`);
      assert.equal(s.get(MASTER)!.state, "active");
      assert.notEqual(s.get(MASTER)!.pid, pid, "the master was not restarted");
      const lock = await shOk(`ls -l ${q(`${main.path}.lock`)} 2>&1 || true`);
      note(`now: ${lock.trim()}`);
      await waitHttp(endpointsOf(c), 30);
      await assertSockets(socks);
      const trouble = await troubleSince([MASTER], since);
      for (const l of trouble.slice(0, 20)) note(`| ${l}`);
      assert.ok(!trouble.some((l) => /in use|Cannot acquire lock/.test(l)), "the new master tripped over the stale socket");
      await replicationRoundTrip(token, sockOf(client.name)[0]!, persister);
      const restartsAfter = await nRestarts(units());
      for (const w of c.workers) {
        assert.equal(s.get(w.unit)!.pid, before.get(w.unit)!.pid, `${w.unit} restarted with the master`);
        assert.equal(restartsAfter.get(w.unit), restartsBefore.get(w.unit), `${w.unit} restarted by Restart=`);
      }
    }, 120_000);
  });
}

const prereq = await missingPrerequisite();
if (prereq !== undefined) {
  if (process.env.CI === "true") {
    test("live prerequisites", () => assert.fail(`live suite cannot run: ${prereq}`));
  } else {
    process.stderr.write(`\n*** LIVE SUITE SKIPPED: ${prereq} ***\n\n`);
    test("live suite", { skip: prereq }, () => {});
  }
} else {
  // Every case title in running order, which pairs them (two at a time, the next starting when
  // one ends): the heavy "one of each" (22 Synapse processes starting at once) beside the light
  // "embedded example", then "four workers" and "upgrade"; the shortest, "unix sockets", last, as
  // the last case runs mostly alone (measured: 105 s, against 116 s with "unix sockets" first).
  // Each case gets its own harness instance, its position here (1..5).
  const ORDER = ["one of each", "embedded example", "four workers", "upgrade", "unix sockets"];
  const defs = new Map<string, () => void>();
  for (const c of CASES) {
    const ctx: { artifacts?: Artifacts; out: string; states: Record<string, string[]> } = {
      out: mkdtempSync(path.join(tmpdir(), "live-out-")),
      states: {},
    };
    defs.set(c.title, () =>
      describe(c.title, { concurrency: 1 }, () => {
        before(async () => {
          mkdirSync(ctx.out, { recursive: true });
          ctx.artifacts = await buildArtifacts(c, ctx.out);
        });
        after(() => rmSync(ctx.out, { recursive: true, force: true }));
        if (c.suite === "lean") leanSuite(c, ctx);
        else if (c.suite === "sockets") socketSuite(c, ctx);
        else specSuite(c, ctx);
      }),
    );
  }
  if (!ONLY || ONLY.includes(UPGRADE)) {
    const ctx: { v1?: Artifacts; v2?: Artifacts } = {};
    const outs = [0, 1].map(() => mkdtempSync(path.join(tmpdir(), "live-upgrade-")));
    defs.set(UPGRADE, () =>
      describe(UPGRADE, { concurrency: 1, skip: GENERATED ? false : "needs the generator's packages (LIVE_HANDWRITTEN=1 or CLI not built)" }, () => {
        const plan = GENERATED ? upgradePlan() : undefined;
        before(async () => {
          [ctx.v1, ctx.v2] = await Promise.all([buildArtifacts(plan!.v1, outs[0]!), buildArtifacts(plan!.v2, outs[1]!)]);
        });
        after(() => outs.forEach((d) => rmSync(d, { recursive: true, force: true })));
        if (plan) {
          upgradeSuite("deb", plan, ctx);
          upgradeSuite("tar", plan, ctx);
        }
      }),
    );
  }
  for (const t of defs.keys()) assert.ok(ORDER.includes(t), `case ${t} has no place in ORDER`);
  const instances = ORDER.map((_, i) => String(i + 1));
  const concurrency = Number(process.env.LIVE_CONCURRENCY ?? 2);
  assert.ok(Number.isInteger(concurrency) && concurrency >= 1, `LIVE_CONCURRENCY must be a positive integer: ${process.env.LIVE_CONCURRENCY}`);

  describe("live", { concurrency }, () => {
    before(async () => {
      // containers left over from an interrupted run: the pre-instance default one and every case's
      for (const i of ["", ...instances]) await harness(["stop"], 120_000, i);
      await harness(["root"], 900_000, "");
    });

    // each case, with all its hooks and steps, runs in its own container instance
    ORDER.forEach((title, i) => {
      const define = defs.get(title);
      if (define) BOX.run({ instance: instances[i]!, label: title }, define);
    });
  });
}
