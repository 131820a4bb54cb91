// The worker catalogue, allocation, the derived shared config, Synapse's rules
// checked at build time, and the nginx routing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { validateSpecText } from "../generator/spec/validate.js";
import { WORKER_TYPE_NAMES } from "../generator/catalogue.js";
import { ROUTES } from "../generator/routes.js";
import { mustBuild, needTools, run } from "./support.js";

const ONE_OF_EACH = "allocate: { preset: one-of-each }\n";
const file = (b: ReturnType<typeof mustBuild>, suffix: string) => {
  const f = b.rendered.tree.find((x) => x.path.endsWith(suffix));
  assert.ok(f, `no ${suffix}`);
  return f.content.toString("utf8");
};

test("one-of-each: every catalogue type once, names and ports allocated in catalogue order", () => {
  const b = mustBuild(ONE_OF_EACH);
  const ws = b.deployment.workers;
  assert.deepEqual(ws.map((w) => w.name), WORKER_TYPE_NAMES.map((t) => `${t}1`));
  assert.deepEqual(ws.map((w) => w.type), [...WORKER_TYPE_NAMES]);
  const ports = ws.flatMap((w) => w.listeners.map((l) => l.port));
  assert.equal(ports[0], 18101);
  assert.deepEqual(ports, [...ports].sort((a, b) => a! - b!), "ascending");
  assert.equal(new Set(ports).size, ports.length, "unique");
  // The same spec gives the same layout.
  assert.deepEqual(mustBuild(ONE_OF_EACH).deployment.workers, ws);
});

test("one-of-each: the shared config carries every derived key", () => {
  const shared = parse(file(mustBuild(ONE_OF_EACH), "conf.d/synapse-systemd.yaml"));
  assert.deepEqual(Object.keys(shared.instance_map), [
    "main", "event_persister1", "typing1", "to_device1", "account_data1", "receipts1", "presence1", "push_rules1",
    "device_lists1", "thread_subscriptions1", "quarantined_media_changes1",
  ]);
  assert.deepEqual(shared.instance_map.main, { host: "127.0.0.1", port: 9093 });
  assert.deepEqual(shared.stream_writers, {
    events: ["event_persister1"], typing: ["typing1"], to_device: ["to_device1"], account_data: ["account_data1"],
    receipts: ["receipts1"], presence: ["presence1"], push_rules: ["push_rules1"], device_lists: ["device_lists1"],
    thread_subscriptions: ["thread_subscriptions1"], quarantined_media_changes: ["quarantined_media_changes1"],
  });
  assert.deepEqual(shared.federation_sender_instances, ["federation_sender1"]);
  assert.deepEqual(shared.pusher_instances, ["pusher1"]);
  assert.equal(shared.notify_appservices_from_worker, "appservice1");
  assert.equal(shared.update_user_directory_from_worker, "user_dir1");
  assert.equal(shared.run_background_tasks_on, "background_worker1");
  assert.notEqual(shared.run_background_tasks_on, "main");
  assert.equal(shared.enable_media_repo, false);
  assert.equal(shared.media_instance_running_background_jobs, "media_repository1");
  assert.equal(shared.redis.enabled, true);
  // Every instance_map entry points at that worker's own replication listener.
  const b = mustBuild(ONE_OF_EACH);
  for (const [name, loc] of Object.entries(shared.instance_map) as [string, { port: number }][]) {
    if (name === "main") continue;
    const w = b.deployment.workers.find((x) => x.name === name)!;
    assert.ok(w.listeners.some((l) => l.port === loc.port && l.resources.includes("replication")), name);
  }
  const media = parse(file(b, "workers/media_repository1.yaml"));
  assert.equal(media.enable_media_repo, true);
  assert.equal(media.worker_app, "synapse.app.generic_worker");
});

test("counts override the preset; types can be combined with + or a list", () => {
  const b = mustBuild("allocate:\n  preset: federation-helpers\n  counts: { synchrotron: 3, federation_reader: 0 }\nworkers:\n  - { name: sync-and-read, type: synchrotron+client_reader, listeners: [{ port: 8090, resources: [client] }] }\n  - { name: both, type: [event_persister, typing], listeners: [{ port: 8091, bind_addresses: [127.0.0.1], resources: [replication, client] }] }\n");
  assert.deepEqual(b.deployment.workers.map((w) => `${w.name}=${w.type}`), [
    "sync-and-read=synchrotron+client_reader", "both=event_persister+typing",
    "federation_inbound1=federation_inbound", "federation_sender1=federation_sender",
    "synchrotron1=synchrotron", "synchrotron2=synchrotron", "synchrotron3=synchrotron",
  ]);
  const shared = parse(file(b, "conf.d/synapse-systemd.yaml"));
  assert.deepEqual(shared.stream_writers, { events: ["both"], typing: ["both"] });
  assert.deepEqual(shared.instance_map.both, { host: "127.0.0.1", port: 8091 });
  // Allocation skipped the ports the spec already uses.
  assert.ok(!b.deployment.workers.slice(2).some((w) => w.listeners.some((l) => l.port === 8090 || l.port === 8091)));
});

test("unix-socket listeners: octal mode written unquoted, instance_map by path", () => {
  const b = mustBuild('workers:\n  - { name: ev, type: event_persister, listeners: [{ path: /run/matrix-synapse/ev/replication.sock, mode: "0600", resources: [replication] }] }\n');
  const w = file(b, "workers/ev.yaml");
  assert.match(w, /^ {4}mode: 0600$/m);
  assert.equal(parse(w, { version: "1.1" }).worker_listeners[0].mode, 0o600, "PyYAML-style YAML 1.1 reads it as octal");
  assert.deepEqual(parse(file(b, "conf.d/synapse-systemd.yaml")).instance_map.ev, { path: "/run/matrix-synapse/ev/replication.sock" });
});

test("a metrics listener turns on enable_metrics", () => {
  const off = parse(file(mustBuild("workers: []\n"), "conf.d/synapse-systemd.yaml"));
  assert.equal(off.enable_metrics, undefined);
  const on = parse(file(mustBuild("workers:\n  - { name: a, type: client_reader, listeners: [{ type: metrics, port: 9101, bind_addresses: [127.0.0.1] }] }\n"), "conf.d/synapse-systemd.yaml"));
  assert.equal(on.enable_metrics, true);
});

test("a replication secret is referenced by path, never copied", () => {
  const b = mustBuild("master:\n  replication_secret_path: /etc/matrix-synapse/replication.secret\noutbound_federation_restricted_to: [federation_sender1]\nallocate: { counts: { federation_sender: 1 } }\n");
  const shared = parse(file(b, "conf.d/synapse-systemd.yaml"));
  assert.equal(shared.worker_replication_secret_path, "/etc/matrix-synapse/replication.secret");
  assert.equal(shared.worker_replication_secret, undefined);
  assert.deepEqual(shared.outbound_federation_restricted_to, ["federation_sender1"]);
  assert.ok(shared.instance_map.federation_sender1);
});

interface Rule {
  name: string;
  spec: string;
  line: number;
  col: number;
  path: string;
  message: RegExp;
}
const RULES: Rule[] = [
  {
    name: "one writer for typing",
    spec: "workers:\n  - { name: t1, type: typing, listeners: [{ port: 8090, bind_addresses: [127.0.0.1], resources: [replication] }] }\n  - { name: t2, type: typing, listeners: [{ port: 8091, bind_addresses: [127.0.0.1], resources: [replication] }] }\n",
    line: 3, col: 23, path: "workers[1].type",
    message: /^only one worker may be a typing \(Synapse: "Must only specify one instance to handle `typing` messages\."\); t2 is a second one after t1$/,
  },
  {
    name: "one writer for push_rules, asked by count",
    spec: "allocate:\n  counts: { push_rules: 2 }\n",
    line: 2, col: 25, path: "allocate.counts.push_rules",
    message: /^only one worker may be a push_rules \(Synapse: "Must only specify one instance to handle `push` messages\."\)/,
  },
  {
    name: "single-instance types are not sharded",
    spec: "allocate: { counts: { background_worker: 2 } }\n",
    line: 1, col: 42, path: "allocate.counts.background_worker",
    message: /^only one worker may be a background_worker \(run_background_tasks_on names one worker\)/,
  },
  {
    name: "every writer reachable through instance_map",
    spec: "workers:\n  - { name: ev, type: event_persister, listeners: [] }\n",
    line: 2, col: 5, path: "workers[0]",
    message: /^ev writes the events stream, so it needs a listener with the replication resource/,
  },
  {
    name: "listener resources fit the type",
    spec: "workers:\n  - { name: p, type: pusher, listeners: [{ port: 8090, resources: [client] }] }\n",
    line: 2, col: 68, path: "workers[0].listeners[0].resources[0]",
    message: /^a pusher worker does not serve the "client" resource$/,
  },
  {
    name: "replication never on a public address",
    spec: "workers:\n  - { name: ev, type: event_persister, listeners: [{ port: 8090, bind_addresses: [0.0.0.0], resources: [replication] }] }\n",
    line: 2, col: 82, path: "workers[0].listeners[0].bind_addresses",
    message: /^a replication listener must bind only loopback or private addresses$/,
  },
  {
    name: "replication without bind_addresses binds everywhere",
    spec: "workers:\n  - { name: ev, type: event_persister, listeners: [{ port: 8090, resources: [replication] }] }\n",
    line: 2, col: 52, path: "workers[0].listeners[0]",
    message: /^a replication listener must bind only loopback or private addresses$/,
  },
  {
    name: "ports unique across master, workers and metrics listeners",
    spec: "master:\n  listeners:\n    - { port: 8008, resources: [client] }\n    - { type: metrics, port: 9000 }\nworkers:\n  - { name: a, type: client_reader, listeners: [{ type: metrics, port: 9000 }] }\n",
    line: 6, col: 72, path: "workers[0].listeners[0].port",
    message: /^port 9000 is already used by master\.listeners\[1\]\.port \(line 4\)$/,
  },
  {
    name: "restricted outbound federation needs the replication secret",
    spec: "allocate: { counts: { federation_sender: 1 } }\noutbound_federation_restricted_to: [federation_sender1]\n",
    line: 2, col: 36, path: "outbound_federation_restricted_to",
    message: /^needs master\.replication_secret_path$/,
  },
  {
    name: "restricted outbound federation names a worker",
    spec: "master: { replication_secret_path: /etc/s }\noutbound_federation_restricted_to: [nobody]\n",
    line: 2, col: 37, path: "outbound_federation_restricted_to[0]",
    message: /^names no worker: "nobody"$/,
  },
  {
    name: "unknown type in a + list",
    spec: "workers:\n  - { name: a, type: synchrotron+sinkhole }\n",
    line: 2, col: 22, path: "workers[0].type[1]",
    message: /^"sinkhole" is not one of: federation_reader/,
  },
];

for (const r of RULES) {
  test(`rule: ${r.name}`, () => {
    const v = validateSpecText("spec.yaml", r.spec);
    assert.equal(v.ok, false);
    if (v.ok) return;
    const got = v.diagnostics.map((d) => ({ line: d.line, col: d.col, path: d.path, message: d.message }));
    assert.equal(got.length, 1, JSON.stringify(got, null, 2));
    assert.deepEqual({ line: got[0]!.line, col: got[0]!.col, path: got[0]!.path }, { line: r.line, col: r.col, path: r.path }, JSON.stringify(got[0]));
    assert.match(got[0]!.message, r.message);
  });
}

test("the route table covers every type that serves endpoints, and each pattern is a valid regex", () => {
  const routed = new Set(ROUTES.map((r) => r.type));
  for (const t of ["synchrotron", "client_reader", "event_creator", "federation_reader", "federation_inbound", "media_repository", "typing", "to_device", "account_data", "receipts", "presence", "push_rules", "device_lists", "user_dir", "quarantined_media_changes"])
    assert.ok(routed.has(t as never), t);
  for (const r of ROUTES) for (const p of r.patterns) assert.doesNotThrow(() => new RegExp(p), p);
});

test("nginx -t accepts the generated routing inside a minimal server block", (t) => {
  if (!needTools(t, "nginx")) return;
  for (const spec of [ONE_OF_EACH, "workers:\n  - { name: fr, type: federation_reader, listeners: [{ path: /run/matrix-synapse/fr/http.sock, resources: [federation] }] }\n"]) {
    const b = mustBuild(spec);
    const dir = mkdtempSync(join(tmpdir(), "nginx-"));
    writeFileSync(join(dir, "upstreams.nginx"), file(b, "nginx/upstreams.nginx"));
    writeFileSync(join(dir, "locations.nginx"), file(b, "nginx/locations.nginx"));
    writeFileSync(
      join(dir, "nginx.conf"),
      `error_log ${dir}/error.log;\npid ${dir}/nginx.pid;\nevents {}\nhttp {\n    include upstreams.nginx;\n    server {\n        listen 127.0.0.1:18999;\n        include locations.nginx;\n    }\n}\n`,
    );
    run("nginx", ["-t", "-q", "-c", join(dir, "nginx.conf"), "-p", dir]);
  }
  const up = file(mustBuild(ONE_OF_EACH), "nginx/upstreams.nginx");
  assert.match(up, /upstream synapse_synchrotron \{\n {4}hash \$synapse_mxid_localpart consistent;\n {4}server "127\.0\.0\.1:18105";\n\}/);
  assert.match(up, /upstream synapse_federation_inbound \{\n {4}hash \$synapse_federation_origin consistent;/);
  assert.match(up, /upstream synapse_master \{\n {4}server "127\.0\.0\.1:8008";/);
});
