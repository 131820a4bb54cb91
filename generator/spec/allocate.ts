// Workers asked for by count or preset become ordinary workers here: names
// <type><n> and ports handed out in catalogue order, skipping what the spec
// already uses, so the same spec always gets the same layout.
import { PRESETS, WORKER_TYPE_NAMES, workerType, type WorkerTypeName } from "../catalogue.js";
import type { Spec, WorkerSpec, ListenerSpec } from "./schema.js";
import type { SpecPath } from "./source.js";

/** A worker of the deployment, explicit or allocated, with the spec place it came from. */
export interface ResolvedWorker extends WorkerSpec {
  readonly origin: SpecPath;
  readonly allocated: boolean;
}

export function resolveWorkers(spec: Spec): ResolvedWorker[] {
  const explicit: ResolvedWorker[] = spec.workers.map((w, i) => ({ ...w, origin: ["workers", i], allocated: false }));
  const a = spec.allocate;
  if (!a) return explicit;
  const counts: Partial<Record<WorkerTypeName, number>> = { ...(a.preset ? PRESETS[a.preset] : {}), ...(a.counts ?? {}) };
  const names = new Set(explicit.map((w) => w.name));
  const ports = new Set<number>(usedPorts(spec));
  let next = a.first_port;
  const port = () => {
    while (ports.has(next)) next++;
    ports.add(next);
    return next++;
  };
  const out = [...explicit];
  for (const type of WORKER_TYPE_NAMES) {
    const n = counts[type] ?? 0;
    const t = workerType(type);
    const origin: SpecPath = a.counts?.[type] !== undefined ? ["allocate", "counts", type] : ["allocate", "preset"];
    for (let i = 1, made = 0; made < n; i++) {
      const name = `${type}${i}`;
      if (names.has(name)) continue;
      names.add(name);
      made++;
      // Every allocated worker answers HTTP, if only /health, so it can be probed.
      const listeners: ListenerSpec[] = [
        {
          type: "http",
          port: port(),
          bind_addresses: [a.bind_address],
          resources: t.serves.length > 0 ? [...t.serves] : ["health"],
          ...(t.serves.length > 0 ? { x_forwarded: true } : {}),
        },
      ];
      // Stream writers and restricted federation senders are reached through instance_map.
      if (t.stream || spec.outbound_federation_restricted_to?.includes(name))
        listeners.push({ type: "http", port: port(), bind_addresses: [a.bind_address], resources: ["replication"] });
      out.push({ name, type: [type], listeners, origin, allocated: true });
    }
  }
  return out;
}

function usedPorts(spec: Spec): number[] {
  const ls = [...spec.master.listeners, ...spec.workers.flatMap((w) => w.listeners)];
  const ps = ls.map((l) => l.port).filter((p): p is number => p !== undefined);
  if (spec.master.replication.port !== undefined) ps.push(spec.master.replication.port);
  return ps;
}
