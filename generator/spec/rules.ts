// Cross-field rules: what one field cannot say about itself. They read the data
// defensively (it may be the raw, not-yet-valid spec) and only report.
import { WORKER_TYPES, allowedResources, workerType, type WorkerTypeName } from "../catalogue.js";
import type { ResolvedWorker } from "./allocate.js";
import type { Spec } from "./schema.js";
import { RUNTIME_DIRECTORY } from "../model.js";
import { locate, everyKey, type SpecSource, type SpecPath } from "./source.js";
import { formatPath } from "../diagnostics.js";

export interface Finding {
  readonly path: SpecPath;
  /** Set when the finding is about a key rather than its value. */
  readonly key?: string;
  readonly message: string;
  readonly hint?: string | undefined;
}

// The seed (docs/systemd-with-workers/README.md) on daemonize, quoted in the message.
const DAEMONIZE_REASON =
  'Synapse\'s "Setting up Synapse with Workers and Systemd" says daemonize and worker_daemonize "must be omitted or set to false" under systemd';

/** Keys that must not appear anywhere in a spec, whatever the schema says. */
export function forbiddenKeys(source: SpecSource): Finding[] {
  return everyKey(source)
    .filter((k) => (k.key === "daemonize" || k.key === "worker_daemonize") && k.value !== false)
    .map((k) => ({
      path: k.path,
      key: k.key,
      message: `${k.key} must not be set: ${DAEMONIZE_REASON}`,
      hint: "systemd starts Synapse with Type=notify and tracks the process it started; a daemonized Synapse forks away and its readiness message is rejected. Remove the key.",
    }));
}

// Keys synapse-systemd writes itself into worker configs.
const RESERVED_WORKER_KEYS = new Set(["worker_app", "worker_name", "worker_listeners", "worker_log_config", "worker_pid_file"]);

type Loose = Record<string, unknown>;
const obj = (v: unknown): Loose | undefined => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Loose) : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);

interface Endpoint {
  readonly what: string; // "port 8083" or "socket /run/x.sock"
  readonly path: SpecPath;
}

export function crossFieldRules(data: unknown, source: SpecSource): Finding[] {
  const spec = obj(data) ?? {};
  const out: Finding[] = [];
  const where = (p: SpecPath) => `line ${locate(source, p).line}`;

  // Every listener of every process, to catch two on one port or socket.
  const endpoints: Endpoint[] = [];
  const master = obj(spec.master);
  // Hardened (ProtectSystem=strict), a process can create sockets only in its own
  // runtime directory: the master's /run/matrix-synapse, a worker's /run/matrix-synapse/<name>.
  const hardened = spec.hardening !== false;
  const checkSocketHome = (sock: string, path: SpecPath, owner: string | undefined) => {
    const home = owner === undefined ? `/run/${RUNTIME_DIRECTORY}/` : `/run/${RUNTIME_DIRECTORY}/${owner}/`;
    if (hardened && !(sock.startsWith(home) && !sock.slice(home.length).includes("/")))
      out.push({
        path,
        message: `must be directly in ${home}: with hardening on, that runtime directory is the only place ${owner ?? "the master"} can create a socket`,
        hint: `e.g. ${home}${owner === undefined ? "replication" : "http"}.sock (systemd creates the directory; Synapse does not)`,
      });
  };
  arr(master?.listeners).forEach((l, i) => checkListener(l, ["master", "listeners", i], undefined, undefined));
  const repl = obj(master?.replication);
  if (repl) {
    const hasPort = repl.port !== undefined;
    const hasPath = repl.path !== undefined;
    if (hasPort === hasPath)
      out.push({
        path: ["master", "replication"],
        message: hasPort ? "give either port or path, not both" : "needs a port (TCP) or a path (unix socket)",
        hint: "workers reach the master through instance_map.main, which points at this listener",
      });
    if (num(repl.port) !== undefined) endpoints.push({ what: `port ${String(repl.port)}`, path: ["master", "replication", "port"] });
    if (str(repl.path)) {
      endpoints.push({ what: `socket ${String(repl.path)}`, path: ["master", "replication", "path"] });
      checkSocketHome(String(repl.path), ["master", "replication", "path"], undefined);
    }
  }

  const seenNames = new Map<string, SpecPath>();
  arr(spec.workers).forEach((w, i) => {
    const worker = obj(w);
    if (!worker) return;
    const name = str(worker.name);
    if (name !== undefined) {
      const first = seenNames.get(name);
      if (first)
        out.push({
          path: ["workers", i, "name"],
          message: `duplicate worker name ${JSON.stringify(name)}`,
          hint: `already used by ${formatPath(first.slice(0, 2))} (${where(first)}); each worker is one systemd instance and one file`,
        });
      else seenNames.set(name, ["workers", i, "name"]);
    }
    const types = typesOf(worker.type);
    arr(worker.listeners).forEach((l, j) => checkListener(l, ["workers", i, "listeners", j], types, name));
    const extra = obj(worker.config);
    for (const key of Object.keys(extra ?? {})) {
      if (RESERVED_WORKER_KEYS.has(key))
        out.push({
          path: ["workers", i, "config"],
          key,
          message: `${key} is written by synapse-systemd and cannot be set here`,
          hint: key === "worker_log_config" ? "use the worker's log_config key" : "set the worker's name, type and listeners instead",
        });
    }
  });

  const redisPath = str(obj(spec.redis)?.path);
  if (hardened && redisPath !== undefined && /^\/(var\/)?tmp\//.test(redisPath))
    out.push({
      path: ["redis", "path"],
      message: "is in a temporary directory, which PrivateTmp=true (hardening) hides from Synapse",
      hint: "point Redis's unixsocket at /run/redis/redis-server.sock, as Debian's redis-server package can",
    });

  const synapse = obj(spec.synapse);
  if (synapse) {
    const paths = arr(synapse.config_paths).map(str);
    const dirs = paths.filter((p): p is string => p !== undefined && p.endsWith("/"));
    const shared = str(synapse.shared_config);
    if (shared !== undefined && !dirs.some((d) => shared.startsWith(d) && !shared.slice(d.length).includes("/")))
      out.push({
        path: ["synapse", "shared_config"],
        message: "is not inside any directory of synapse.config_paths, so neither the master nor the workers would read it",
        hint: `put it in one of: ${dirs.join(", ") || "(no directory is listed; add one ending in /)"}`,
      });
    if (shared !== undefined && !shared.endsWith(".yaml"))
      out.push({
        path: ["synapse", "shared_config"],
        message: "must end in .yaml: Synapse reads only *.yaml files from a config directory",
      });
    const wdir = str(synapse.workers_dir);
    if (wdir !== undefined && dirs.some((d) => d.replace(/\/+$/, "") === wdir.replace(/\/+$/, "")))
      out.push({
        path: ["synapse", "workers_dir"],
        message: "is also a config_paths directory: the master would load every worker's config and refuse to start",
        hint: "keep worker configs in their own directory, e.g. /etc/matrix-synapse/workers",
      });
  }

  // Report a second use of one port or socket at the later place, naming the first.
  const firstUse = new Map<string, Endpoint>();
  for (const e of endpoints) {
    const prev = firstUse.get(e.what);
    if (prev)
      out.push({
        path: e.path,
        message: `${e.what} is already used by ${formatPath(prev.path)} (${where(prev.path)})`,
        hint: "every listener of the master and the workers needs its own port or socket",
      });
    else firstUse.set(e.what, e);
  }
  return out;

  function checkListener(l: unknown, path: SpecPath, types: WorkerTypeName[] | undefined, owner: string | undefined): void {
    const listener = obj(l);
    if (!listener) return;
    const port = num(listener.port);
    const sock = str(listener.path);
    const lt = str(listener.type) ?? "http";
    if ((listener.port === undefined) === (listener.path === undefined))
      out.push({
        path,
        message: listener.port === undefined ? "needs a port (TCP) or a path (unix socket)" : "give either port or path, not both",
        hint: "Synapse: \"Can not have both a UNIX socket and an IP/port declared for the same resource!\"",
      });
    if (sock !== undefined) checkSocketHome(sock, [...path, "path"], owner);
    if (sock !== undefined && lt !== "http")
      out.push({ path: [...path, "path"], message: `a ${lt} listener cannot use a unix socket (Synapse refuses it at start)` });
    if (listener.mode !== undefined && sock === undefined)
      out.push({ path: [...path, "mode"], message: "mode applies only to unix socket listeners (path)" });
    if (lt === "metrics" && listener.resources !== undefined)
      out.push({ path: [...path, "resources"], message: "a metrics listener serves metrics only; resources apply to http listeners" });
    const kinds = types?.join("+");
    const allowed: string[] = types ? [...allowedResources(types)] : [];
    if (lt === "http" && arr(listener.resources).length === 0 && types !== undefined)
      out.push({ path, message: "an http listener needs resources", hint: `a ${kinds} worker serves: ${allowed.join(", ")}` });
    if (types !== undefined) {
      arr(listener.resources).forEach((r, k) => {
        if (typeof r === "string" && !allowed.includes(r))
          out.push({
            path: [...path, "resources", k],
            message: `a ${kinds} worker does not serve the ${JSON.stringify(r)} resource`,
            hint: `it serves: ${allowed.join(", ")}`,
          });
      });
    }
    if (arr(listener.resources).includes("replication")) {
      const binds = arr(listener.bind_addresses).map(str);
      if (sock === undefined && (binds.length === 0 || binds.some((b) => b === undefined || !isPrivateAddress(b))))
        out.push({
          path: binds.length ? [...path, "bind_addresses"] : path,
          message: "a replication listener must bind only loopback or private addresses",
          hint: 'Synapse\'s docs: replication is unauthenticated and unencrypted by default; "under no circumstances" expose it. Set bind_addresses: ["127.0.0.1"]',
        });
    }
    if (port !== undefined) endpoints.push({ what: `port ${port}`, path: [...path, "port"] });
    if (sock !== undefined) endpoints.push({ what: `socket ${sock}`, path: [...path, "path"] });
  }
}

/** Loopback or private-range addresses (RFC 1918, RFC 4193), where replication may listen. */
export function isPrivateAddress(a: string): boolean {
  if (a === "::1" || /^127\./.test(a) || /^10\./.test(a) || /^192\.168\./.test(a)) return true;
  const m = /^172\.(\d+)\./.exec(a);
  if (m && Number(m[1]) >= 16 && Number(m[1]) <= 31) return true;
  return /^f[cd][0-9a-f]{2}:/i.test(a);
}

function typesOf(v: unknown): WorkerTypeName[] | undefined {
  const list = typeof v === "string" ? v.split("+") : Array.isArray(v) ? v : [];
  const known = list.filter((t): t is WorkerTypeName => typeof t === "string" && t in WORKER_TYPES);
  return known.length > 0 && known.length === list.length ? known : undefined;
}

// Synapse's own words where it has them (synapse/config/workers.py).
const ONE_WRITER: Partial<Record<WorkerTypeName, string>> = {
  typing: "Must only specify one instance to handle `typing` messages.",
  to_device: "Must only specify one instance to handle `to_device` messages.",
  account_data: "Must only specify one instance to handle `account_data` messages.",
  presence: "Must only specify one instance to handle `presence` messages.",
  push_rules: "Must only specify one instance to handle `push` messages.",
};

/** Rules over the whole set of workers, explicit and allocated. */
export function workerRules(spec: Spec, workers: readonly ResolvedWorker[], source: SpecSource): Finding[] {
  const out: Finding[] = [];
  const where = (p: SpecPath) => `line ${locate(source, p).line}`;
  const firstOfType = new Map<WorkerTypeName, ResolvedWorker>();
  for (const w of workers) {
    const seen = new Set<WorkerTypeName>();
    for (const t of w.type) {
      if (seen.has(t)) out.push({ path: [...w.origin, "type"], message: `lists the type ${t} twice` });
      seen.add(t);
      const first = firstOfType.get(t);
      const info = workerType(t);
      if (first && !info.shardable) {
        const why = ONE_WRITER[t] ? `Synapse: "${ONE_WRITER[t]}"` : info.singleDuty ? `${info.singleDuty} names one worker` : "it cannot be sharded";
        out.push({
          path: w.allocated ? w.origin : [...w.origin, "type"],
          message: `only one worker may be a ${t} (${why}); ${w.name} is a second one after ${first.name}`,
          hint: w.allocated ? `ask for at most 1 ${t}` : `${first.name} is defined at ${where(first.origin)}`,
        });
      } else if (!first) firstOfType.set(t, w);
    }
    const needsReplication = w.type.some((t) => workerType(t).stream) || (spec.outbound_federation_restricted_to ?? []).includes(w.name);
    if (needsReplication && !w.listeners.some((l) => (l.resources ?? []).includes("replication"))) {
      const role = w.type.map((t) => workerType(t).stream).filter(Boolean).map((s) => `writes the ${s} stream`).join(", ") || "sends outbound federation";
      out.push({
        path: w.origin,
        message: `${w.name} ${role}, so it needs a listener with the replication resource for its instance_map entry`,
        hint: `Synapse refuses it otherwise: "Instance '${w.name}' is configured to write ... but does not appear in \`instance_map\` config." Add { port: N, bind_addresses: ["127.0.0.1"], resources: [replication] }`,
      });
    }
  }
  const restricted = spec.outbound_federation_restricted_to;
  if (restricted) {
    const names = new Set(workers.map((w) => w.name));
    restricted.forEach((n, i) => {
      if (!names.has(n)) out.push({ path: ["outbound_federation_restricted_to", i], message: `names no worker: ${JSON.stringify(n)}` });
    });
    if (spec.master.replication_secret_path === undefined)
      out.push({
        path: ["outbound_federation_restricted_to"],
        message: "needs master.replication_secret_path",
        hint: 'Synapse: "`worker_replication_secret` must be configured when using `outbound_federation_restricted_to`."',
      });
  }
  return out;
}
