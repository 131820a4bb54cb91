// The worker catalogue: what each worker type serves and what it adds to the
// shared config. One typed table, so a new type is one row here, not a branch
// somewhere else. Facts from Synapse's docs/workers.md and synapse/config/workers.py
// (v1.157.1).

// Synapse's KNOWN_RESOURCES (synapse/config/server.py).
export const RESOURCES = [
  "client", "consent", "federation", "health", "keys", "media", "metrics", "openid", "replication", "static",
] as const;
export type Resource = (typeof RESOURCES)[number];

// Streams a worker can write (stream_writers keys Synapse accepts).
export const STREAMS = [
  "events", "typing", "to_device", "account_data", "receipts", "presence", "push_rules", "device_lists",
  "thread_subscriptions", "quarantined_media_changes",
] as const;
export type Stream = (typeof STREAMS)[number];

/** Shared-config keys that name exactly one worker. */
export type SingleDuty = "notify_appservices_from_worker" | "update_user_directory_from_worker" | "run_background_tasks_on";
/** Shared-config keys that list the workers sharing a duty. */
export type ListDuty = "federation_sender_instances" | "pusher_instances";

export interface WorkerType {
  /** One line for `validate` output and the README. */
  readonly summary: string;
  /** What a listener of this type may serve; health and metrics always may. */
  readonly resources: readonly Resource[];
  /** What an allocated public listener serves ([] = only /health). */
  readonly serves: readonly Resource[];
  /** May several workers of this type run at once? */
  readonly shardable: boolean;
  /** The stream it writes: a replication listener and an instance_map entry follow. */
  readonly stream?: Stream;
  readonly singleDuty?: SingleDuty;
  readonly listDuty?: ListDuty;
  /** A media worker: enable_media_repo is false for everyone else and true here. */
  readonly media?: true;
}

const client: readonly Resource[] = ["client"];
const writer = (stream: Stream, shardable: boolean, summary: string, resources: readonly Resource[] = ["client", "replication"]): WorkerType => ({
  summary,
  resources,
  serves: resources.filter((r) => r !== "replication"),
  shardable,
  stream,
});

export const WORKER_TYPES = {
  federation_reader: { summary: "serves federation requests (/_matrix/federation, /_matrix/key)", resources: ["federation", "keys"], serves: ["federation"], shardable: true },
  federation_inbound: { summary: "receives inbound federation transactions (/_matrix/federation/v1/send)", resources: ["federation"], serves: ["federation"], shardable: true },
  federation_sender: { summary: "sends outbound federation traffic", resources: [], serves: [], shardable: true, listDuty: "federation_sender_instances" },
  client_reader: { summary: "serves client API requests", resources: client, serves: client, shardable: true },
  synchrotron: { summary: "serves /sync and related client endpoints", resources: client, serves: client, shardable: true },
  event_creator: { summary: "handles client requests that create events", resources: client, serves: client, shardable: true },
  event_persister: writer("events", true, "persists events (stream writer: events)", ["replication"]),
  typing: writer("typing", false, "stream writer: typing"),
  to_device: writer("to_device", false, "stream writer: to_device"),
  account_data: writer("account_data", false, "stream writer: account_data"),
  receipts: writer("receipts", true, "stream writer: receipts"),
  presence: writer("presence", false, "stream writer: presence"),
  push_rules: writer("push_rules", false, "stream writer: push_rules"),
  device_lists: writer("device_lists", true, "stream writer: device_lists"),
  thread_subscriptions: writer("thread_subscriptions", false, "stream writer: thread_subscriptions"),
  quarantined_media_changes: writer("quarantined_media_changes", true, "stream writer: quarantined_media_changes"),
  pusher: { summary: "sends push notifications", resources: [], serves: [], shardable: true, listDuty: "pusher_instances" },
  appservice: { summary: "sends traffic to application services", resources: [], serves: [], shardable: false, singleDuty: "notify_appservices_from_worker" },
  user_dir: { summary: "updates the user directory and serves its search", resources: client, serves: client, shardable: false, singleDuty: "update_user_directory_from_worker" },
  background_worker: { summary: "runs background tasks", resources: [], serves: [], shardable: false, singleDuty: "run_background_tasks_on" },
  media_repository: { summary: "serves the media repository", resources: ["media", "client", "federation"], serves: ["media", "client", "federation"], shardable: true, media: true },
} as const satisfies Record<string, WorkerType>;

export type WorkerTypeName = keyof typeof WORKER_TYPES;
export const WORKER_TYPE_NAMES = Object.keys(WORKER_TYPES) as [WorkerTypeName, ...WorkerTypeName[]];
export const workerType = (t: WorkerTypeName): WorkerType => WORKER_TYPES[t];

/** Resources a listener of a worker with these types may serve. */
export function allowedResources(types: readonly WorkerTypeName[]): Set<Resource> {
  const s = new Set<Resource>(["health", "metrics"]);
  for (const t of types) for (const r of workerType(t).resources) s.add(r);
  return s;
}

export const PRESETS = {
  "one-of-each": Object.fromEntries(WORKER_TYPE_NAMES.map((t) => [t, 1])) as Record<WorkerTypeName, number>,
  "federation-helpers": { federation_reader: 1, federation_inbound: 1, federation_sender: 1 } as Partial<Record<WorkerTypeName, number>>,
} as const;
export type PresetName = keyof typeof PRESETS;
