// Hostile values: the schema keeps them out, and the escapers refuse or neutralise
// them even if a value slipped past, so no line or command can be injected.
import { test } from "node:test";
import assert from "node:assert/strict";
import { unitValue, execArg, shWord, yamlValue, octalMode, plain, EscapeError } from "../generator/escape.js";
import Handlebars from "handlebars";
import { lint, loadTemplates, compileTemplateSources } from "../generator/templates.js";
import { buildDeployment } from "../generator/model.js";
import { render } from "../generator/render.js";
import { Spec } from "../generator/spec/schema.js";
import { validateSpecText } from "../generator/spec/validate.js";
import { resolveWorkers } from "../generator/spec/allocate.js";

const templates = await loadTemplates();

test("unit values keep % and \\ literal and refuse line breaks", () => {
  assert.equal(unitValue("a%ib\\c"), "a%%ib\\\\c");
  assert.throws(() => unitValue("x\nExecStartPre=/bin/rm -rf /"), EscapeError);
  assert.equal(execArg("/opt/$HOME/x y"), '"/opt/$$HOME/x y"');
});

test("shell words are bare only when plainly safe", () => {
  assert.equal(shWord("matrix-synapse-worker@a.service"), "matrix-synapse-worker@a.service");
  assert.equal(shWord("a'b; reboot"), "'a'\\''b; reboot'");
  assert.equal(shWord("$(reboot)"), "'$(reboot)'");
  assert.throws(() => shWord("a\nreboot"), EscapeError);
});

test("YAML scalars are quoted, octal modes stay octal, plain tokens are checked", () => {
  assert.equal(yamlValue("yes"), '"yes"');
  assert.equal(yamlValue(["::1", "127.0.0.1"]), '["::1", "127.0.0.1"]');
  assert.throws(() => yamlValue("a\nworker_app: x"), EscapeError);
  assert.equal(octalMode("0660"), "0660");
  assert.throws(() => octalMode("660"), EscapeError);
  assert.throws(() => plain("1.0; rm"), EscapeError);
});

test("every template prints values only through its kind's escapers", async () => {
  const names = Object.keys(await compileTemplateSources());
  assert.ok(names.includes("systemd/matrix-synapse.service.hbs"));
  const check = (name: string, text: string) => lint(name, Handlebars.parse(text));
  assert.throws(() => check("x.service.hbs", "User={{d.user}}\n"), /print values through one of/);
  assert.throws(() => check("x.service.hbs", "User={{{unit d.user}}}\n"), /print values through one of/);
  assert.throws(() => check("x.sh.hbs", "echo {{unit d.user}}\n"), /print values through one of/);
  assert.throws(() => check("x.sh.hbs", "{{#raw}}x{{/raw}}\n"), /unknown block helper/);
  assert.doesNotThrow(() => check("x.sh.hbs", "echo {{sh d.user}}\n"));
});

test("a hostile value that got past the schema is refused at the template boundary", () => {
  // Bypass validation on purpose: build a deployment from a spec object by hand.
  const spec = Spec.parse({ workers: [{ name: "a", type: "federation_reader", listeners: [{ port: 8083, resources: ["federation"] }] }] });
  const hostile = { ...spec, synapse: { ...spec.synapse, user: "root\nExecStartPre=/bin/sh" } };
  const d = buildDeployment(hostile, resolveWorkers(hostile), { toolVersion: "0", specHash: "0", epoch: 0 });
  assert.throws(() => render(d, templates), EscapeError);
});

test("defaults resolve to the seed's layout", () => {
  const v = validateSpecText("x", "workers: [{ name: fr, type: federation_reader, listeners: [{ port: 8083, resources: [federation] }] }]\n");
  assert.ok(v.ok);
  if (!v.ok) return;
  const d = buildDeployment(v.spec, v.workers, { toolVersion: "0", specHash: "0", epoch: 0 });
  assert.equal(d.python, "/opt/venvs/matrix-synapse/bin/python");
  assert.deepEqual(d.configPaths, ["/etc/matrix-synapse/homeserver.yaml", "/etc/matrix-synapse/conf.d/"]);
  assert.equal(d.workers[0]!.configPath, "/etc/matrix-synapse/workers/fr.yaml");
  assert.equal(d.workers[0]!.unit, "matrix-synapse-worker@fr.service");
  assert.deepEqual(d.instanceMap, [{ name: "main", host: "127.0.0.1", port: 9093 }]);
  assert.deepEqual(d.enableUnits, ["matrix-synapse.service", "matrix-synapse-worker@fr.service", "matrix-synapse.target"]);
  assert.equal(d.stateDirectory, "matrix-synapse");
  assert.equal(d.hardening, true);
  assert.deepEqual(d.install, { enable: true, start: true });
});
