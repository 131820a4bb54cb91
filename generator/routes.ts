// The reverse-proxy route table: which endpoints each worker type should get.
// Taken from Synapse's docs/workers.md at v1.157.1 (element-hq/synapse a58ad44e);
// patterns are copied as written there, so a reviewer can diff them against it.
// Order matters to nginx (the first matching regex location wins): stream
// writers and media first, then the specialised readers, generic client last.
import type { WorkerTypeName } from "./catalogue.js";

export const ROUTES_SOURCE = "element-hq/synapse v1.157.1, docs/workers.md";

/** How requests are spread over several workers of one type. */
export type Balance =
  | "round-robin"
  // /sync from one user to one worker (docs: "extracting username part from the users access token").
  | "user"
  // Inbound transactions from one remote server to one worker (docs: "balanced by source IP";
  // the X-Matrix origin names the server even behind another proxy, the address is the fallback).
  | "origin";

export interface Route {
  readonly type: WorkerTypeName;
  readonly balance: Balance;
  readonly patterns: readonly string[];
}

export const ROUTES: readonly Route[] = [
  { type: "typing", balance: "round-robin", patterns: ["^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/typing"] },
  { type: "to_device", balance: "round-robin", patterns: ["^/_matrix/client/(r0|v3|unstable)/sendToDevice/"] },
  {
    type: "account_data",
    balance: "round-robin",
    patterns: ["^/_matrix/client/(r0|v3|unstable)/.*/tags", "^/_matrix/client/(r0|v3|unstable)/.*/account_data"],
  },
  {
    type: "receipts",
    balance: "round-robin",
    patterns: ["^/_matrix/client/(r0|v3|unstable)/rooms/.*/receipt", "^/_matrix/client/(r0|v3|unstable)/rooms/.*/read_markers"],
  },
  { type: "presence", balance: "round-robin", patterns: ["^/_matrix/client/(api/v1|r0|v3|unstable)/presence/"] },
  { type: "push_rules", balance: "round-robin", patterns: ["^/_matrix/client/(api/v1|r0|v3|unstable)/pushrules/"] },
  {
    type: "device_lists",
    balance: "round-robin",
    patterns: [
      "^/_matrix/client/(r0|v3)/delete_devices$",
      "^/_matrix/client/(api/v1|r0|v3|unstable)/devices(/|$)",
      "^/_matrix/client/(r0|v3|unstable)/keys/upload",
      "^/_matrix/client/(api/v1|r0|v3|unstable)/keys/device_signing/upload$",
      "^/_matrix/client/(api/v1|r0|v3|unstable)/keys/signatures/upload$",
    ],
  },
  { type: "quarantined_media_changes", balance: "round-robin", patterns: ["^/_synapse/admin/v1/quarantine_media/.*$"] },
  {
    type: "media_repository",
    balance: "round-robin",
    patterns: [
      "^/_matrix/media/",
      "^/_matrix/client/v1/media/",
      "^/_matrix/federation/v1/media/",
      "^/_synapse/admin/v1/purge_media_cache$",
      "^/_synapse/admin/v1/room/.*/media.*$",
      "^/_synapse/admin/v1/user/.*/media.*$",
      "^/_synapse/admin/v1/media/.*$",
      "^/_synapse/admin/v1/quarantine_media/.*$",
      "^/_synapse/admin/v1/users/.*/media$",
    ],
  },
  {
    type: "synchrotron",
    balance: "user",
    patterns: [
      "^/_matrix/client/(r0|v3)/sync$",
      "^/_matrix/client/(api/v1|r0|v3)/events$",
      "^/_matrix/client/(api/v1|r0|v3)/initialSync$",
      "^/_matrix/client/(api/v1|r0|v3)/rooms/[^/]+/initialSync$",
    ],
  },
  {
    type: "event_creator",
    balance: "round-robin",
    patterns: [
      "^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/redact",
      "^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/send",
      "^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/state/",
      "^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/(join|invite|leave|ban|unban|kick)$",
      "^/_matrix/client/(api/v1|r0|v3|unstable)/join/",
      "^/_matrix/client/(api/v1|r0|v3|unstable)/knock/",
      "^/_matrix/client/(api/v1|r0|v3|unstable)/profile/",
    ],
  },
  { type: "federation_inbound", balance: "origin", patterns: ["^/_matrix/federation/v1/send/"] },
  {
    type: "federation_reader",
    balance: "round-robin",
    patterns: [
      "^/_matrix/federation/v1/version$",
      "^/_matrix/federation/v1/event/",
      "^/_matrix/federation/v1/state/",
      "^/_matrix/federation/v1/state_ids/",
      "^/_matrix/federation/v1/backfill/",
      "^/_matrix/federation/v1/get_missing_events/",
      "^/_matrix/federation/v1/publicRooms",
      "^/_matrix/federation/v1/query/",
      "^/_matrix/federation/v1/make_join/",
      "^/_matrix/federation/v1/make_leave/",
      "^/_matrix/federation/(v1|v2)/send_join/",
      "^/_matrix/federation/(v1|v2)/send_leave/",
      "^/_matrix/federation/v1/make_knock/",
      "^/_matrix/federation/v1/send_knock/",
      "^/_matrix/federation/(v1|v2)/invite/",
      "^/_matrix/federation/v1/event_auth/",
      "^/_matrix/federation/v1/timestamp_to_event/",
      "^/_matrix/federation/v1/exchange_third_party_invite/",
      "^/_matrix/federation/v1/user/devices/",
      "^/_matrix/key/v2/query",
      "^/_matrix/federation/v1/hierarchy/",
    ],
  },
  { type: "user_dir", balance: "round-robin", patterns: ["^/_matrix/client/(r0|v3|unstable)/user_directory/search$"] },
  {
    type: "client_reader",
    balance: "round-robin",
    patterns: [
      "^/_matrix/client/(api/v1|r0|v3|unstable)/createRoom$",
      "^/_matrix/client/(api/v1|r0|v3|unstable)/publicRooms$",
      "^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/joined_members$",
      "^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/context/.*$",
      "^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/members$",
      "^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/state$",
      "^/_matrix/client/v1/rooms/.*/hierarchy$",
      "^/_matrix/client/(v1|unstable)/rooms/.*/relations/",
      "^/_matrix/client/v1/rooms/.*/threads$",
      "^/_matrix/client/unstable/im.nheko.summary/summary/.*$",
      "^/_matrix/client/v1/room_summary/.*$",
      "^/_matrix/client/(r0|v3|unstable)/account/3pid$",
      "^/_matrix/client/(r0|v3|unstable)/account/whoami$",
      "^/_matrix/client/(r0|v3|unstable)/account/deactivate$",
      "^/_matrix/client/(r0|v3)/delete_devices$",
      "^/_matrix/client/(api/v1|r0|v3|unstable)/devices(/|$)",
      "^/_matrix/client/versions$",
      "^/_matrix/client/(api/v1|r0|v3|unstable)/voip/turnServer$",
      "^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/event/",
      "^/_matrix/client/(api/v1|r0|v3|unstable)/joined_rooms$",
      "^/_matrix/client/v1/rooms/.*/timestamp_to_event$",
      "^/_matrix/client/(api/v1|r0|v3|unstable/.*)/rooms/.*/aliases",
      "^/_matrix/client/(api/v1|r0|v3|unstable)/search$",
      "^/_matrix/client/(r0|v3|unstable)/user/.*/filter(/|$)",
      "^/_matrix/client/(api/v1|r0|v3|unstable)/directory/room/.*$",
      "^/_matrix/client/(r0|v3|unstable)/capabilities$",
      "^/_matrix/client/(r0|v3|unstable)/notifications$",
      "^/_synapse/admin/v1/rooms/[^/]+$",
      "^/_matrix/client/(r0|v3|unstable)/keys/query$",
      "^/_matrix/client/(r0|v3|unstable)/keys/changes$",
      "^/_matrix/client/(r0|v3|unstable)/keys/claim$",
      "^/_matrix/client/(r0|v3|unstable)/room_keys/",
      "^/_matrix/client/(r0|v3|unstable)/keys/upload",
      "^/_matrix/client/(api/v1|r0|v3|unstable)/keys/device_signing/upload$",
      "^/_matrix/client/(api/v1|r0|v3|unstable)/keys/signatures/upload$",
      "^/_matrix/client/(api/v1|r0|v3|unstable)/login$",
      "^/_matrix/client/(r0|v3|unstable)/register$",
      "^/_matrix/client/(r0|v3|unstable)/register/available$",
      "^/_matrix/client/v1/register/m.login.registration_token/validity$",
      "^/_matrix/client/(r0|v3|unstable)/password_policy$",
      "^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/messages$",
    ],
  },
];

export interface Upstream {
  /** nginx upstream name: synapse_<type>. */
  readonly name: string;
  readonly balance: Balance;
  readonly servers: readonly string[];
  /** Patterns this upstream takes that no earlier upstream took. */
  readonly patterns: readonly string[];
}

/** The route table cut down to the types a deployment runs, each pattern routed once. */
export function upstreams(workers: readonly { readonly types: readonly WorkerTypeName[]; readonly upstream?: string }[]): Upstream[] {
  const claimed = new Set<string>();
  const out: Upstream[] = [];
  for (const r of ROUTES) {
    const servers = workers.filter((w) => w.types.includes(r.type) && w.upstream !== undefined).map((w) => w.upstream!);
    if (servers.length === 0) continue;
    const patterns = r.patterns.filter((p) => !claimed.has(p));
    patterns.forEach((p) => claimed.add(p));
    if (patterns.length > 0) out.push({ name: `synapse_${r.type}`, balance: r.balance, servers, patterns });
  }
  return out;
}
