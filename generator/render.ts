// Deployment → in-memory files. Pure: the templates are handed in, nothing is read
// or written here.
import { gzip } from "./emit/tar.js";
import type { Deployment } from "./model.js";
import { TAR_UNIT_DIR } from "./model.js";
import type { Templates } from "./templates.js";
import { textFile, sortTree, type TreeFile } from "./tree.js";
import { manifestText } from "./manifest.js";

export interface Rendered {
  /** The staging tree, laid at the seed's paths: exactly what the tarball holds. */
  readonly tree: readonly TreeFile[];
  /** Debian maintainer scripts: preinst, postinst, prerm, postrm. */
  readonly debianScripts: readonly TreeFile[];
  /** Files only the .deb ships (usr/share/doc/<package>/...). */
  readonly debianDocs: readonly TreeFile[];
}

const rel = (abs: string) => abs.replace(/^\/+/, "");

export function render(d: Deployment, t: Templates): Rendered {
  const ctx = { d };
  const units = rel(TAR_UNIT_DIR);
  const files: TreeFile[] = [
    textFile(`${units}/${d.unit.master}`, t.render("systemd/matrix-synapse.service.hbs", ctx)),
    textFile(`${units}/${d.unit.workerTemplate}`, t.render("systemd/matrix-synapse-worker@.service.hbs", ctx)),
    textFile(`${units}/${d.unit.target}`, t.render("systemd/matrix-synapse.target.hbs", ctx)),
    textFile(rel(d.sharedConfig), t.render("synapse/shared.yaml.hbs", ctx)),
    ...d.workers.map((w) => textFile(rel(w.configPath), t.render("synapse/worker.yaml.hbs", { d, w }))),
    textFile(`${rel(d.libDir)}/install`, t.render("scripts/install.sh.hbs", ctx), 0o755),
    textFile(`${rel(d.libDir)}/uninstall`, t.render("scripts/uninstall.sh.hbs", ctx), 0o755),
  ];
  // Routing for a reverse proxy, shipped for the admin to include, never active by itself.
  if (d.masterUpstream !== undefined) {
    files.push(
      textFile(`usr/share/${d.pkg.name}/nginx/upstreams.nginx`, t.render("nginx/upstreams.nginx.hbs", ctx)),
      textFile(`usr/share/${d.pkg.name}/nginx/locations.nginx`, t.render("nginx/locations.nginx.hbs", ctx)),
    );
  }
  if (d.hardening) {
    files.push(
      textFile(`${units}/${d.unit.master}.d/override-hardened.conf`, t.render("systemd/override-hardened.conf.hbs", ctx)),
      textFile(
        `${units}/${d.unit.workerTemplate}.d/override-hardened-worker.conf`,
        t.render("systemd/override-hardened-worker.conf.hbs", ctx),
      ),
    );
  }
  const manifestPath = `${rel(d.libDir)}/MANIFEST`;
  const tree = sortTree(files);
  const withManifest = sortTree([...tree, textFile(manifestPath, manifestText(tree, d.provenance))]);

  const scripts = ["preinst", "postinst", "prerm", "postrm"].map((s) =>
    textFile(s, t.render(`debian/${s}.hbs`, ctx), 0o755),
  );
  const doc = `usr/share/doc/${d.pkg.name}`;
  const docs = [
    textFile(`${doc}/copyright`, t.render("debian/copyright.hbs", ctx)),
    textFile(`usr/share/lintian/overrides/${d.pkg.name}`, t.render("debian/lintian-overrides.hbs", ctx)),
    // Byte-identical to gzip -9n, as lintian wants.
    { path: `${doc}/changelog.gz`, mode: 0o644, content: gzip(Buffer.from(t.render("debian/changelog.hbs", ctx))) },
  ];
  return { tree: withManifest, debianScripts: scripts, debianDocs: docs };
}
