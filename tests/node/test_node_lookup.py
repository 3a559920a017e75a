#!/usr/bin/python3
"""Every upgrade reference sbpipe prints is one a Talos 1.13/1.14 node finds in its store.

`sbpipe run` builds a release with the imager model (Talos 1.14, `dir:` target), pushing the
installer to a loopback docker-registry. Then every `talosctl upgrade --image` argument sbpipe
tells a person or a machine goes to two judges:

- the node's pull-then-lookup path as a model written from Talos's source (talos_lookup.py says
  which files and what it leaves out), and
- Debian's containerd: started here on a private socket, it pulls the installer from the
  registry by the name the node's image service pulls (the model's normalised reference), the
  node's aliases are added with `ctr images tag`, and the exact string talosctl sent must be one
  of the names in the store, naming the digest that was pushed.

The places: the release notes' `Upgrade:` line (written by run's finalize, and by `finalize
--installer-ref` given the reference the Argo finalize step passes), run's summary `upgrade` row
and its JSON `upgrade` field, and the commands in README.md and docs/*.md. The notes'
`Installer:` line keeps `REPO:TAG@sha256:...` for people: both judges must find that a node given
that form fails, as Talos does ("not found in containerd store").
Usage: test_node_lookup.py SBPIPE SOURCE_DIR
"""

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "boot"))

import talos_lookup  # noqa: E402
from tools import Registry, make_owner_keys, run, stop_process  # noqa: E402

SBPIPE = sys.argv.pop(1)
SOURCE = sys.argv.pop(1)
MODEL = os.path.join(SOURCE, "scripts", "standin-imager")
VERSION = "v1.14.0"
UPGRADE = re.compile(r"talosctl upgrade[^`\n]*?--image[ =]([^\s`]+)")


class Containerd:
    """Debian's containerd on a private socket and root, stopped by PID."""

    def __init__(self, directory):
        os.makedirs(directory)
        self.socket = os.path.join(directory, "containerd.sock")
        config = os.path.join(directory, "config.toml")
        with open(config, "w") as f:
            f.write(f'version = 2\nroot = "{directory}/root"\nstate = "{directory}/state"\n'
                    'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
                    f'[grpc]\n  address = "{self.socket}"\n[ttrpc]\n  address = "{self.socket}.ttrpc"\n'
                    '[debug]\n  address = ""\n[metrics]\n  address = ""\n')
        self.log = open(os.path.join(directory, "containerd.log"), "wb")
        self.proc = subprocess.Popen(["containerd", "--config", config], stdout=self.log, stderr=subprocess.STDOUT)
        end = time.monotonic() + 30
        while self.ctr("default", "version", check=False).returncode != 0:  # answers once it serves
            if self.proc.poll() is not None or time.monotonic() > end:
                self.stop()
                raise AssertionError(f"containerd did not start; see {directory}/containerd.log")
            time.sleep(0.1)

    def ctr(self, namespace, *args, check=True):
        return run("ctr", "--address", self.socket, "--namespace", namespace, *args, check=check)

    def names(self, namespace):
        """{image name: target digest} of the namespace's image store."""
        out = self.ctr(namespace, "images", "ls").stdout.decode().splitlines()[1:]
        return {line.split()[0]: line.split()[2] for line in out if line.strip()}

    def stop(self):
        stop_process(self.proc)
        self.log.close()


class NodeLookup(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in ("containerd", "ctr", "docker-registry"):
            if shutil.which(tool) is None:
                raise AssertionError(f"{tool} is not installed (scripts/setup installs it)")
        cls.tmp = tempfile.mkdtemp(prefix="sbpipe-node-")
        cls.keys = os.path.join(cls.tmp, "keys")
        make_owner_keys(cls.keys)
        cls.registry = Registry(os.path.join(cls.tmp, "registry"))
        cls.containerd = None
        try:
            cls.containerd = Containerd(os.path.join(cls.tmp, "containerd"))
            cls.repo = f"127.0.0.1:{cls.registry.port}/node/installer"
            cls.result, cls.summary = cls.release()
        except BaseException:
            cls.tearDownClass()
            raise
        cls.digest = cls.result["steps"]["push-installer"]["digest"]
        cls.namespaces = 0

    @classmethod
    def tearDownClass(cls):
        if cls.containerd:
            cls.containerd.stop()
        cls.registry.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def release(cls):
        """sbpipe run of VERSION (the SecureBoot installer only): run's JSON, and the text summary
        of running the finished version again."""
        cls.config = os.path.join(cls.tmp, "sbpipe.yaml")
        with open(cls.config, "w") as f:
            f.write(f"""imager:
  image: ghcr.io/siderolabs/imager:{{version}}
  outputs: [secureboot-installer]
run:
  repo: node/talos-build
  target: dir:{cls.tmp}/published
  state_dir: {cls.tmp}/state
  keys_dir: {cls.keys}
  imager_command: [{MODEL}, '{{args}}', --keys, '{{keys}}']
  imager_output: '{{out}}'
  installer_repository: {cls.repo}
  plain_http: true
""")
        cls.env = dict(os.environ, STANDIN_TALOS="1.14", STANDIN_VERSION=VERSION)
        r = run(SBPIPE, "run", "--tag", VERSION, "--config", cls.config, "-o", "json", check=False, env=cls.env, timeout=600)
        if r.returncode != 0:
            raise AssertionError(f"sbpipe run failed ({r.returncode}):\n{r.stderr.decode(errors='replace')[-4000:]}")
        again = run(SBPIPE, "run", "--tag", VERSION, "--config", cls.config, env=cls.env, timeout=120)
        return json.loads(r.stdout), again.stdout.decode()

    def notes(self):
        with open(os.path.join(self.tmp, "published", VERSION, "release.json")) as f:
            return json.load(f)["notes"]

    def one_upgrade_ref(self, text, where):
        refs = UPGRADE.findall(text)
        self.assertEqual(len(refs), 1, f"{where}: expected one talosctl upgrade --image, found {refs}:\n{text}")
        return refs[0]

    def printed(self):
        """(where, the --image argument) for every place sbpipe prints one for this release."""
        out = [("release notes (run)", self.one_upgrade_ref(self.notes(), "release notes"))]
        out.append(("run -o json: upgrade", self.result["upgrade"]))
        rows = [line.split() for line in self.summary.splitlines() if line.startswith("upgrade ")]
        self.assertEqual(len(rows), 1, f"run's summary has no single upgrade row:\n{self.summary}")
        out.append(("run summary: upgrade", rows[0][-1]))
        # The Argo finalize step passes REPO:{{version}}@{{digest}} (manifests/argo/...): the
        # notes finalize writes from that form.
        with open(os.path.join(SOURCE, "manifests", "argo", "talos-secureboot-build.yaml")) as f:
            template = f.read()
        argo = re.search(r"- --installer-ref\n\s+- \"([^\"]+)\"", template)
        self.assertIsNotNone(argo, "the Argo finalize step passes no --installer-ref")
        given = (argo.group(1).replace("ghcr.io/owner/talos-installer", self.repo)
                 .replace("{{workflow.parameters.version}}", VERSION).replace("{{inputs.parameters.digest}}", self.digest))
        self.assertEqual(given, f"{self.repo}:{VERSION}@{self.digest}")
        r = run(SBPIPE, "finalize", "--tag", VERSION, "--target", f"dir:{self.tmp}/published", "--installer-ref", given,
                "--plain-http", "--config", self.config, env=self.env, check=False)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        out.append(("release notes (finalize --installer-ref as the Argo step)", self.one_upgrade_ref(self.notes(), "notes")))
        return out

    def node_store(self, ref):
        """What a node's containerd holds after ImageService.Pull(ref): containerd pulls the name
        the node pulls (the model's normalised reference), then the node's aliases are added."""
        self.__class__.namespaces += 1
        ns = f"talos-{self.namespaces}"
        names = talos_lookup.names_after_pull(ref, self.digest)
        pulled = str(talos_lookup.parse_docker_ref(ref))
        self.containerd.ctr(ns, "images", "pull", "--plain-http", pulled)
        self.containerd.ctr(ns, "images", "tag", pulled, *[n for n in names if n != pulled])
        return self.containerd.names(ns)

    def test_every_printed_upgrade_reference_is_found_by_the_node(self):
        printed = self.printed()
        self.assertEqual({ref for _, ref in printed}, {f"{self.repo}@{self.digest}"}, printed)
        for where, ref in printed:
            with self.subTest(where=where):
                self.assertTrue(talos_lookup.upgrade_finds_installer(ref, self.digest), f"{where}: model: {ref} not found")
                store = self.node_store(ref)
                self.assertIn(ref, store, f"{where}: containerd holds {sorted(store)}, not {ref}")
                self.assertEqual(store[ref], self.digest, f"{where}: {ref} names another image")

    def test_the_installer_line_keeps_the_tag_and_a_node_given_it_fails(self):
        tagged = f"{self.repo}:{VERSION}@{self.digest}"
        self.assertIn(f"- Installer: `{tagged}`", self.notes())
        self.assertEqual(self.result["installer"], tagged)
        self.assertFalse(talos_lookup.upgrade_finds_installer(tagged, self.digest))
        store = self.node_store(tagged)
        self.assertNotIn(tagged, store, "containerd found the tagged+digest name: the model's normalisation is wrong")
        self.assertIn(f"{self.repo}@{self.digest}", store)

    def test_the_commands_in_the_docs_name_the_installer_by_digest(self):
        digest = "sha256:" + "0" * 64
        files = [os.path.join(SOURCE, "README.md")] + sorted(glob.glob(os.path.join(SOURCE, "docs", "*.md")))
        found = 0
        for path in files:
            with open(path) as f:
                text = f.read()
            for ref in UPGRADE.findall(text):
                found += 1
                # The docs' placeholders, made concrete as a reader would fill them in.
                concrete = ref
                for placeholder, value in (("sha256:...", digest), ("sha256:<hex>", digest), ("REGISTRY/REPO", "ghcr.io/o/i"),
                                           ("REPO", "ghcr.io/o/i"), ("OWNER", "owner")):
                    concrete = concrete.replace(placeholder, value)
                with self.subTest(file=os.path.relpath(path, SOURCE), ref=ref):
                    self.assertTrue(talos_lookup.upgrade_finds_installer(concrete, digest),
                                    f"a node given {ref} would not find the installer")
        self.assertGreater(found, 0, "no talosctl upgrade --image command in README.md or docs/")

    def test_model_follows_parse_docker_ref(self):
        digest = "sha256:" + "ab" * 32
        cases = {  # reference: (the name the node pulls, found by the lookup)
            f"ghcr.io/o/installer:v1.14.0@{digest}": (f"ghcr.io/o/installer@{digest}", False),
            f"ghcr.io/o/installer@{digest}": (f"ghcr.io/o/installer@{digest}", True),
            "ghcr.io/o/installer:v1.14.0": ("ghcr.io/o/installer:v1.14.0", True),
            f"localhost:5000/installer:v1@{digest}": (f"localhost:5000/installer@{digest}", False),
            "ghcr.io/o/installer": ("ghcr.io/o/installer:latest", False),
            f"o/installer@{digest}": (f"docker.io/o/installer@{digest}", False),
            "installer:v1": ("docker.io/library/installer:v1", False),
        }
        for ref, (pulled, found) in cases.items():
            with self.subTest(ref=ref):
                self.assertEqual(str(talos_lookup.parse_docker_ref(ref)), pulled)
                self.assertEqual(talos_lookup.upgrade_finds_installer(ref, digest), found)


if __name__ == "__main__":
    unittest.main()
