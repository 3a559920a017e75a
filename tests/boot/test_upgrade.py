#!/usr/bin/python3
"""Install → upgrade → cold boot with a TPM, judged by the firmware, the stub and the TPM
(issue 27; Talos #14146 and #11909: nodes that come back from an upgrade through kexec and fail
at the next power cycle).

`sbpipe run` builds and publishes v1.13.0 and then v1.13.1 (the Talos imager model, its
SecureBoot installer pushed to a loopback docker-registry; the second run's verify compares its
PCR key and UKI signer with the first's). The model's UKIs are built with systemd 257's stub and
systemd-boot (the ones Talos ships, from Debian 13's systemd-boot-efi, which scripts/setup
unpacks: Debian 12's 252 measures fewer sections than sbpipe predicts) and with Debian's
tpm2-tools in their initramfs (STANDIN_NODE_TPM=1, scripts/talos_model/node-tpm.sh: the node's
TPM step, run by the model's /init).

1. Install v1.13.0 as Talos's installer does (talos_install.py: a GPT disk whose EFI partition
   gets systemd-boot and EFI/Linux/Talos-v1.13.0.efi, LoaderEntryDefault in the NVRAM), on a
   machine whose firmware holds the owner's keys (db: the owner's certificate and a second one,
   for the signer-rotation case below).
2. Boot it (OVMF SecureBoot, swtpm as the machine's TPM). The node prints PCR 7, PCR 11 after
   the stub and after each phase it extends, then seals a secret to PolicyAuthorize(its UKI's
   PCR key) + PolicyPCR(7) as Talos seals a disk key.
3. Upgrade to v1.13.1 as Talos's upgrade does (new UKI, default entry switched, v1.13.0 kept),
   power off, cold boot. The node must unseal the secret (v1.13.1's .pcrsig, passed by the stub),
   systemd-boot must have started the new default entry, PCR 7 must equal the v1.13.0 boot's,
   and PCR 11 must equal sbpipe's predictions after every phase (`sbpipe verify --format json`)
   and, before the first, the value computed here from the UKI's sections.
4. The same upgrade with a build whose PCR key was rotated, and one whose UKI signer was
   rotated (its certificate is in db, so it boots): `sbpipe run` must refuse each at verify
   (continuity), `sbpipe verify --previous-ref` must refuse its installer, and the node booted
   into it must fail to unseal (another PCR key's policy; PCR 7 changed by the new signer).

The boots of step 3 and 4 start from copies of the disk, NVRAM and TPM state the v1.13.0 boot
left, two machines at a time.
Usage: test_upgrade.py SBPIPE SOURCE_DIR
"""

import base64
import concurrent.futures
import json
import os
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import enrol  # noqa: E402
import firmware  # noqa: E402
import talos_install  # noqa: E402
import vtpm  # noqa: E402
from tools import SYSTEMD_257_EFI, Registry, make_owner_keys, run, sbpipe_run  # noqa: E402
from uki_pcr import boot_events, extend_sha256, profiles  # noqa: E402

SBPIPE = sys.argv.pop(1)
SOURCE = sys.argv.pop(1)
OLD, NEW = "v1.13.0", "v1.13.1"
DEBIAN_SDBOOT = "/usr/lib/systemd/boot/efi/systemd-bootx64.efi"  # enrols the keys (setup mode runs it unsigned)
NODE = "SBPIPE-NODE "
PHASES = ["enter-initrd", "leave-initrd", "enter-machined"]


def node_report(lines):
    """{what: value} from the node's "SBPIPE-NODE <what> <value>" lines ("pcr11 <phase>" keys
    PCR 11 by phase; "error" collects every error line)."""
    out = {"error": []}
    for line in lines:
        if not line.startswith(NODE):
            continue
        what, _, value = line[len(NODE):].partition(" ")
        if what == "pcr11":
            phase, _, value = value.partition(" ")
            what = "pcr11 " + phase
        if what == "error":
            out["error"].append(value)
        else:
            out.setdefault(what, value)
    return out


class InstallUpgradeColdBoot(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.started = time.monotonic()
        if not os.path.isfile(os.path.join(SYSTEMD_257_EFI, "linuxx64.efi.stub")):
            raise AssertionError(f"missing systemd 257's stub in {SYSTEMD_257_EFI}: run scripts/setup (it unpacks "
                                 "Debian 13's systemd-boot-efi there)")
        accel, why = firmware.accelerator()
        print(f"boot: firmware {firmware.OVMF_CODE}, accelerator {accel} ({why})", file=sys.stderr)
        cls.tmp = tempfile.mkdtemp(prefix="sbpipe-upgrade-")
        cls.keys = os.path.join(cls.tmp, "keys")
        make_owner_keys(cls.keys)
        cls.registry = Registry(os.path.join(cls.tmp, "registry"))
        cls.repo = f"127.0.0.1:{cls.registry.port}/boot/installer"

    @classmethod
    def tearDownClass(cls):
        cls.registry.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        print(f"boot: install, upgrade and cold boots checked in {time.monotonic() - cls.started:.0f} s", file=sys.stderr)

    # --- the releases ---

    def sbpipe_run(self, version, keys, tag, repo=None):
        """sbpipe run of `version` (SecureBoot installer, built with systemd 257 and the node's TPM
        step) into `repo` (default: the test's installer repository): (exit code, stderr, state dir)."""
        imager = "  outputs: [secureboot-installer]\n  extra_kernel_args: [console=ttyS0]\n"
        env = {"STANDIN_NODE_TPM": "1", "STANDIN_SYSTEMD_EFI": SYSTEMD_257_EFI}
        r, _, state = sbpipe_run(SBPIPE, SOURCE, self.tmp, tag, version, keys, imager, repo or self.repo, env)
        return r.returncode, r.stderr.decode(errors="replace"), state

    def published_installer(self, version, tag):
        code, err, _ = self.sbpipe_run(version, self.keys, tag)
        self.assertEqual(code, 0, f"sbpipe run {version} failed:\n{err[-4000:]}")
        return talos_install.installer_boot_files(f"{self.repo}:{version}", os.path.join(self.tmp, tag))

    def refused_installer(self, keys, tag, cert, reason):
        """A v1.13.1 build with rotated keys: sbpipe run must refuse it before imager starts (its
        preflight compares the key set with the previous release), and sbpipe verify
        --previous-ref must refuse its installer tarball, its continuity line giving `reason`.
        The tarball comes from a run of the same keys into a repository with no earlier
        release (so nothing to compare with). Returns its boot files."""
        code, err, _ = self.sbpipe_run(NEW, keys, tag)
        self.assertEqual(code, 1, f"sbpipe run published the {tag} build:\n{err[-3000:]}")
        self.assertIn("failed (continuity); imager was not started", err)
        code, err, state = self.sbpipe_run(NEW, keys, tag + "-elsewhere", f"{self.repo}-{tag}")
        self.assertEqual(code, 0, f"sbpipe run of the {tag} build into an empty repository failed:\n{err[-3000:]}")
        tarballs = [os.path.join(d, f) for d, _, fs in os.walk(state) for f in fs if f == "installer-amd64-secureboot.tar"]
        self.assertTrue(tarballs, f"the {tag} run left no installer in {state}")
        r = run(SBPIPE, "verify", tarballs[0], "--cert", cert, "--previous-ref", f"{self.repo}:{OLD}", "--plain-http",
                check=False)
        report = r.stdout.decode(errors="replace")
        self.assertEqual(r.returncode, 1, f"verify --previous-ref passed the {tag} build:\n{report}")
        continuity = [line for line in report.splitlines() if " continuity " in line]
        self.assertEqual(len(continuity), 1, report)
        self.assertRegex(continuity[0], r"\bFAIL\b.*" + reason, report)
        print(f"boot: {tag}: sbpipe run stopped it before imager; verify --previous-ref says:\n{report}", file=sys.stderr)
        return talos_install.tarball_boot_files(tarballs[0], os.path.join(self.tmp, tag))

    def predictions(self, uki, cert):
        """PCR 11 (sha256) of the main profile: after the stub (computed here from the sections),
        then after each phase (sbpipe verify --format json)."""
        r = run(SBPIPE, "verify", "--format", "json", uki, "--cert", cert, check=False)
        profile = next(p for p in json.loads(r.stdout)["binaries"][0]["profiles"] if p["id"] == "main")
        predicted = profile["pcr11"]["predicted"]["sha256"]
        stub = extend_sha256(boot_events(profiles(uki)["main"], phases=[]))
        # Consistency of the two oracles: the stub's value, extended by the phases, is sbpipe's.
        self.assertEqual(extend_sha256(boot_events(profiles(uki)["main"])), predicted["enter-machined"])
        return {"stub": stub, **{p: predicted[p] for p in PHASES}}

    # --- the node's firmware ---

    def enrolled_vars(self, second_cert):
        """NVRAM in user mode: PK and KEK the owner's certificate, db the owner's and `second_cert`
        (efitools' signature lists, signed with the owner's key)."""
        auth = os.path.join(self.tmp, "auth")
        os.makedirs(auth)
        cert, key = f"{self.keys}/uki-signing-cert.pem", f"{self.keys}/uki-signing-key.pem"
        owner = "11111111-2222-3333-4444-123456789abc"
        lists = {"PK": [cert], "KEK": [cert], "db": [cert, second_cert]}
        for var, certs in lists.items():
            esl = os.path.join(auth, var + ".esl")
            with open(esl, "wb") as out:
                for i, c in enumerate(certs):
                    one = os.path.join(auth, f"{var}-{i}.esl")
                    run("cert-to-efi-sig-list", "-g", owner, c, one)
                    with open(one, "rb") as part:
                        out.write(part.read())
            run("sign-efi-sig-list", "-g", owner, "-k", key, "-c", cert, var, esl, os.path.join(auth, var + ".auth"))
        enrolled = os.path.join(self.tmp, "enrolled.fd")
        enrol.enrol(enrolled, DEBIAN_SDBOOT, auth, self.tmp)
        return enrolled

    def cold_boot(self, node, tag, sealed=None):
        """Powers the node (its disk, NVRAM and TPM state directory) on: the firmware.Boot and the
        node's report. `sealed`: (pub, priv) files handed to the node through fw_cfg."""
        tpm = vtpm.MachineTpm(node["tpm"])
        fw_cfg = {"opt/sbpipe/sealed-pub": sealed[0], "opt/sbpipe/sealed-priv": sealed[1]} if sealed else None
        try:
            result = firmware.boot([firmware.Medium.disk(node["disk"], "disk")], node["vars"],
                                   os.path.join(self.tmp, tag + ".log"), deadline=400, tpm_socket=tpm.socket, fw_cfg=fw_cfg)
        finally:
            tpm.stop()
        report = node_report(result.lines)
        outcome = result.outcomes["disk"]
        print(f"boot: {tag}: {outcome.verdict} in {result.seconds:.0f} s; node: " +
              json.dumps({k: v for k, v in report.items() if not k.startswith("sealed-")}), file=sys.stderr)
        self.assertEqual(outcome.verdict, "boots", f"{tag}: {outcome.detail}\n" + "\n".join(result.lines[-30:]))
        self.assertEqual(report["error"], [], f"{tag}: the node's TPM step failed")
        return report

    def assert_pcr11(self, report, predicted, tag):
        for phase in ["stub"] + PHASES:
            self.assertEqual(report.get("pcr11 " + phase), predicted[phase], f"{tag}: PCR 11 after {phase}")

    def branch(self, node, tag):
        """A copy of the node (disk, NVRAM, TPM state) for another future."""
        out = {"disk": os.path.join(self.tmp, tag + ".img"), "vars": os.path.join(self.tmp, tag + ".fd"),
               "tpm": os.path.join(self.tmp, tag + "-tpm")}
        shutil.copyfile(node["disk"], out["disk"])
        shutil.copyfile(node["vars"], out["vars"])
        vtpm.copy_state(node["tpm"], out["tpm"])
        return out

    def test_sealed_at_the_old_release_unseals_at_the_new_one_exactly_when_verify_passes(self):
        cert = f"{self.keys}/uki-signing-cert.pem"
        old = self.published_installer(OLD, "old")
        new = self.published_installer(NEW, "new")
        # The rotations: the same keys but a new PCR key; the same keys but a new UKI key and certificate.
        rotated_pcr, rotated_signer = os.path.join(self.tmp, "keys-pcr"), os.path.join(self.tmp, "keys-signer")
        other = os.path.join(self.tmp, "keys-other")
        make_owner_keys(other, "Rotated")
        shutil.copytree(self.keys, rotated_pcr)
        shutil.copytree(self.keys, rotated_signer)
        for name in ("pcr-signing-key.pem", "pcr-signing-key.pub.pem"):
            shutil.copyfile(os.path.join(other, name), os.path.join(rotated_pcr, name))
        for name in ("uki-signing-key.pem", "uki-signing-cert.pem"):
            shutil.copyfile(os.path.join(other, name), os.path.join(rotated_signer, name))
        rotated = {"pcr-key-rotated": self.refused_installer(rotated_pcr, "pcr-key-rotated", cert, "the PCR signing key changed"),
                   "signer-rotated": self.refused_installer(rotated_signer, "signer-rotated",
                                                            f"{rotated_signer}/uki-signing-cert.pem",
                                                            "the UKI signing certificate changed")}

        # 1. Install the old release on a fresh node.
        enrolled = self.enrolled_vars(f"{other}/uki-signing-cert.pem")
        node = {"disk": os.path.join(self.tmp, "node.img"), "vars": os.path.join(self.tmp, "node.fd"),
                "tpm": os.path.join(self.tmp, "node-tpm")}
        shutil.copyfile(enrolled, node["vars"])
        disk = talos_install.NodeDisk.create(node["disk"])
        name = talos_install.install(disk, node["vars"], OLD, old["systemd-boot.efi"], old["vmlinuz.efi"], self.tmp)
        self.assertEqual(name, f"Talos-{OLD}.efi")
        self.assertEqual(disk.listing("EFI/Linux"), [name])

        # 2. Its first boot seals the secret.
        first = self.cold_boot(node, "boot-old")
        self.assert_pcr11(first, self.predictions(old["vmlinuz.efi"], cert), "boot-old")
        self.assertEqual(first.get("entry-selected", "").lower(), name.lower())
        for what in ("sealed", "sealed-pub", "sealed-priv", "pcr7"):
            self.assertIn(what, first, f"boot-old: the node did not report {what}")
        sealed = []
        for what in ("sealed-pub", "sealed-priv"):
            sealed.append(os.path.join(self.tmp, what))
            with open(sealed[-1], "wb") as f:
                f.write(base64.b64decode(first[what]))

        # 3 and 4. Upgrades from copies of that node, each powered off and cold booted.
        futures = {"new": new, **rotated}
        nodes = {}
        for tag, files in futures.items():
            nodes[tag] = self.branch(node, tag)
            upgraded = talos_install.NodeDisk(nodes[tag]["disk"])
            new_name, previous = talos_install.upgrade(upgraded, nodes[tag]["vars"], NEW, files["systemd-boot.efi"],
                                                       files["vmlinuz.efi"], self.tmp)
            self.assertEqual((new_name, previous), (f"Talos-{NEW}.efi", name))
            self.assertEqual(upgraded.listing("EFI/Linux"), sorted([name, new_name]))
            self.assertEqual(talos_install.default_entry(nodes[tag]["vars"]), new_name)

        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            reports = dict(zip(futures, pool.map(lambda tag: self.cold_boot(nodes[tag], "boot-" + tag, sealed), futures)))

        for tag, report in reports.items():
            with self.subTest(upgrade=tag):
                self.assertEqual(report.get("entry-selected", "").lower(), f"talos-{NEW}.efi")
                certificate = f"{rotated_signer}/uki-signing-cert.pem" if tag == "signer-rotated" else cert
                self.assert_pcr11(report, self.predictions(futures[tag]["vmlinuz.efi"], certificate), "boot-" + tag)
                if tag == "new":
                    self.assertEqual(report.get("pcr7"), first["pcr7"], "PCR 7 changed across the upgrade")
                    self.assertEqual(report.get("unsealed"), first["sealed"], f"not unsealed: {report}")
                else:
                    if tag == "signer-rotated":
                        self.assertNotEqual(report.get("pcr7"), first["pcr7"], "a new signer left PCR 7 as it was")
                    else:
                        self.assertEqual(report.get("pcr7"), first["pcr7"])
                    self.assertNotIn("unsealed", report, f"{tag}: the secret unsealed")
                    self.assertIn("unseal-refused", report, f"{tag}: the node did not try to unseal")


if __name__ == "__main__":
    unittest.main(verbosity=2)
