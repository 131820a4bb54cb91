// Cross-field rules: what one field cannot say about itself. They read the data
// defensively (it may be the raw, not-yet-valid spec) and only report.
import { WORKER_TYPES, type WorkerTypeName } from "../catalogue.js";
import { locate, everyKey, type SpecSource, type SpecPath } from "./source.js";

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
  arr(master?.listeners).forEach((l, i) => checkListener(l, ["master", "listeners", i], undefined));
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
    if (str(repl.path)) endpoints.push({ what: `socket ${String(repl.path)}`, path: ["master", "replication", "path"] });
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
          hint: `already used by ${pathText(first.slice(0, 2))} (${where(first)}); each worker is one systemd instance and one file`,
        });
      else seenNames.set(name, ["workers", i, "name"]);
    }
    const type = str(worker.type) as WorkerTypeName | undefined;
    arr(worker.listeners).forEach((l, j) => checkListener(l, ["workers", i, "listeners", j], type));
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
        message: `${e.what} is already used by ${pathText(prev.path)} (${where(prev.path)})`,
        hint: "every listener of the master and the workers needs its own port or socket",
      });
    else firstUse.set(e.what, e);
  }
  return out;

  function checkListener(l: unknown, path: SpecPath, type: WorkerTypeName | undefined): void {
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
    if (sock !== undefined && lt !== "http")
      out.push({ path: [...path, "path"], message: `a ${lt} listener cannot use a unix socket (Synapse refuses it at start)` });
    if (listener.mode !== undefined && sock === undefined)
      out.push({ path: [...path, "mode"], message: "mode applies only to unix socket listeners (path)" });
    if (lt === "metrics" && listener.resources !== undefined)
      out.push({ path: [...path, "resources"], message: "a metrics listener serves metrics only; resources apply to http listeners" });
    if (lt === "http" && arr(listener.resources).length === 0 && type !== undefined)
      out.push({ path, message: "an http listener needs resources", hint: `a ${type} worker serves: ${WORKER_TYPES[type]?.resources.join(", ") ?? "?"}` });
    if (type !== undefined && WORKER_TYPES[type]) {
      const allowed: readonly string[] = WORKER_TYPES[type].resources;
      arr(listener.resources).forEach((r, k) => {
        if (typeof r === "string" && !allowed.includes(r))
          out.push({
            path: [...path, "resources", k],
            message: `a ${type} worker does not serve the ${JSON.stringify(r)} resource`,
            hint: `it serves: ${allowed.join(", ")}`,
          });
      });
    }
    if (port !== undefined) endpoints.push({ what: `port ${port}`, path: [...path, "port"] });
    if (sock !== undefined) endpoints.push({ what: `socket ${sock}`, path: [...path, "path"] });
  }
}

function pathText(p: SpecPath): string {
  let s = "";
  for (const seg of p) s += typeof seg === "number" ? `[${seg}]` : s === "" ? seg : `.${seg}`;
  return s;
}
