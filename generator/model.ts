// Validated spec → resolved deployment: every name, path and list the templates
// need, decided here so the templates only lay it out.
import { stringify } from "yaml";
import type { Spec, ListenerSpec } from "./spec/schema.js";
import { STREAMS, workerType, type WorkerTypeName, type Stream, type SingleDuty, type ListDuty } from "./catalogue.js";
import type { ResolvedWorker } from "./spec/allocate.js";
import { upstreams, ROUTES_SOURCE, type Upstream } from "./routes.js";

export const UNIT = {
  master: "matrix-synapse.service",
  workerTemplate: "matrix-synapse-worker@.service",
  target: "matrix-synapse.target",
} as const;

export interface Provenance {
  /** synapse-systemd's own version. */
  readonly toolVersion: string;
  /** sha256 (hex) of the spec text the deployment was built from. */
  readonly specHash: string;
  /** SOURCE_DATE_EPOCH: the one timestamp every artifact carries. */
  readonly epoch: number;
}

export interface ListenerModel {
  readonly type: "http" | "metrics";
  readonly port?: number;
  readonly bindAddresses?: readonly string[];
  readonly path?: string;
  /** Written unquoted so PyYAML reads it as octal, e.g. 0660. */
  readonly mode?: string;
  readonly xForwarded?: boolean;
  readonly resources: readonly string[];
}

export interface WorkerModel {
  readonly name: string;
  readonly types: readonly WorkerTypeName[];
  /** "synchrotron" or "synchrotron+client_reader", as Synapse's docker image writes it. */
  readonly type: string;
  readonly summary: string;
  readonly media: boolean;
  /** Where the reverse proxy reaches it: its first listener serving more than replication. */
  readonly upstream?: string;
  readonly unit: string;
  readonly configPath: string;
  readonly listeners: readonly ListenerModel[];
  readonly logConfig?: string;
  /** Extra top-level keys, each already serialised as one YAML document fragment. */
  readonly extraYaml: string;
}

export interface Deployment {
  readonly provenance: Provenance;
  readonly pkg: Spec["package"];
  readonly python: string;
  readonly configPaths: readonly string[];
  readonly workersDir: string;
  readonly sharedConfig: string;
  readonly workingDirectory: string;
  readonly user: string;
  readonly group: string;
  readonly environmentFile?: string;
  readonly unit: typeof UNIT;
  /** Runtime directory under /run: the master's, with one subdirectory per worker. */
  readonly runtimeDirectory: string;
  /** StateDirectory= (relative to /var/lib) when the working directory lives there, else ReadWritePaths=. */
  readonly stateDirectory?: string;
  readonly readWritePaths: readonly string[];
  readonly logsDirectory: string;
  readonly masterListeners: readonly ListenerModel[];
  /** instance_map: main first, then every worker other processes must reach over replication. */
  readonly instanceMap: readonly InstanceLocation[];
  readonly streamWriters: readonly { readonly stream: Stream; readonly names: readonly string[] }[];
  readonly listDuties: readonly { readonly key: ListDuty; readonly names: readonly string[] }[];
  readonly singleDuties: readonly { readonly key: SingleDuty; readonly name: string }[];
  /** Set when media workers exist: the master stops serving media, this worker runs its background jobs. */
  readonly mediaBackgroundJobs?: string;
  readonly outboundFederationRestrictedTo: readonly string[];
  /** Any metrics listener anywhere: Synapse serves nothing on it without enable_metrics. */
  readonly enableMetrics: boolean;
  readonly replicationSecretPath?: string;
  /** The master's public listener, the reverse proxy's fallback. */
  readonly masterUpstream?: string;
  readonly routesSource: string;
  readonly upstreams: readonly (Upstream & { readonly hashUser: boolean; readonly hashOrigin: boolean })[];
  /** Which nginx maps the upstreams need. */
  readonly nginx: { readonly user: boolean; readonly origin: boolean };
  readonly redis: Spec["redis"];
  readonly workers: readonly WorkerModel[];
  readonly hardening: boolean;
  readonly install: Spec["install"];
  /** Units the installer enables, in the seed's order: master, each worker, then the target. */
  readonly enableUnits: readonly string[];
  /** Where the package keeps its own state (the units it enabled); removed on purge. */
  readonly stateDir: string;
  /** Where the tarball's install and uninstall scripts and its MANIFEST live. */
  readonly libDir: string;
  /** Units the uninstaller and prerm disable: the workers, then the target. */
  readonly disableUnits: readonly string[];
  /** The one enablement link of the master this tool owns (Synapse's package may own others). */
  readonly masterWantsLink: string;
  /** Directories the tarball creates, deepest first, removed by uninstall when empty. */
  readonly ownedDirs: readonly string[];
  /** Synapse's packaged unit paths diverted by the .deb (see debian/preinst). */
  readonly diversions: readonly { readonly path: string; readonly to: string }[];
  readonly changelogDate: string;
  readonly year: number;
}

/** /run/<this> is the master's runtime directory; each worker has /run/<this>/<name>. */
export const RUNTIME_DIRECTORY = "matrix-synapse";

/** Where units go in the tarball: the seed's path, so unpacking at / is its manual copy. */
export const TAR_UNIT_DIR = "/etc/systemd/system";

export type InstanceLocation =
  | { readonly name: string; readonly host: string; readonly port: number }
  | { readonly name: string; readonly path: string };

export function buildDeployment(spec: Spec, resolved: readonly ResolvedWorker[], provenance: Provenance): Deployment {
  const s = spec.synapse;
  const workersDir = s.workers_dir.replace(/\/+$/, "");
  const repl = spec.master.replication;
  const replicationListener: ListenerModel =
    repl.path !== undefined
      ? { type: "http", path: repl.path, mode: "0660", resources: ["replication"] }
      : { type: "http", port: repl.port!, bindAddresses: [repl.host], resources: ["replication"] };
  const workers = resolved.map((w): WorkerModel => {
    const media = w.type.some((t) => workerType(t).media === true);
    const extra = w.config ?? {};
    const listeners = w.listeners.map(listenerModel);
    const pub = listeners.find((l) => l.type === "http" && l.resources.some((r) => r !== "replication"));
    return {
      name: w.name,
      types: w.type,
      type: w.type.join("+"),
      summary: w.type.map((t) => workerType(t).summary).join("; "),
      media,
      ...(pub ? { upstream: upstreamOf(pub) } : {}),
      unit: `matrix-synapse-worker@${w.name}.service`,
      configPath: `${workersDir}/${w.name}.yaml`,
      listeners,
      ...(w.log_config !== undefined ? { logConfig: w.log_config } : {}),
      extraYaml: Object.keys(extra).length ? stringify(extra, { lineWidth: 0 }) : "",
    };
  });
  const ofType = (pred: (t: WorkerTypeName) => boolean) => resolved.filter((w) => w.type.some(pred)).map((w) => w.name);
  const restricted = spec.outbound_federation_restricted_to ?? [];
  const instanceMap: InstanceLocation[] = [
    repl.path !== undefined ? { name: "main", path: repl.path } : { name: "main", host: repl.host, port: repl.port! },
    ...resolved
      .filter((w) => w.type.some((t) => workerType(t).stream) || restricted.includes(w.name))
      .map((w) => replicationLocation(w)),
  ];
  const mediaWorkers = ofType((t) => workerType(t).media === true);
  const routed = upstreams(workers);
  const masterPublic = spec.master.listeners.map(listenerModel).find((l) => l.type === "http" && l.resources.some((r) => r === "client" || r === "federation"));
  const wd = s.working_directory.replace(/\/+$/, "");
  const underVarLib = /^\/var\/lib\/[^/]+/.test(wd);
  return {
    provenance,
    pkg: spec.package,
    python: s.python,
    configPaths: s.config_paths,
    workersDir,
    sharedConfig: s.shared_config,
    workingDirectory: wd,
    user: s.user,
    group: s.group,
    ...(s.environment_file !== null ? { environmentFile: s.environment_file } : {}),
    unit: UNIT,
    runtimeDirectory: RUNTIME_DIRECTORY,
    ...(underVarLib ? { stateDirectory: wd.slice("/var/lib/".length) } : {}),
    readWritePaths: underVarLib ? [] : [wd],
    logsDirectory: "matrix-synapse",
    masterListeners: [...spec.master.listeners.map(listenerModel), replicationListener],
    instanceMap,
    streamWriters: STREAMS.map((stream) => ({ stream, names: ofType((t) => workerType(t).stream === stream) })).filter((s) => s.names.length > 0),
    listDuties: (["federation_sender_instances", "pusher_instances"] as const)
      .map((key) => ({ key, names: ofType((t) => workerType(t).listDuty === key) }))
      .filter((d) => d.names.length > 0),
    singleDuties: (["notify_appservices_from_worker", "update_user_directory_from_worker", "run_background_tasks_on"] as const)
      .map((key) => ({ key, name: ofType((t) => workerType(t).singleDuty === key)[0] }))
      .filter((d): d is { key: SingleDuty; name: string } => d.name !== undefined),
    ...(mediaWorkers[0] !== undefined ? { mediaBackgroundJobs: mediaWorkers[0] } : {}),
    outboundFederationRestrictedTo: restricted,
    enableMetrics: [...spec.master.listeners, ...resolved.flatMap((w) => w.listeners)].some((l) => l.type === "metrics"),
    ...(spec.master.replication_secret_path !== undefined ? { replicationSecretPath: spec.master.replication_secret_path } : {}),
    ...(masterPublic ? { masterUpstream: upstreamOf(masterPublic) } : {}),
    routesSource: ROUTES_SOURCE,
    upstreams: routed.map((u) => ({ ...u, hashUser: u.balance === "user", hashOrigin: u.balance === "origin" })),
    nginx: { user: routed.some((u) => u.balance === "user"), origin: routed.some((u) => u.balance === "origin") },
    redis: spec.redis,
    workers,
    hardening: spec.hardening,
    install: spec.install,
    enableUnits: [UNIT.master, ...workers.map((w) => w.unit), UNIT.target],
    stateDir: `/var/lib/${spec.package.name}`,
    libDir: `/usr/lib/${spec.package.name}`,
    disableUnits: [...workers.map((w) => w.unit), UNIT.target],
    masterWantsLink: `${TAR_UNIT_DIR}/${UNIT.target}.wants/${UNIT.master}`,
    ownedDirs: [
      `${TAR_UNIT_DIR}/${UNIT.master}.d`,
      `${TAR_UNIT_DIR}/${UNIT.workerTemplate}.d`,
      workersDir,
      `/usr/lib/${spec.package.name}`,
      `/usr/share/${spec.package.name}/nginx`,
      `/usr/share/${spec.package.name}`,
    ],
    // matrix.org's package for bookworm ships the /lib path (see README: merged /usr).
    diversions: [
      { path: `/lib/systemd/system/${UNIT.master}`, to: `/lib/systemd/system/${UNIT.master}.distrib` },
    ],
    changelogDate: rfc2822(provenance.epoch),
    year: new Date(provenance.epoch * 1000).getUTCFullYear(),
  };
}

function replicationLocation(w: ResolvedWorker): InstanceLocation {
  const l = w.listeners.find((x) => (x.resources ?? []).includes("replication"))!;
  if (l.path !== undefined) return { name: w.name, path: l.path };
  return { name: w.name, host: l.bind_addresses?.[0] ?? "127.0.0.1", port: l.port! };
}

/** host:port or unix:path, as nginx's server directive takes it; wildcard binds are reached on loopback. */
function upstreamOf(l: ListenerModel): string {
  if (l.path !== undefined) return `unix:${l.path}`;
  // Prefer an IPv4 bind: a proxy host may have IPv6 turned off.
  const host = l.bindAddresses?.find((a) => !a.includes(":")) ?? l.bindAddresses?.[0] ?? "127.0.0.1";
  const h = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "[::1]" : host.includes(":") ? `[${host}]` : host;
  return `${h}:${l.port}`;
}

function listenerModel(l: ListenerSpec): ListenerModel {
  return {
    type: l.type,
    ...(l.port !== undefined ? { port: l.port } : {}),
    ...(l.bind_addresses !== undefined ? { bindAddresses: l.bind_addresses } : {}),
    ...(l.path !== undefined ? { path: l.path, mode: l.mode ?? "0660" } : {}),
    ...(l.x_forwarded !== undefined ? { xForwarded: l.x_forwarded } : {}),
    resources: l.resources ?? [],
  };
}

function rfc2822(epoch: number): string {
  const d = new Date(epoch * 1000);
  const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const p = (n: number) => String(n).padStart(2, "0");
  return `${days[d.getUTCDay()]}, ${p(d.getUTCDate())} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}
