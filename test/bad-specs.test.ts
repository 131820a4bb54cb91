// Every kind of bad input, with the exact place and words the user sees.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { validateSpecText } from "../generator/spec/validate.js";
import { cli } from "./support.js";

interface Expect {
  line: number;
  col: number;
  path: string;
  message: string | RegExp;
  hint?: string | RegExp;
}

const w = (name: string, port = 8083) => `  - name: ${name}\n    type: federation_reader\n    listeners: [{ port: ${port}, resources: [federation] }]\n`;

const CASES: { name: string; spec: string; expect: Expect[] }[] = [
  {
    name: "YAML syntax error",
    spec: "workers:\n  - name: a\n   type: [federation_reader\n",
    expect: [
      { line: 3, col: 1, path: "", message: "YAML syntax error: Sequence item without - indicator", hint: /indentation/ },
      { line: 4, col: 1, path: "", message: /^YAML syntax error: Flow sequence in block collection must be sufficiently indented/ },
    ],
  },
  {
    name: "duplicate YAML key",
    spec: "hardening: true\nhardening: false\n",
    expect: [{ line: 2, col: 1, path: "", message: /^YAML syntax error: Map keys must be unique/, hint: "each key may appear once in a mapping" }],
  },
  {
    name: "two YAML documents",
    spec: "hardening: true\n---\nhardening: false\n",
    expect: [{ line: 2, col: 1, path: "", message: "the spec must be a single YAML document" }],
  },
  {
    name: "an alias bomb",
    spec: "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n",
    expect: [{ line: 1, col: 1, path: "", message: /^the spec cannot be read: Excessive alias count/, hint: "use fewer YAML aliases (*name)" }],
  },
  {
    name: "not a mapping",
    spec: "- a\n- b\n",
    expect: [{ line: 1, col: 1, path: "", message: /must be a YAML mapping/ }],
  },
  {
    name: "unknown key with a suggestion",
    spec: "hardenning: true\n",
    expect: [{ line: 1, col: 1, path: "hardenning", message: 'unknown key "hardenning"', hint: 'did you mean "hardening"?' }],
  },
  {
    name: "unknown nested key",
    spec: "workers:\n" + w("a") + "    lsteners: []\n",
    expect: [{ line: 5, col: 5, path: "workers[0].lsteners", message: 'unknown key "lsteners"', hint: 'did you mean "listeners"?' }],
  },
  {
    name: "wrong types",
    spec: "hardening: yes\nworkers:\n  - name: 12\n    type: federation_reader\n",
    expect: [
      { line: 1, col: 12, path: "hardening", message: 'expected true or false, got the string "yes"' },
      { line: 3, col: 11, path: "workers[0].name", message: "expected a string, got the number 12" },
    ],
  },
  {
    name: "unknown worker type",
    spec: "workers:\n  - name: a\n    type: federation_readr\n",
    expect: [{ line: 3, col: 11, path: "workers[0].type", message: /^"federation_readr" is not one of: federation_reader, / }],
  },
  {
    name: "worker names that are not instance or file names",
    spec:
      "workers:\n" +
      '  - { name: "../x", type: federation_reader }\n' +
      '  - { name: "a b", type: federation_reader }\n' +
      '  - { name: "a%i", type: federation_reader }\n' +
      '  - { name: "a\\nExecStart=/bin/sh", type: federation_reader }\n' +
      '  - { name: "main", type: federation_reader }\n',
    expect: [
      { line: 2, col: 13, path: "workers[0].name", message: /^"\.\.\/x" is not a valid worker name/ },
      { line: 3, col: 13, path: "workers[1].name", message: /^"a b" is not a valid worker name/ },
      { line: 4, col: 13, path: "workers[2].name", message: /^"a%i" is not a valid worker name/ },
      { line: 5, col: 13, path: "workers[3].name", message: /^"a\\nExecStart=\/bin\/sh" is not a valid worker name/ },
      { line: 6, col: 13, path: "workers[4].name", message: /^"main" is reserved/ },
    ],
  },
  {
    name: "duplicate worker names",
    spec: "workers:\n" + w("a", 8083) + w("a", 8084),
    expect: [{ line: 5, col: 11, path: "workers[1].name", message: 'duplicate worker name "a"', hint: /already used by workers\[0\] \(line 2\)/ }],
  },
  {
    name: "two listeners on one port",
    spec: "workers:\n" + w("a", 8083) + w("b", 8083),
    expect: [{ line: 7, col: 25, path: "workers[1].listeners[0].port", message: "port 8083 is already used by workers[0].listeners[0].port (line 4)" }],
  },
  {
    name: "a worker on the master's port",
    spec: "workers:\n" + w("a", 8008),
    expect: [{ line: 4, col: 25, path: "workers[0].listeners[0].port", message: /^port 8008 is already used by master\.listeners\[0\]\.port/ }],
  },
  {
    name: "two listeners on one socket",
    spec:
      "workers:\n  - name: a\n    type: client_reader\n    listeners:\n" +
      "      - { path: /run/matrix-synapse/a/c.sock, resources: [client] }\n" +
      "      - { path: /run/matrix-synapse/a/c.sock, resources: [client] }\n",
    expect: [{ line: 6, col: 17, path: "workers[0].listeners[1].path", message: /^socket \/run\/matrix-synapse\/a\/c\.sock is already used by workers\[0\]\.listeners\[0\]\.path/ }],
  },
  {
    name: "listener with both port and path, and one with neither",
    spec:
      "workers:\n  - name: a\n    type: client_reader\n    listeners:\n" +
      "      - { port: 8090, path: /run/matrix-synapse/a/x.sock, resources: [client] }\n" +
      "      - { resources: [client] }\n",
    expect: [
      { line: 5, col: 9, path: "workers[0].listeners[0]", message: "give either port or path, not both" },
      { line: 6, col: 9, path: "workers[0].listeners[1]", message: "needs a port (TCP) or a path (unix socket)" },
    ],
  },
  {
    name: "hardened sockets outside the process's runtime directory",
    spec:
      "master:\n  replication: { path: /run/synapse/replication.sock }\n" +
      "workers:\n  - name: a\n    type: client_reader\n    listeners: [{ path: /run/matrix-synapse/c.sock, resources: [client] }]\n",
    expect: [
      { line: 2, col: 24, path: "master.replication.path", message: /^must be directly in \/run\/matrix-synapse\/: with hardening on/ },
      { line: 6, col: 25, path: "workers[0].listeners[0].path", message: /^must be directly in \/run\/matrix-synapse\/a\/: with hardening on, that runtime directory is the only place a can create a socket$/ },
    ],
  },
  {
    name: "resource the type does not serve",
    spec: "workers:\n  - name: a\n    type: synchrotron\n    listeners: [{ port: 8090, resources: [federation] }]\n",
    expect: [{ line: 4, col: 43, path: "workers[0].listeners[0].resources[0]", message: 'a synchrotron worker does not serve the "federation" resource' }],
  },
  {
    name: "daemonize anywhere",
    spec: "daemonize: true\nworkers:\n  - name: a\n    type: federation_reader\n    config:\n      worker_daemonize: true\n",
    expect: [
      { line: 1, col: 1, path: "daemonize", message: /^daemonize must not be set: .*"must be omitted or set to false"/ },
      { line: 6, col: 7, path: "workers[0].config.worker_daemonize", message: /^worker_daemonize must not be set/ },
    ],
  },
  {
    name: "keys the tool writes itself",
    spec: "workers:\n  - name: a\n    type: federation_reader\n    config:\n      worker_app: synapse.app.homeserver\n",
    expect: [{ line: 5, col: 7, path: "workers[0].config.worker_app", message: "worker_app is written by synapse-systemd and cannot be set here" }],
  },
  {
    name: "hostile paths",
    spec: 'synapse:\n  python: "/opt/x y/python"\n  workers_dir: "/etc/$(reboot)"\n  config_paths: ["/etc/../x.yaml"]\n',
    expect: [
      { line: 2, col: 11, path: "synapse.python", message: /^"\/opt\/x y\/python" must be an absolute path/ },
      { line: 3, col: 16, path: "synapse.workers_dir", message: /^"\/etc\/\$\(reboot\)" must be an absolute path/ },
      { line: 4, col: 18, path: "synapse.config_paths[0]", message: /must not contain '\.' or '\.\.' segments/ },
    ],
  },
  {
    name: "shared config outside every config directory",
    spec: "synapse:\n  shared_config: /etc/elsewhere/shared.yaml\n",
    expect: [{ line: 2, col: 18, path: "synapse.shared_config", message: /is not inside any directory of synapse\.config_paths/ }],
  },
  {
    name: "workers dir that the master would read",
    spec: "synapse:\n  workers_dir: /etc/matrix-synapse/conf.d\n",
    expect: [{ line: 2, col: 16, path: "synapse.workers_dir", message: /is also a config_paths directory/ }],
  },
  {
    name: "replication with both port and path",
    spec: "master:\n  replication: { port: 9093, path: /run/matrix-synapse/main.sock }\n",
    expect: [{ line: 2, col: 16, path: "master.replication", message: "give either port or path, not both" }],
  },
  {
    name: "package metadata",
    spec: 'package:\n  name: Bad_Name\n  version: "v1"\n  maintainer: nobody\n',
    expect: [
      { line: 2, col: 9, path: "package.name", message: /must be a Debian package name/ },
      { line: 3, col: 12, path: "package.version", message: /must be a Debian native version/ },
      { line: 4, col: 15, path: "package.maintainer", message: /must look like 'Full Name <email@example\.org>'/ },
    ],
  },
  {
    name: "a Redis socket hardening hides",
    spec: "redis: { path: /tmp/redis.sock }\n",
    expect: [{ line: 1, col: 16, path: "redis.path", message: /^is in a temporary directory, which PrivateTmp=true \(hardening\) hides from Synapse$/ }],
  },
  {
    name: "the name of Synapse's own package",
    spec: "package: { name: matrix-synapse-py3 }\n",
    expect: [{ line: 1, col: 18, path: "package.name", message: /^"matrix-synapse-py3" is the name of Synapse's own package/ }],
  },
  {
    name: "mode written as a decimal number",
    spec: "workers:\n  - name: a\n    type: client_reader\n    listeners: [{ path: /run/matrix-synapse/a/c.sock, mode: 660, resources: [client] }]\n",
    expect: [{ line: 4, col: 61, path: "workers[0].listeners[0].mode", message: "expected a string, got the number 660" }],
  },
];

for (const c of CASES) {
  test(`bad spec: ${c.name}`, () => {
    const r = validateSpecText("bad.yaml", c.spec);
    assert.equal(r.ok, false, "the spec should be rejected");
    if (r.ok) return;
    const got = r.diagnostics.map((d) => ({ line: d.line, col: d.col, path: d.path, message: d.message, hint: d.hint }));
    assert.equal(got.length, c.expect.length, `diagnostics:\n${JSON.stringify(got, null, 2)}`);
    c.expect.forEach((e, i) => {
      const d = got[i]!;
      assert.deepEqual({ line: d.line, col: d.col, path: d.path }, { line: e.line, col: e.col, path: e.path }, JSON.stringify(d));
      if (typeof e.message === "string") assert.equal(d.message, e.message);
      else assert.match(d.message, e.message);
      if (e.hint !== undefined) {
        if (typeof e.hint === "string") assert.equal(d.hint, e.hint);
        else assert.match(d.hint ?? "", e.hint);
      }
    });
  });
}

test("the CLI reports every problem with file:line:col, exits 1 and writes nothing", () => {
  const dir = mkdtempSync(join(tmpdir(), "bad-"));
  const out = join(dir, "out");
  const spec = "hardenning: true\nworkers:\n" + w("a", 8083) + w("a", 8083) + '  - { name: "../x", type: federation_reader }\n';
  const r = cli(["build", "-", "--out", out], { input: spec });
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stdout, "");
  const lines = r.stderr.split("\n").filter((l) => l.startsWith("<stdin>:"));
  assert.deepEqual(lines, [
    '<stdin>:1:1: hardenning: unknown key "hardenning"',
    '<stdin>:6:11: workers[1].name: duplicate worker name "a"',
    "<stdin>:8:25: workers[1].listeners[0].port: port 8083 is already used by workers[0].listeners[0].port (line 5)",
    `<stdin>:9:13: workers[2].name: "../x" is not a valid worker name: it becomes a systemd instance name and a file name, so use 1-63 letters, digits, '_' or '-', starting with a letter or digit`,
  ]);
  assert.match(r.stderr, /4 problems found; nothing was written\./);
  assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
  assert.equal(existsSync(out), false, "no output directory");
  assert.deepEqual(readdirSync(dir), [], "no temp directory left behind");
});
