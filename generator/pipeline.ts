// The whole pipeline, pure: spec text → parse → validate → model → render → pack.
// The CLI feeds it text, a version, a timestamp and templates; nothing here
// touches the disk, the clock or the environment.
import type { Diagnostic } from "./diagnostics.js";
import { validateSpecText } from "./spec/validate.js";
import { buildDeployment, type Deployment } from "./model.js";
import { render, type Rendered } from "./render.js";
import type { Templates } from "./templates.js";
import { PACKAGERS, type Artifact, type Packager } from "./emit/packagers.js";
import { sha256 } from "./manifest.js";

export interface BuildInput {
  readonly file: string;
  readonly text: string;
  readonly toolVersion: string;
  readonly epoch: number;
  readonly templates: Templates;
  readonly formats: readonly Packager["format"][];
}

export type BuildResult =
  | { ok: false; diagnostics: Diagnostic[] }
  | { ok: true; deployment: Deployment; rendered: Rendered; artifacts: Artifact[] };

export function deploymentFromText(
  file: string,
  text: string,
  toolVersion: string,
  epoch: number,
): { ok: false; diagnostics: Diagnostic[] } | { ok: true; deployment: Deployment } {
  const v = validateSpecText(file, text);
  if (!v.ok) return v;
  return { ok: true, deployment: buildDeployment(v.spec, v.workers, { toolVersion, specHash: sha256(text), epoch }) };
}

export function build(input: BuildInput): BuildResult {
  const m = deploymentFromText(input.file, input.text, input.toolVersion, input.epoch);
  if (!m.ok) return m;
  const rendered = render(m.deployment, input.templates);
  const artifacts = input.formats.map((f) => PACKAGERS[f].pack(m.deployment, rendered));
  return { ok: true, deployment: m.deployment, rendered, artifacts };
}
