// The worker catalogue: what each worker type serves. One typed table, so a new
// type is one row here, not a branch somewhere else.
//
// Resource names are Synapse's KNOWN_RESOURCES (synapse/config/server.py).
export const RESOURCES = [
  "client", "consent", "federation", "health", "keys", "media", "metrics", "openid", "replication", "static",
] as const;
export type Resource = (typeof RESOURCES)[number];

export interface WorkerType {
  /** One line for `validate` output and the README. */
  readonly summary: string;
  /** Listener resources this type can serve usefully; others are rejected. */
  readonly resources: readonly Resource[];
  /** May several workers of this type run at once? */
  readonly shardable: boolean;
  /** The Synapse docs page section that describes it, for hints. */
  readonly docs: string;
}

// Every type starts as synapse.app.generic_worker (the legacy app names are
// aliases or deprecated); the type decides listeners and, later, shared config.
export const WORKER_TYPES = {
  federation_reader: {
    summary: "serves federation requests (/_matrix/federation, /_matrix/key)",
    resources: ["federation", "keys", "health", "metrics"],
    shardable: true,
    docs: "https://element-hq.github.io/synapse/latest/workers.html#synapseappgeneric_worker",
  },
  federation_inbound: {
    summary: "receives inbound federation transactions (/_matrix/federation/v1/send)",
    resources: ["federation", "health", "metrics"],
    shardable: true,
    docs: "https://element-hq.github.io/synapse/latest/workers.html#synapseappgeneric_worker",
  },
  client_reader: {
    summary: "serves client API read requests",
    resources: ["client", "health", "metrics"],
    shardable: true,
    docs: "https://element-hq.github.io/synapse/latest/workers.html#synapseappgeneric_worker",
  },
  synchrotron: {
    summary: "serves /sync and related client endpoints",
    resources: ["client", "health", "metrics"],
    shardable: true,
    docs: "https://element-hq.github.io/synapse/latest/workers.html#synapseappgeneric_worker",
  },
  event_creator: {
    summary: "handles client requests that create events",
    resources: ["client", "health", "metrics"],
    shardable: true,
    docs: "https://element-hq.github.io/synapse/latest/workers.html#synapseappgeneric_worker",
  },
} as const satisfies Record<string, WorkerType>;

export type WorkerTypeName = keyof typeof WORKER_TYPES;
export const WORKER_TYPE_NAMES = Object.keys(WORKER_TYPES) as [WorkerTypeName, ...WorkerTypeName[]];
