// The deployment spec. This zod schema is the single source of truth: the
// TypeScript types are inferred from it and `synapse-systemd schema` prints the
// JSON Schema made from it.
//
// Strings that end up in unit files and shell scripts are constrained here to
// what systemd and sh take literally (no whitespace, quotes, `$`, `%`, `\`);
// the templates escape again at their boundary, so neither layer trusts the other.
import { z } from "zod";
import { RESOURCES, WORKER_TYPE_NAMES, PRESETS } from "../catalogue.js";

const SAFE_PATH = /^\/(?:[A-Za-z0-9._+@-]+\/?)*$/;
const hasDotDot = (p: string) => p.split("/").some((s) => s === "." || s === "..");

export const AbsPath = z
  .string()
  .regex(SAFE_PATH, {
    message:
      "must be an absolute path of letters, digits and . _ + @ - only (no spaces, quotes, $, %, \\ or newlines)",
  })
  .refine((p) => !hasDotDot(p), { message: "must not contain '.' or '..' segments" });

export const AbsFile = AbsPath.refine((p) => !p.endsWith("/"), { message: "must name a file, not a directory" });

const Port = z.number().int().min(1).max(65535);

const IpAddress = z.string().regex(/^(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)$/, {
  message: "must be an IPv4 or IPv6 address",
});

const Hostname = z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9.:-]{0,251}[A-Za-z0-9])?$/, {
  message: "must be a host name or IP address",
});

// A unix socket mode, written as Synapse's docs do: "0660". A bare 660 would be
// read by PyYAML as decimal 660 (element-hq/synapse#16302), so the spec takes a string.
const SocketMode = z.string().regex(/^0[0-7]{3}$/, { message: 'must be an octal mode string such as "0660"' });

export const WORKER_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
export const WorkerName = z
  .string()
  .regex(WORKER_NAME, {
    message:
      "is not a valid worker name: it becomes a systemd instance name and a file name, so use 1-63 letters, digits, '_' or '-', starting with a letter or digit",
  })
  .refine((n) => n !== "main" && n !== "master", {
    message: "is reserved: Synapse calls the main process 'master' and its instance_map entry 'main'",
  });

export const Listener = z
  .strictObject({
    type: z.enum(["http", "metrics"]).default("http").describe("Synapse listener type"),
    port: Port.optional().describe("TCP port; give either port or path"),
    bind_addresses: z.array(IpAddress).min(1).optional().describe("addresses to bind; Synapse's default is all"),
    path: AbsFile.optional().describe("unix socket path; give either port or path"),
    mode: SocketMode.optional().describe('unix socket mode, e.g. "0660"'),
    x_forwarded: z.boolean().optional().describe("trust X-Forwarded-For from a reverse proxy"),
    resources: z.array(z.enum(RESOURCES)).optional().describe("resource names served (http listeners)"),
  })
  .describe("a Synapse listener: TCP port or unix socket");

export const Replication = z
  .strictObject({
    host: IpAddress.default("127.0.0.1").describe("private address the listener binds and workers dial (TCP)"),
    port: Port.optional().describe("TCP port of the master's replication listener"),
    path: AbsFile.optional().describe("unix socket of the master's replication listener, instead of host/port"),
  })
  .describe("the master's private replication listener; instance_map.main points at it");

export const Redis = z
  .strictObject({
    host: Hostname.default("127.0.0.1"),
    port: Port.default(6379),
    path: AbsFile.optional().describe("unix socket instead of host/port"),
    password_path: AbsFile.optional().describe("file holding the Redis password (never inlined)"),
    dbid: z.number().int().min(0).optional(),
  })
  .describe("Redis, which every worker needs for replication");

const ExtraConfig = z
  .record(z.string().regex(/^[a-z_][a-z0-9_]*$/, { message: "must be a Synapse config key (a-z, 0-9, _)" }), z.unknown())
  .describe("extra top-level Synapse config keys, written as given");

const TypeName = z.enum(WORKER_TYPE_NAMES);
// One type, a list of types, or "a+b" as Synapse's docker image writes it.
export const WorkerTypes = z
  .union([TypeName, z.array(TypeName).min(1), z.string().regex(/^[a-z_]+(\+[a-z_]+)+$/).pipe(z.transform((s) => s.split("+"))).pipe(z.array(TypeName))])
  .transform((t): z.output<typeof TypeName>[] => (Array.isArray(t) ? t : [t]))
  .describe("worker type from the catalogue, a list of types, or types joined with +");

export const Worker = z
  .strictObject({
    name: WorkerName.describe("systemd instance name and worker_name"),
    type: WorkerTypes,
    listeners: z.array(Listener).default([]),
    log_config: AbsFile.optional().describe("worker_log_config; omitted means log to the journal"),
    config: ExtraConfig.optional(),
  })
  .describe("one Synapse worker process: matrix-synapse-worker@<name>.service");

export const Package = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9+.-]+$/, { message: "must be a Debian package name (a-z, 0-9, + . -)" })
      .refine((n) => n !== "matrix-synapse" && n !== "matrix-synapse-py3", {
        message: "is the name of Synapse's own package, which this package installs beside, never replaces",
      })
      .default("matrix-synapse-workers"),
    version: z
      .string()
      .regex(/^[0-9][A-Za-z0-9.+~]*$/, { message: "must be a Debian native version such as 1.0.0" })
      .default("1.0.0"),
    maintainer: z
      .string()
      .regex(/^[^<>\n\r]+ <[^<>\s]+@[^<>\s]+>$/, { message: "must look like 'Full Name <email@example.org>'" })
      .default("Synapse Admin <synapse-admin@example.org>"),
    description: z
      .string()
      .regex(/^[^\n\r\t]{1,80}$/, { message: "must be one line of at most 80 characters" })
      .default("systemd units and worker configs for Synapse with workers"),
  })
  .describe("package metadata for the .deb and the tarball");

export const Synapse = z
  .strictObject({
    python: AbsFile.default("/opt/venvs/matrix-synapse/bin/python").describe("interpreter of Synapse's venv"),
    config_paths: z
      .array(AbsPath)
      .min(1)
      .default(["/etc/matrix-synapse/homeserver.yaml", "/etc/matrix-synapse/conf.d/"])
      .describe("--config-path arguments, in order; directories end in /"),
    workers_dir: AbsPath.default("/etc/matrix-synapse/workers").describe("where <name>.yaml per worker goes"),
    shared_config: AbsFile.default("/etc/matrix-synapse/conf.d/synapse-systemd.yaml").describe(
      "the generated shared worker config; must sit in a config_paths directory",
    ),
    working_directory: AbsPath.default("/var/lib/matrix-synapse"),
    user: z
      .string()
      .regex(/^[a-z_][a-z0-9_-]{0,31}$/, { message: "must be a POSIX user name" })
      .default("matrix-synapse"),
    group: z
      .string()
      .regex(/^[a-z_][a-z0-9_-]{0,31}$/, { message: "must be a POSIX group name" })
      .default("matrix-synapse"),
    environment_file: AbsFile.nullable()
      .default("/etc/default/matrix-synapse")
      .describe("optional EnvironmentFile (null for none)"),
  })
  .describe("where and how Synapse is installed");

export const Master = z
  .strictObject({
    listeners: z
      .array(Listener)
      .default([{ type: "http", port: 8008, bind_addresses: ["::1", "127.0.0.1"], x_forwarded: true, resources: ["client", "federation"] }])
      .describe("the master's public listeners (replace homeserver.yaml's listeners)"),
    replication: Replication.prefault({ port: 9093 }),
    replication_secret_path: AbsFile.optional().describe(
      "file holding worker_replication_secret (authenticates replication; referenced, never copied)",
    ),
  })
  .describe("the main Synapse process");

export const Allocate = z
  .strictObject({
    preset: z.enum(Object.keys(PRESETS) as [keyof typeof PRESETS]).optional().describe("a named set of worker counts"),
    counts: z.partialRecord(TypeName, z.number().int().min(0).max(1000)).optional().describe("workers per type; overrides the preset"),
    first_port: Port.default(18101).describe("ports are handed out from here, skipping used ones"),
    bind_address: IpAddress.default("127.0.0.1").describe("address the allocated listeners bind"),
  })
  .describe("workers made from counts per type or a preset: named <type><n>, ports allocated in order");

export const Install = z
  .strictObject({
    enable: z.boolean().default(true).describe("enable the target, the master and every worker instance"),
    start: z.boolean().default(true).describe("start matrix-synapse.target on first install"),
  })
  .describe("what installing the package or tarball does");

export const Spec = z
  .strictObject({
    package: Package.prefault({}),
    synapse: Synapse.prefault({}),
    master: Master.prefault({}),
    redis: Redis.prefault({}),
    workers: z.array(Worker).default([]),
    allocate: Allocate.optional(),
    outbound_federation_restricted_to: z
      .array(WorkerName)
      .optional()
      .describe("only these workers send outbound federation (needs master.replication_secret_path)"),
    hardening: z.boolean().default(true).describe("ship the hardened drop-ins"),
    install: Install.prefault({}),
  })
  .describe("synapse-systemd deployment spec");

export type Spec = z.output<typeof Spec>;
export type SpecInput = z.input<typeof Spec>;
export type WorkerSpec = z.output<typeof Worker>;
export type ListenerSpec = z.output<typeof Listener>;

export function jsonSchema(): unknown {
  return z.toJSONSchema(Spec, { io: "input", target: "draft-2020-12" });
}
