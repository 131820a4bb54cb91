// Checks the tar/ar/deb writers against the real tools that consume their
// output (GNU tar, dpkg-deb, dpkg-gencontrol, md5sum, lintian). Nothing is
// mocked: if the tools accept the archives here, they accept them in use.
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { gzip, tarArchive, tarGz } from "../generator/emit/tar.js";
import { arArchive } from "../generator/emit/ar.js";
import { buildDeb, formatDescription, installedSizeKiB, type DebInput } from "../generator/emit/deb.js";
import { parentDirs, type TreeFile } from "../generator/tree.js";
import { needTools, TOOL_ENV } from "./support.js";

const MTIME = 1700000000; // 2023-11-14 22:13:20 UTC
const MTIME_TEXT = "2023-11-14 22:13:20";
const PKG = "synapse-systemd-sample";

const work = mkdtempSync(join(tmpdir(), "archive-test-"));
after(() => rmSync(work, { recursive: true, force: true }));

// ---------------------------------------------------------------- tools

interface RunOpts {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: Buffer;
}

function run(cmd: string, args: string[], opts: RunOpts = {}): string {
  return runRaw(cmd, args, opts).toString("utf8");
}

function runRaw(cmd: string, args: string[], opts: RunOpts = {}): Buffer {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, env: opts.env ?? TOOL_ENV, input: opts.input, maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  assert.equal(r.status, 0, `${cmd} ${args.join(" ")} exited ${r.status}:\n${r.stderr.toString()}`);
  return r.stdout;
}

function tmpFile(name: string, content: Buffer): string {
  const dir = mkdtempSync(join(work, "f-"));
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

/** Writes a tree with exact modes (mkdir/writeFile are subject to umask). */
function writeTree(root: string, files: readonly TreeFile[]): void {
  mkdirSync(root, { recursive: true });
  chmodSync(root, 0o755);
  for (const d of parentDirs(files)) {
    mkdirSync(join(root, d), { recursive: true });
    chmodSync(join(root, d), 0o755);
  }
  for (const f of files) {
    writeFileSync(join(root, f.path), f.content);
    chmodSync(join(root, f.path), f.mode);
  }
}

// ---------------------------------------------------------------- fixtures

const file = (path: string, content: string | Buffer, mode = 0o644): TreeFile => ({
  path,
  mode,
  content: typeof content === "string" ? Buffer.from(content, "utf8") : content,
});

// 100 < length <= 255 with a split point: fits ustar prefix+name.
const USTAR_LONG =
  "usr/share/synapse-systemd-sample/workers/generic-worker-with-a-long-descriptive-name/matrix-synapse-worker@generic-worker-with-a-long-descriptive-name.service.d/override.conf";
// > 255 bytes: needs a GNU long-name record.
const GNU_LONG = `usr/share/${PKG}/${"synapse-generic-worker-".repeat(8)}x/${"federation-sender-".repeat(5)}y/hooks.conf`;

function sampleTree(): TreeFile[] {
  return [
    file("etc/systemd/system/matrix-synapse-worker@.service", "[Unit]\nDescription=Synapse worker %i\n"),
    file("usr/bin/synapse-systemd-sample", "#!/bin/sh\nexit 0\n", 0o755),
    file("etc/synapse-systemd/secret.yaml", "key: value\n", 0o640),
    file("etc/systemd/system/matrix-synapse.target", "[Unit]\nDescription=Synapse\n"),
    file(USTAR_LONG, "[Service]\nNice=5\n"),
    file(GNU_LONG, "# hooks\n"),
    file("var/lib/synapse-systemd/empty", ""),
  ];
}

const POSTINST = `#!/bin/sh
set -e
if [ "$1" = configure ] && [ -d /run/systemd/system ]; then
\tsystemctl --system daemon-reload >/dev/null || true
fi
`;

const COPYRIGHT = `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: synapse-systemd
Source: https://example.org/synapse-systemd

Files: *
Copyright: 2024 Synapse Ops <ops@example.org>
License: Apache-2.0
 On Debian systems, the full text of the Apache License 2.0 can be found in
 /usr/share/common-licenses/Apache-2.0.
`;

const CHANGELOG = `${PKG} (1.2.3) unstable; urgency=medium

  * Initial release.

 -- Synapse Ops <ops@example.org>  Tue, 14 Nov 2023 22:13:20 +0000
`;

function sampleDeb(): DebInput {
  return {
    control: {
      Package: PKG,
      Version: "1.2.3",
      Architecture: "all",
      Maintainer: "Synapse Ops <ops@example.org>",
      Section: "admin",
      Priority: "optional",
      Depends: "systemd",
      Description: formatDescription(
        "sample systemd units for Synapse workers",
        "Fixture for the archive writer tests. It ships a systemd unit, a conffile, documentation and two files whose paths do not fit a plain tar header.\n\nIt is not meant to be installed.",
      ),
    },
    scripts: [file("postinst", POSTINST, 0o755)],
    conffiles: ["/etc/synapse-systemd/sample.yaml"],
    data: [
      file("etc/synapse-systemd/sample.yaml", "# sample\nworkers: 2\n"),
      file(
        "lib/systemd/system/synapse-sample.service",
        "[Unit]\nDescription=Synapse sample\nDocumentation=https://example.org/synapse-systemd\n\n[Service]\nExecStart=/bin/true\nProtectSystem=full\nPrivateTmp=yes\n\n[Install]\nWantedBy=multi-user.target\n",
      ),
      file(`usr/share/doc/${PKG}/copyright`, COPYRIGHT),
      file(`usr/share/doc/${PKG}/changelog.gz`, gzip(Buffer.from(CHANGELOG))),
      file(USTAR_LONG, "[Service]\nNice=5\n"),
      file(GNU_LONG, "# hooks\n"),
      // Sizes around the KiB boundary exercise the Installed-Size rounding.
      file(`usr/share/${PKG}/kib-1024`, Buffer.alloc(1024, "a")),
      file(`usr/share/${PKG}/kib-1025`, Buffer.alloc(1025, "b")),
      file(`usr/share/${PKG}/empty`, ""),
    ],
    mtime: MTIME,
  };
}

/** `tar -tv` line -> [mode, owner, size, date time, name]. */
function parseListing(text: string): string[][] {
  return text
    .trimEnd()
    .split("\n")
    .map((l) => {
      const m = /^(\S+) (\S+) +(\d+) (\S+ \S+) (.*)$/.exec(l);
      assert.ok(m, `unexpected tar -tv line: ${l}`);
      return m.slice(1);
    });
}

function expectedEntries(files: readonly TreeFile[], prefix: string): { name: string; mode: string; size: number }[] {
  const perm = (m: number) =>
    [0o400, 0o200, 0o100, 0o040, 0o020, 0o010, 0o004, 0o002, 0o001].map((b, i) => (m & b ? "rwxrwxrwx"[i] : "-")).join("");
  const entries = [
    ...parentDirs(files).map((d) => ({ name: prefix + d, mode: "d" + perm(0o755), size: 0 })),
    ...files.map((f) => ({ name: prefix + f.path, mode: "-" + perm(f.mode), size: f.content.length })),
  ].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (prefix === "./") entries.unshift({ name: "./", mode: "d" + perm(0o755), size: 0 });
  return entries;
}

// ---------------------------------------------------------------- tar

describe("tarArchive", () => {
  test("lists directories then contents, sorted, root:root, fixed mtime, given modes", (t) => {
    if (!needTools(t, "tar")) return;
    const files = sampleTree();
    const p = tmpFile("plain.tar", tarArchive(files, { mtime: MTIME }));
    const rows = parseListing(run("tar", ["--full-time", "-tvf", p]));
    const want = expectedEntries(files, "");
    assert.deepEqual(
      rows,
      want.map((e) => [e.mode, "root/root", String(e.size), MTIME_TEXT, e.name]),
    );
    const numeric = parseListing(run("tar", ["--numeric-owner", "-tvf", p]));
    assert.ok(numeric.every((r) => r[1] === "0/0"), "uid/gid must be 0/0");
  });

  test('tarGz with prefix "./" starts with a "./" entry and gunzips with tar -z', (t) => {
    if (!needTools(t, "tar")) return;
    const files = sampleTree();
    const p = tmpFile("prefixed.tar.gz", tarGz(files, { mtime: MTIME, prefix: "./" }));
    const rows = parseListing(run("tar", ["--full-time", "-tvzf", p]));
    assert.deepEqual(
      rows,
      expectedEntries(files, "./").map((e) => [e.mode, "root/root", String(e.size), MTIME_TEXT, e.name]),
    );
  });

  test("paths over 100 and over 255 bytes round-trip through tar -t and tar -x", (t) => {
    if (!needTools(t, "tar")) return;
    assert.ok(USTAR_LONG.length > 100 && USTAR_LONG.length <= 255, `${USTAR_LONG.length}`);
    assert.ok(GNU_LONG.length > 255, `${GNU_LONG.length}`);
    const files = sampleTree();
    const p = tmpFile("long.tar", tarArchive(files, { mtime: MTIME }));
    const names = run("tar", ["-tf", p]).trimEnd().split("\n");
    assert.ok(names.includes(USTAR_LONG) && names.includes(GNU_LONG));
    assert.ok(names.includes(dirname(GNU_LONG) + "/"), "long directory keeps its trailing slash");
    const out = mkdtempSync(join(work, "x-"));
    run("tar", ["-xf", p, "-C", out]);
    for (const f of files) {
      assert.deepEqual(readFileSync(join(out, f.path)), f.content, f.path);
      assert.equal(statSync(join(out, f.path)).mtimeMs, MTIME * 1000, f.path);
    }
  });

  test("is byte-identical across runs and input orders; ends with two zero blocks", () => {
    const files = sampleTree();
    const a = tarArchive(files, { mtime: MTIME, prefix: "./" });
    const b = tarArchive([...files].reverse(), { mtime: MTIME, prefix: "./" });
    assert.ok(a.equals(b));
    assert.equal(a.length % 512, 0);
    assert.ok(a.subarray(a.length - 1024).equals(Buffer.alloc(1024)));
    assert.ok(tarGz(files, { mtime: MTIME }).equals(tarGz([...files].reverse(), { mtime: MTIME })));
  });

  test("rejects trees it cannot archive faithfully", () => {
    const ok = file("a/b", "x");
    const bad: [string, TreeFile[]][] = [
      ["absolute", [file("/etc/x", "")]],
      ["dot-dot", [file("a/../b", "")]],
      ["empty segment", [file("a//b", "")]],
      ["duplicate", [ok, ok]],
      ["file and directory", [ok, file("a", "")]],
      ["mode with file type bits", [file("x", "", 0o100644)]],
    ];
    for (const [why, files] of bad) assert.throws(() => tarArchive(files, { mtime: 0 }), Error, why);
    assert.throws(() => tarArchive([ok], { mtime: -1 }));
    assert.throws(() => tarArchive([ok], { mtime: 1.5 }));
  });
});

describe("gzip", () => {
  test("header has MTIME 0, no name, XFL 2 (max compression), OS 3 (Unix)", () => {
    const gz = gzip(Buffer.from("hello\n"));
    // ID1 ID2 CM FLG MTIME(4) XFL OS: exactly what `gzip -9n` writes on Linux.
    assert.deepEqual([...gz.subarray(0, 10)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3]);
  });

  test("gunzip -t accepts it and it matches what gzip -9n writes after the header", (t) => {
    if (!needTools(t, "gzip")) return;
    const data = Buffer.from("synapse ".repeat(500));
    const p = tmpFile("x.gz", gzip(data));
    run("gzip", ["-t", p]);
    assert.deepEqual(runRaw("gzip", ["-dc", p]), data);
    // Same header bytes as GNU gzip; the deflate streams may differ (zlib builds differ).
    const theirs = tmpFile("y", data);
    run("gzip", ["-9n", theirs]);
    assert.deepEqual(readFileSync(theirs + ".gz").subarray(0, 10), gzip(data).subarray(0, 10));
  });
});

// ---------------------------------------------------------------- ar

describe("arArchive", () => {
  test("writes dpkg-deb's member header layout and pads odd members with a newline", () => {
    const ar = arArchive(
      [
        { name: "debian-binary", content: Buffer.from("2.0\n") },
        { name: "odd", content: Buffer.from("abc") },
        { name: "next", content: Buffer.from("z") },
      ],
      MTIME,
    );
    const text = ar.toString("latin1");
    const header = (name: string, size: number) =>
      name.padEnd(16) + String(MTIME).padEnd(12) + "0     0     100644  " + String(size).padEnd(10) + "`\n";
    assert.equal(
      text,
      "!<arch>\n" + header("debian-binary", 4) + "2.0\n" + header("odd", 3) + "abc\n" + header("next", 1) + "z\n",
    );
  });

  test("ar(1) reads the members back", (t) => {
    if (!needTools(t, "ar")) return;
    const p = tmpFile("x.ar", arArchive([{ name: "one", content: Buffer.from("1") }, { name: "two.tar.gz", content: Buffer.from("22") }], MTIME));
    assert.equal(run("ar", ["t", p]), "one\ntwo.tar.gz\n");
    assert.equal(run("ar", ["p", p, "two.tar.gz"]), "22");
  });

  test("rejects names dpkg would misread", () => {
    for (const name of ["", "a/b", "has space", "seventeen-chars-x"]) {
      assert.throws(() => arArchive([{ name, content: Buffer.alloc(0) }], 0), Error, name);
    }
  });
});

// ---------------------------------------------------------------- deb

describe("buildDeb", () => {
  const built = buildDeb(sampleDeb());
  const debPath = join(mkdtempSync(join(work, "deb-")), built.filename);
  writeFileSync(debPath, built.deb);

  test("names the file Package_Version_Architecture.deb, without the epoch", () => {
    assert.equal(built.filename, `${PKG}_1.2.3_all.deb`);
    const input = sampleDeb();
    input.control.Version = "2:1.2.3-1";
    assert.equal(buildDeb(input).filename, `${PKG}_1.2.3-1_all.deb`);
  });

  test("control text: given order, Installed-Size after Maintainer, formatted Description", () => {
    assert.equal(
      built.controlText,
      `Package: ${PKG}
Version: 1.2.3
Architecture: all
Maintainer: Synapse Ops <ops@example.org>
Installed-Size: ${installedSizeKiB(sampleDeb().data)}
Section: admin
Priority: optional
Depends: systemd
Description: sample systemd units for Synapse workers
 Fixture for the archive writer tests. It ships a systemd unit, a conffile,
 documentation and two files whose paths do not fit a plain tar header.
 .
 It is not meant to be installed.
`,
    );
  });

  test("dpkg-deb -f and -I read the control area", (t) => {
    if (!needTools(t, "dpkg-deb")) return;
    assert.equal(run("dpkg-deb", ["-f", debPath]), built.controlText);
    const info = run("dpkg-deb", ["-I", debPath]);
    assert.match(info, /new Debian package, version 2\.0\./);
    for (const member of ["conffiles", "control", "md5sums", "postinst"]) {
      assert.match(info, new RegExp(`\\s${member}\\s`), member);
    }
    assert.match(info, /\* +postinst +#!\/bin\/sh/, "postinst is listed as executable");
  });

  test("--ctrl-tarfile and --fsys-tarfile list the expected entries, root-owned, fixed mtime", (t) => {
    if (!needTools(t, "dpkg-deb", "tar")) return;
    const input = sampleDeb();
    const ctrl = parseListing(run("tar", ["--full-time", "-tvf", "-"], { input: runRaw("dpkg-deb", ["--ctrl-tarfile", debPath]) }));
    assert.deepEqual(ctrl.map((r) => [r[0], r[1], r[3], r[4]]), [
      ["drwxr-xr-x", "root/root", MTIME_TEXT, "./"],
      ["-rw-r--r--", "root/root", MTIME_TEXT, "./conffiles"],
      ["-rw-r--r--", "root/root", MTIME_TEXT, "./control"],
      ["-rw-r--r--", "root/root", MTIME_TEXT, "./md5sums"],
      ["-rwxr-xr-x", "root/root", MTIME_TEXT, "./postinst"],
    ]);
    const data = parseListing(run("tar", ["--full-time", "-tvf", "-"], { input: runRaw("dpkg-deb", ["--fsys-tarfile", debPath]) }));
    assert.deepEqual(
      data,
      expectedEntries(input.data, "./").map((e) => [e.mode, "root/root", String(e.size), MTIME_TEXT, e.name]),
    );
  });

  test("dpkg-deb -c shows the long paths intact", (t) => {
    if (!needTools(t, "dpkg-deb")) return;
    const names = parseListing(run("dpkg-deb", ["-c", debPath])).map((r) => r[4]);
    assert.ok(names.includes("./" + USTAR_LONG), "ustar prefix path");
    assert.ok(names.includes("./" + GNU_LONG), "GNU long-name path");
  });

  test("dpkg-deb -x/-e extract the data with modes and contents; md5sum -c accepts md5sums", (t) => {
    if (!needTools(t, "dpkg-deb", "md5sum")) return;
    const input = sampleDeb();
    const root = mkdtempSync(join(work, "x-"));
    const ctrl = mkdtempSync(join(work, "e-"));
    run("dpkg-deb", ["-x", debPath, root]);
    run("dpkg-deb", ["-e", debPath, ctrl]);
    for (const f of input.data) {
      assert.deepEqual(readFileSync(join(root, f.path)), f.content, f.path);
      assert.equal(statSync(join(root, f.path)).mode & 0o7777, f.mode, f.path);
    }
    assert.equal(readFileSync(join(ctrl, "conffiles"), "utf8"), "/etc/synapse-systemd/sample.yaml\n");
    assert.equal(readFileSync(join(ctrl, "postinst"), "utf8"), POSTINST);
    const md5sums = readFileSync(join(ctrl, "md5sums"), "utf8");
    const listed = md5sums.trimEnd().split("\n").map((l) => l.slice(34));
    // Conffiles are left out, as dh_md5sums does: dpkg tracks their sums in its status file.
    assert.deepEqual(listed, input.data.map((f) => f.path).filter((p) => p !== "etc/synapse-systemd/sample.yaml").sort());
    run("md5sum", ["--check", "--strict", "--quiet", join(ctrl, "md5sums")], { cwd: root });
  });

  // dpkg-deb -x and -c go through GNU tar; dpkg --unpack uses dpkg's own tar
  // reader (lib/dpkg/tarfn.c), which is the one that matters on install and
  // the one without pax support. Unpack into a scratch root with its own
  // admin dir; --log=/dev/null keeps the host's dpkg.log untouched.
  test("dpkg --unpack into a scratch root extracts every file, long paths included", (t) => {
    if (!needTools(t, "dpkg")) return;
    const input = sampleDeb();
    const root = mkdtempSync(join(work, "root-"));
    const admin = join(root, "var/lib/dpkg");
    mkdirSync(join(admin, "updates"), { recursive: true });
    mkdirSync(join(admin, "info"), { recursive: true });
    writeFileSync(join(admin, "status"), "");
    run("dpkg", [`--root=${root}`, `--admindir=${admin}`, "--log=/dev/null", "--force-not-root", "--force-depends", "--unpack", debPath]);
    for (const f of input.data) {
      // A new conffile is unpacked as .dpkg-new; --configure would rename it.
      const onDisk = input.conffiles.includes("/" + f.path) ? f.path + ".dpkg-new" : f.path;
      assert.deepEqual(readFileSync(join(root, onDisk)), f.content, f.path);
      assert.equal(statSync(join(root, onDisk)).mode & 0o7777, f.mode, f.path);
    }
    const status = readFileSync(join(admin, "status"), "utf8");
    assert.match(status, /^Status: install ok unpacked$/m);
    assert.match(status, /^Conffiles:\n \/etc\/synapse-systemd\/sample\.yaml newconffile$/m);
  });

  test("matches dpkg-deb --build -Zgzip of the same tree", (t) => {
    if (!needTools(t, "dpkg-deb", "tar", "md5sum")) return;
    const input = sampleDeb();
    // The reference package is assembled from the inputs, not from our output,
    // with md5sums made the way dh_md5sums makes them.
    const root = join(mkdtempSync(join(work, "ref-")), "pkg");
    writeTree(root, input.data);
    mkdirSync(join(root, "DEBIAN"), { mode: 0o755 });
    chmodSync(join(root, "DEBIAN"), 0o755);
    const sums = run("md5sum", input.data.map((f) => f.path).filter((p) => p !== "etc/synapse-systemd/sample.yaml").sort(), { cwd: root });
    const control: [string, string, number][] = [
      ["control", built.controlText, 0o644],
      ["conffiles", input.conffiles.join("\n") + "\n", 0o644],
      ["md5sums", sums, 0o644],
      ["postinst", POSTINST, 0o755],
    ];
    for (const [name, text, mode] of control) {
      writeFileSync(join(root, "DEBIAN", name), text);
      chmodSync(join(root, "DEBIAN", name), mode);
    }
    const refPath = join(dirname(root), "ref.deb");
    // SOURCE_DATE_EPOCH makes dpkg-deb clamp every mtime to MTIME.
    run("dpkg-deb", ["--root-owner-group", "-Zgzip", "--build", root, refPath], {
      env: { ...TOOL_ENV, SOURCE_DATE_EPOCH: String(MTIME) },
    });

    const withoutSizes = (info: string) => info.split("\n").filter((l) => !/^ size \d+ bytes: control archive=/.test(l));
    assert.deepEqual(withoutSizes(run("dpkg-deb", ["-I", debPath])), withoutSizes(run("dpkg-deb", ["-I", refPath])));
    assert.equal(run("dpkg-deb", ["-f", debPath]), run("dpkg-deb", ["-f", refPath]));
    assert.equal(run("dpkg-deb", ["-c", debPath]), run("dpkg-deb", ["-c", refPath]));
    const ctrlList = (p: string) => run("tar", ["--full-time", "-tvf", "-"], { input: runRaw("dpkg-deb", ["--ctrl-tarfile", p]) });
    assert.equal(ctrlList(debPath), ctrlList(refPath));

    // Same ar framing: identical debian-binary member header and member names.
    const ref = readFileSync(refPath);
    assert.deepEqual(built.deb.subarray(0, 8 + 60 + 4), ref.subarray(0, 8 + 60 + 4));
    const memberNames = (deb: Buffer) => {
      const names: string[] = [];
      for (let off = 8; off < deb.length; ) {
        names.push(deb.toString("latin1", off, off + 16).trimEnd());
        const size = Number(deb.toString("latin1", off + 48, off + 58).trim());
        off += 60 + size + (size % 2);
      }
      return names;
    };
    assert.deepEqual(memberNames(built.deb), memberNames(ref));
    assert.deepEqual(memberNames(built.deb), ["debian-binary", "control.tar.gz", "data.tar.gz"]);
  });

  test("Installed-Size equals what dpkg-gencontrol computes for the tree", (t) => {
    if (!needTools(t, "dpkg-gencontrol")) return;
    const input = sampleDeb();
    const dir = mkdtempSync(join(work, "gencontrol-"));
    writeTree(join(dir, "pkg"), input.data);
    mkdirSync(join(dir, "src", "debian"), { recursive: true });
    writeFileSync(join(dir, "src", "debian", "control"), `Source: ${PKG}\nMaintainer: A <a@example.org>\n\nPackage: ${PKG}\nArchitecture: all\nDescription: x\n y\n`);
    writeFileSync(join(dir, "src", "debian", "changelog"), CHANGELOG);
    const out = run("dpkg-gencontrol", [`-p${PKG}`, `-P${join(dir, "pkg")}`, "-O"], { cwd: join(dir, "src") });
    const theirs = /^Installed-Size: (\d+)$/m.exec(out)?.[1];
    assert.equal(Number(theirs), installedSizeKiB(input.data));
    assert.match(built.controlText, new RegExp(`^Installed-Size: ${theirs}$`, "m"));
  });

  test("is byte-identical across runs and input orders", () => {
    const input = sampleDeb();
    const again = buildDeb(sampleDeb());
    assert.ok(again.deb.equals(built.deb));
    const shuffled = buildDeb({ ...input, data: [...input.data].reverse(), conffiles: [...input.conffiles].reverse() });
    assert.ok(shuffled.deb.equals(built.deb));
    // The mtime is an input, not the clock.
    assert.ok(!buildDeb({ ...input, mtime: MTIME + 1 }).deb.equals(built.deb));
  });

  test("rejects inputs dpkg-deb would refuse or misread", () => {
    const cases: [string, (d: DebInput) => void][] = [
      ["missing Maintainer", (d) => delete d.control.Maintainer],
      ["Installed-Size given", (d) => (d.control["Installed-Size"] = "1")],
      ["field twice by case", (d) => (d.control.package = PKG)],
      ["blank continuation line", (d) => (d.control.Description = "x\n\n y")],
      ["unindented continuation", (d) => (d.control.Description = "x\ny")],
      ["bad package name", (d) => (d.control.Package = "Bad_Name")],
      ["bad version", (d) => (d.control.Version = "v1")],
      ["conffile not shipped", (d) => (d.conffiles = ["/etc/missing"])],
      ["conffile not absolute", (d) => (d.conffiles = ["etc/synapse-systemd/sample.yaml"])],
      ["script not executable", (d) => (d.scripts = [file("postinst", POSTINST, 0o644)])],
      ["unknown script", (d) => (d.scripts = [file("foo", POSTINST, 0o755)])],
      ["DEBIAN in data", (d) => (d.data = [...d.data, file("DEBIAN/control", "")])],
    ];
    for (const [why, mutate] of cases) {
      const d = sampleDeb();
      mutate(d);
      assert.throws(() => buildDeb(d), Error, why);
    }
  });
});

describe("formatDescription", () => {
  test("wraps paragraphs at 79 columns, keeps indented lines, separates with ' .'", () => {
    const text = formatDescription(
      "short synopsis",
      `${"word ".repeat(30)}\n\nSecond paragraph.\n  verbatim   line\nafter`,
    );
    const lines = text.split("\n");
    assert.equal(lines[0], "short synopsis");
    assert.ok(lines.slice(1).every((l) => l.startsWith(" ") && l.length <= 79), text);
    assert.deepEqual(lines.slice(-4), [" .", " Second paragraph.", "   verbatim   line", " after"]);
  });
});

// ---------------------------------------------------------------- lintian

// Tags the sample is expected to carry; they are about the fixture's content
// (a systemd unit without a sysvinit script), not about how it is packed.
const LINTIAN_EXPECTED = new Set(["package-supports-alternative-init-but-no-init.d-script"]);

test("lintian finds nothing wrong with the packing of a sample package", { timeout: 120_000 }, (t) => {
  if (!needTools(t, "lintian")) return;
  const built = buildDeb(sampleDeb());
  const p = join(mkdtempSync(join(work, "lintian-")), built.filename);
  writeFileSync(p, built.deb);
  // --pedantic shows everything; a non-zero exit only means errors were found.
  const r = spawnSync("lintian", ["--pedantic", "--display-info", "--display-experimental", "--no-tag-display-limit", p], {
    env: TOOL_ENV,
    encoding: "utf8",
  });
  if (r.error) throw r.error;
  const output = r.stdout.trim();
  for (const line of (output || "(no tags)").split("\n")) t.diagnostic(`lintian: ${line}`);
  const tags = output
    .split("\n")
    .filter((l) => /^[EWIPXO]: /.test(l))
    .map((l) => l.split(/\s+/)[2] ?? l);
  const unexpected = tags.filter((tag) => !LINTIAN_EXPECTED.has(tag));
  assert.deepEqual(unexpected, [], `unexpected lintian tags:\n${output}`);
  assert.equal(r.status, 0, `lintian exited ${r.status}:\n${r.stderr}`);
});
