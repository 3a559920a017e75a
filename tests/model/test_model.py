#!/usr/bin/python3
"""The Talos imager model (scripts/standin-imager) against the facts it models, read back with
tools that are not the model: objdump/objcopy (binutils), sbverify, openssl, xorriso, mtools,
tar, and systemd's own systemd-measure for the PCR signature. Each fact is Talos's (siderolabs/
talos at the tags in scripts/talos_model/lines.py; findings in the project's history), so the
model cannot drift from them silently.

Usage: test_model.py SOURCE_DIR
"""

import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import unittest

SOURCE = sys.argv.pop(1) if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
MODEL = os.path.join(SOURCE, "scripts", "standin-imager")
sys.path.insert(0, os.path.join(SOURCE, "scripts"))
from talos_model import pcr  # noqa: E402  (only for the systemd-measure comparison)

LINES = {"1.9": "v1.9.0", "1.11": "v1.11.0", "1.13": "v1.13.0", "1.14": "v1.14.0"}
LOCKDOWN = ["--extra-kernel-arg", "-lockdown", "--extra-kernel-arg", "lockdown=integrity"]
STUB_SECTIONS = [".text", ".reloc", ".data", ".dynamic", ".rela", ".dynsym", ".sbat", ".sdmagic"]
# The sections imager adds, in file order (findings item 5; internal/pkg/secureboot/uki for 1.9,
# internal/pkg/uki for 1.10+).
UKI_ORDER = {
    "1.9": [".osrel", ".cmdline", ".initrd", ".splash", ".uname", ".pcrpkey", ".linux", ".pcrsig"],
    "1.11": [".osrel", ".cmdline", ".uname", ".splash", ".pcrpkey", ".linux", ".initrd",
             ".profile", ".pcrsig", ".profile", ".cmdline", ".pcrsig"],
}
UKI_ORDER["1.13"] = UKI_ORDER["1.11"]
UKI_ORDER["1.14"] = UKI_ORDER["1.11"]


def run(*args, **kw):
    r = subprocess.run(list(args), capture_output=True, **kw)
    if r.returncode != 0:
        raise AssertionError(f"{args[0]} failed: {r.stderr.decode(errors='replace')}")
    return r.stdout


class Build:
    """The model's outputs for one line, made once."""

    cache = {}

    @classmethod
    def get(cls, line):
        if line not in cls.cache:
            cls.cache[line] = cls(line)
        return cls.cache[line]

    def __init__(self, line):
        self.line = line
        self.version = LINES[line]
        self.tmp = tempfile.TemporaryDirectory(prefix="sbpipe-model-")
        self.dir = self.tmp.name
        self.keys = os.path.join(self.dir, "keys")
        self.out = os.path.join(self.dir, "out")
        os.makedirs(self.keys)
        run("openssl", "genrsa", "-traditional", "-out", self.key("uki-signing-key.pem"), "2048")
        run("openssl", "req", "-x509", "-key", self.key("uki-signing-key.pem"), "-out", self.key("uki-signing-cert.pem"),
            "-days", "30", "-subj", "/O=Model Owner")
        run("openssl", "genrsa", "-traditional", "-out", self.key("pcr-signing-key.pem"), "2048")
        for profile, extra in (("secureboot-iso", LOCKDOWN), ("secureboot-installer", LOCKDOWN), ("iso", []),
                               ("installer", [])):
            self.model(profile, *extra)

    def key(self, name):
        return os.path.join(self.keys, name)

    def model(self, *args, out=None, env=None):
        e = dict(os.environ, STANDIN_TALOS=self.line, STANDIN_VERSION=self.version)
        e.update(env or {})
        run(MODEL, *args, "--output", out or self.out, "--keys", self.keys, env=e)

    def path(self, name):
        return os.path.join(self.out, name)

    def iso_tree(self, iso):
        dest = os.path.join(self.dir, "tree-" + iso)
        if not os.path.isdir(dest):
            run("xorriso", "-osirrox", "on", "-indev", self.path(iso), "-extract", "/", dest)
        return dest


def sections(efi):
    """[(name, size, file offset)] from objdump -h."""
    out = []
    for line in run("objdump", "-h", efi).decode().splitlines():
        f = line.split()
        if len(f) >= 7 and f[0].isdigit():
            out.append((f[1], int(f[2], 16), int(f[5], 16)))
    return out


def section_bytes(efi, index):
    name, size, offset = sections(efi)[index]
    with open(efi, "rb") as f:
        f.seek(offset)
        return f.read(size)


def named(efi, name, nth=0):
    found = [i for i, s in enumerate(sections(efi)) if s[0] == name]
    return section_bytes(efi, found[nth])


def esp_of(iso):
    """mtools' name for the appended EFI partition (MBR entry 2, type 0xef) of an ISO."""
    with open(iso, "rb") as f:
        mbr = f.read(512)
    assert mbr[446 + 16 + 4] == 0xEF, iso
    return f"{iso}@@{struct.unpack_from('<I', mbr, 446 + 16 + 8)[0] * 512}"


def installer_members(path):
    with tarfile.open(path) as t:
        return [(m.name, t.extractfile(m).read()) for m in t.getmembers()]


class ModelFacts(unittest.TestCase):
    def each_line(self):
        for line in LINES:
            with self.subTest(line=line):
                yield Build.get(line)

    def test_uki_sections_in_imager_order(self):
        for b in self.each_line():
            uki = os.path.join(b.iso_tree("metal-amd64-secureboot.iso"), f"EFI/Linux/Talos-{b.version}.efi")
            names = [s[0] for s in sections(uki)]
            self.assertEqual(names[:len(STUB_SECTIONS)], STUB_SECTIONS)
            self.assertEqual(names[len(STUB_SECTIONS):], UKI_ORDER[b.line])

    def test_osrel_as_talos_writes_it(self):
        for b in self.each_line():
            uki = os.path.join(b.iso_tree("metal-amd64-secureboot.iso"), f"EFI/Linux/Talos-{b.version}.efi")
            osrel = named(uki, ".osrel").decode()
            keys = [line.split("=", 1)[0] for line in osrel.splitlines()]
            self.assertEqual(keys, ["NAME", "ID", "VERSION_ID", "PRETTY_NAME", "HOME_URL", "BUG_REPORT_URL", "VENDOR_NAME",
                                    "VENDOR_URL"])
            self.assertIn(f"VERSION_ID={b.version}\n", osrel)
            self.assertNotIn("\nVERSION=", osrel)

    def test_default_cmdline_per_line(self):
        common = "talos.platform=metal console=tty0"
        defaults = "init_on_alloc=1 slab_nomerge pti=on consoleblank=0 nvme_core.io_timeout=4294967295 printk.devkmsg=on"
        want = {"1.9": defaults + " ima_template=ima-ng ima_appraise=fix ima_hash=sha512",
                "1.11": defaults + " selinux=1",
                "1.13": defaults + " selinux=1 module.sig_enforce=1 proc_mem.force_override=never",
                # 1.14 (pkg/machinery/kernel/kernel.go DefaultArgs at v1.14.0-rc.1): no init_on_alloc=1,
                # and nvme_core.io_timeout only on AWS
                "1.14": "slab_nomerge pti=on consoleblank=0 printk.devkmsg=on selinux=1 module.sig_enforce=1 "
                        "proc_mem.force_override=never"}
        for b in self.each_line():
            iso_uki = os.path.join(b.iso_tree("metal-amd64-secureboot.iso"), f"EFI/Linux/Talos-{b.version}.efi")
            # ISOs halt when Talos is installed; -lockdown then lockdown=integrity replaces confidentiality.
            self.assertEqual(named(iso_uki, ".cmdline").decode(),
                             f"{common} talos.halt_if_installed=1 {want[b.line]} lockdown=integrity")
            if b.line != "1.9":
                self.assertEqual(named(iso_uki, ".cmdline", 1).decode(),
                                 f"{common} talos.halt_if_installed=1 {want[b.line]} lockdown=integrity "
                                 "talos.experimental.wipe=system")
                self.assertEqual(named(iso_uki, ".profile", 0), b"ID=main")
                self.assertEqual(named(iso_uki, ".profile", 1), b"ID=reset\nTITLE=Reset system disk")

    def test_pcr_public_key_and_signature(self):
        for b in self.each_line():
            uki = os.path.join(b.iso_tree("metal-amd64-secureboot.iso"), f"EFI/Linux/Talos-{b.version}.efi")
            pub = run("openssl", "rsa", "-in", b.key("pcr-signing-key.pem"), "-pubout")
            self.assertEqual(named(uki, ".pcrpkey"), pub)
            self.assertTrue(pub.startswith(b"-----BEGIN PUBLIC KEY-----"))
            pkcs1 = run("openssl", "rsa", "-in", b.key("pcr-signing-key.pem"), "-RSAPublicKey_out", "-outform", "DER")
            pubfile = os.path.join(b.dir, "pcr-public.pem")
            open(pubfile, "wb").write(pub)
            profiles = 1 if b.line == "1.9" else 2
            for nth in range(profiles):
                sig = json.loads(named(uki, ".pcrsig", nth))
                self.assertEqual(list(sig), ["sha256", "sha384", "sha512"])
                for bank, entries in sig.items():
                    self.assertEqual(len(entries), 1)
                    e = entries[0]
                    self.assertEqual(list(e), ["pcrs", "pkfp", "pol", "sig"])
                    self.assertEqual(e["pcrs"], [11])
                    self.assertEqual(e["pkfp"], hashlib.sha256(pkcs1).hexdigest())
                    polfile, sigfile = os.path.join(b.dir, "pol"), os.path.join(b.dir, "sig")
                    open(polfile, "wb").write(bytes.fromhex(e["pol"]))
                    open(sigfile, "wb").write(__import__("base64").b64decode(e["sig"]))
                    run("openssl", "dgst", "-" + bank, "-verify", pubfile, "-signature", sigfile, polfile)

    def test_pcrsig_equals_systemd_measure(self):
        """For the sections systemd-measure 252 knows, the model's .pcrsig is byte for byte what
        systemd-measure sign writes with Talos's phases (as Talos's own
        internal/pkg/secureboot/measure/measure_test.go checks)."""
        b = Build.get("1.13")
        d = os.path.join(b.dir, "measure")
        os.makedirs(d, exist_ok=True)
        data = {".linux": os.urandom(5000), ".osrel": b"ID=talos\n", ".cmdline": b"lockdown=integrity",
                ".initrd": os.urandom(3000), ".splash": b"BM", ".pcrpkey": open(b.key("pcr-signing-key.pem"), "rb").read()[:64]}
        args = []
        for name, content in data.items():
            path = os.path.join(d, name[1:])
            open(path, "wb").write(content)
            args.append(f"--{name[1:]}={path}")
        # systemd-measure 252 computes the policy in a TPM trial session: a software TPM, stopped by PID.
        sock = os.path.join(d, "tpm.sock")
        swtpm = subprocess.Popen(["swtpm", "socket", "--tpm2", "--tpmstate", "dir=" + d, "--server", "type=unixio,path=" + sock,
                                  "--ctrl", "type=unixio,path=" + sock + ".ctrl", "--flags", "startup-clear"])
        try:
            for _ in range(100):
                if os.path.exists(sock + ".ctrl") and os.path.exists(sock):
                    break
                __import__("time").sleep(0.05)
            measured = run("/lib/systemd/systemd-measure", "sign", "--tpm2-device=swtpm:path=" + sock, "--private-key",
                           b.key("pcr-signing-key.pem"), "--bank=sha256", "--bank=sha384", "--bank=sha512",
                           "--phase=enter-initrd:leave-initrd:enter-machined", "--json=short", *args).strip()
        finally:
            swtpm.terminate()
            swtpm.wait(10)
        self.assertEqual(pcr.pcrsig_json("1.13", data, b.key("pcr-signing-key.pem")), measured)

    def test_linux_section_signed_only_in_1_9(self):
        for b in self.each_line():
            uki = os.path.join(b.iso_tree("metal-amd64-secureboot.iso"), f"EFI/Linux/Talos-{b.version}.efi")
            kernel = os.path.join(b.dir, "linux.efi")
            open(kernel, "wb").write(named(uki, ".linux"))
            listed = subprocess.run(["sbverify", "--list", kernel], capture_output=True, text=True).stdout
            self.assertEqual("Model Owner" in listed, b.line == "1.9")

    def test_secureboot_iso_tree_and_esp(self):
        for b in self.each_line():
            tree = b.iso_tree("metal-amd64-secureboot.iso")
            self.assertEqual(open(os.path.join(tree, "loader/loader.conf")).read(),
                             "# systemd-boot configuration\n\ntimeout 10\n\nsecure-boot-enroll if-safe\n")
            der = run("openssl", "x509", "-in", b.key("uki-signing-cert.pem"), "-outform", "DER")
            self.assertEqual(open(os.path.join(tree, "EFI/keys/uki-signing-cert.der"), "rb").read(), der)
            for name in ("PK.auth", "KEK.auth", "db.auth"):
                auth = open(os.path.join(tree, "loader/keys/auto", name), "rb").read()
                self.assertIn(der, auth)  # generated from the UKI certificate, as imager does without /secureboot/*.auth
            report = run("xorriso", "-indev", b.path("metal-amd64-secureboot.iso"), "-report_el_torito", "plain").decode()
            self.assertRegex(report, r"El Torito boot img :\s+1\s+UEFI\s+y\s+none")
            # The appended EFI partition (MBR entry 2, type 0xef) holds the same files.
            with open(b.path("metal-amd64-secureboot.iso"), "rb") as f:
                mbr = f.read(512)
            ptype, start = mbr[446 + 16 + 4], struct.unpack_from("<I", mbr, 446 + 16 + 8)[0]
            self.assertEqual(ptype, 0xEF)
            img = f"{b.path('metal-amd64-secureboot.iso')}@@{start * 512}"
            for member in ("EFI/BOOT/BOOTX64.EFI", f"EFI/Linux/Talos-{b.version}.efi", "loader/keys/auto/db.auth"):
                esp_copy = run("mtype", "-i", img, "::" + member)
                with open(os.path.join(tree, member), "rb") as f:
                    self.assertEqual(esp_copy, f.read(), member)

    def test_plain_iso_layouts(self):
        for b in self.each_line():
            tree = b.iso_tree("metal-amd64.iso")
            self.assertTrue(os.path.isfile(os.path.join(tree, "boot/vmlinuz")))
            cfg = open(os.path.join(tree, "boot/grub/grub.cfg")).read()
            self.assertIn("linux /boot/vmlinuz talos.platform=metal console=tty0 talos.halt_if_installed=1", cfg)
            hybrid = os.path.isdir(os.path.join(tree, "EFI/Linux"))
            self.assertEqual(hybrid, b.line != "1.9")  # 1.10+ adds an unsigned sd-boot and UKI
            if hybrid:
                uki = os.path.join(tree, f"EFI/Linux/Talos-{b.version}.efi")
                listed = subprocess.run(["sbverify", "--list", uki], capture_output=True, text=True)
                self.assertIn("No signature table present", listed.stdout + listed.stderr)
        arm = Build.get("1.13")
        arm.model("iso", "--arch", "arm64", out=os.path.join(arm.dir, "arm"))
        tree = os.path.join(arm.dir, "arm-tree")
        run("xorriso", "-osirrox", "on", "-indev", os.path.join(arm.dir, "arm", "metal-arm64.iso"), "-extract", "/", tree)
        self.assertFalse(os.path.exists(os.path.join(tree, "boot/vmlinuz")))  # sd-boot only on arm64 from 1.12
        self.assertTrue(os.path.isfile(os.path.join(tree, "EFI/BOOT/BOOTAA64.EFI")))

    def test_installer_as_go_containerregistry_writes_it(self):
        for b in self.each_line():
            members = installer_members(b.path("installer-amd64-secureboot.tar"))
            names = [m[0] for m in members]
            self.assertTrue(names[0].startswith("sha256:"))
            self.assertEqual(names[-1], "manifest.json")
            self.assertTrue(all(n.endswith(".tar.gz") for n in names[1:-1]))
            config = json.loads(members[0][1])
            self.assertEqual(hashlib.sha256(members[0][1]).hexdigest(), names[0][7:])
            self.assertEqual((config["architecture"], config["os"]), ("", "") if b.line == "1.9" else ("amd64", "linux"))
            self.assertEqual(config["rootfs"]["type"], "" if b.line == "1.11" else "layers")
            manifest = json.loads(members[-1][1])
            base = "installer" if b.line == "1.9" else "installer-base"
            self.assertEqual(manifest[0]["RepoTags"], [f"ghcr.io/siderolabs/{base}:{b.version}"])
            artifacts = os.path.join(b.dir, "artifacts.tar.gz")
            open(artifacts, "wb").write(dict(members)[manifest[0]["Layers"][-1]])
            with tarfile.open(artifacts) as t:
                entries = t.getmembers()
            self.assertEqual([e.name for e in entries], ["usr/install/amd64/systemd-boot.efi", "usr/install/amd64/vmlinuz.efi"])
            self.assertTrue(all(e.isreg() and e.mode == 0 for e in entries))
            plain = dict(installer_members(b.path("installer-amd64.tar")))
            layer = os.path.join(b.dir, "plain.tar.gz")
            open(layer, "wb").write(plain[json.loads(plain["manifest.json"])[0]["Layers"][-1]])
            with tarfile.open(layer) as t:
                want = ["usr/install/amd64/initramfs.xz", "usr/install/amd64/vmlinuz"] if b.line == "1.9" else \
                    ["usr/install/amd64/systemd-boot.efi", "usr/install/amd64/vmlinuz.efi"]
                self.assertEqual(t.getnames(), want)

    def test_lockdown_default_per_line(self):
        """kernel.SecureBootArgs: lockdown=confidentiality up to 1.13; none for 1.14.0 (siderolabs/talos
        a72281e5b, issue #14237), which is why sbpipe passes -lockdown lockdown=integrity itself."""
        for line, version, want in (("1.13", "v1.13.0", "lockdown=confidentiality"), ("1.14", "v1.14.0", None),
                                    ("1.14", "v1.13.9", "lockdown=confidentiality")):
            with self.subTest(line=line, version=version):
                b = Build.get(line)
                out = os.path.join(b.dir, "cmdline-" + version)
                b.model("secureboot-iso", "--output-kind", "cmdline", out=out, env={"STANDIN_VERSION": version})
                with open(os.path.join(out, "cmdline-metal-amd64-secureboot")) as f:
                    words = f.read().split()
                self.assertEqual([w for w in words if w.startswith("lockdown")], [want] if want else [])
                b.model("secureboot-iso", "--output-kind", "cmdline", *LOCKDOWN, out=out, env={"STANDIN_VERSION": version})
                with open(os.path.join(out, "cmdline-metal-amd64-secureboot")) as f:
                    words = f.read().split()
                self.assertEqual([w for w in words if w.startswith("lockdown")], ["lockdown=integrity"])

    def test_1_14_random_seed_read_only_in_tree_and_esp(self):
        """pkg/imager/iso/uefi.go at v1.14.0-rc.1: a 32-byte zero loader/random-seed, mode 0444, marked
        read-only in the ESP with mattrib (read back here with mtools), in SecureBoot and plain ISOs."""
        b = Build.get("1.14")
        for iso in ("metal-amd64-secureboot.iso", "metal-amd64.iso"):
            with self.subTest(iso=iso):
                with open(os.path.join(b.iso_tree(iso), "loader/random-seed"), "rb") as f:
                    self.assertEqual(f.read(), bytes(32))
                esp = esp_of(b.path(iso))
                self.assertEqual(run("mtype", "-i", esp, "::/loader/random-seed"), bytes(32))
                attrs = run("mattrib", "-i", esp, "::/loader/random-seed").decode()
                self.assertRegex(attrs.split("::")[0], r"\bR\b", attrs)
        older = Build.get("1.13")
        self.assertFalse(os.path.exists(os.path.join(older.iso_tree("metal-amd64-secureboot.iso"), "loader/random-seed")))

    def test_1_14_esp_cluster_size(self):
        """fatSectorsPerCluster: an ESP for a ~70 MiB payload gets 2 sectors per cluster on 1.14 (minfo
        reads it), 1 on 1.13 (mkfs.vfat's default at that size)."""
        for line, want in (("1.14", 2), ("1.13", 1)):
            with self.subTest(line=line):
                b = Build.get(line)
                out = os.path.join(b.dir, "big")
                b.model("secureboot-iso", out=out, env={"STANDIN_KERNEL": "random", "STANDIN_INITRD_MIB": "60"})
                iso = os.path.join(out, "metal-amd64-secureboot.iso")
                info = run("minfo", "-i", esp_of(iso)).decode()
                os.remove(iso)
                self.assertIn(f"cluster size: {want} sectors", info)

    def test_1_14_enroll_keys_flag(self):
        b = Build.get("1.14")
        for mode in ("off", "manual", "if-safe", "force"):
            with self.subTest(mode=mode):
                out = os.path.join(b.dir, "enroll-" + mode)
                b.model("secureboot-iso", "--secureboot-enroll-keys", mode, *LOCKDOWN, out=out)
                tree = os.path.join(b.dir, "enroll-tree-" + mode)
                run("xorriso", "-osirrox", "on", "-indev", os.path.join(out, "metal-amd64-secureboot.iso"), "-extract", "/", tree)
                with open(os.path.join(tree, "loader/loader.conf")) as f:
                    conf = f.read()
                self.assertTrue(conf.endswith(f"\nsecure-boot-enroll {mode}\n"), conf)
                self.assertEqual(run("mtype", "-i", esp_of(os.path.join(out, "metal-amd64-secureboot.iso")),
                                     "::/loader/loader.conf").decode(), conf)
        bad = self.refused(b, "secureboot-iso", "--secureboot-enroll-keys", "sometimes")
        self.assertEqual(bad.returncode, 2)
        self.assertIn("invalid --secureboot-enroll-keys value", bad.stderr)
        old = self.refused(Build.get("1.13"), "secureboot-iso", "--secureboot-enroll-keys", "force")
        self.assertEqual(old.returncode, 1)
        self.assertIn("unknown flag: --secureboot-enroll-keys", old.stderr)

    def test_partial_enrolment_files_per_line(self):
        """1.14 refuses a partial PK/KEK/db.auth set (prepareEnrollmentDBs, exit 2); 1.13 copies the
        files present into the ISO (outISO), so that ISO carries PK.auth and no KEK or db."""
        for line in ("1.14", "1.13"):
            with self.subTest(line=line):
                b = Build.get(line)
                keys = os.path.join(b.dir, "partial-keys")
                if not os.path.isdir(keys):
                    shutil.copytree(b.keys, keys)
                    shutil.copy(os.path.join(b.iso_tree("metal-amd64-secureboot.iso"), "loader/keys/auto/PK.auth"), keys)
                out = os.path.join(b.dir, "partial")
                r = subprocess.run([MODEL, "secureboot-iso", "--output", out, "--keys", keys], capture_output=True, text=True,
                                   env=dict(os.environ, STANDIN_TALOS=line, STANDIN_VERSION=b.version))
                if line == "1.14":
                    self.assertEqual(r.returncode, 2, r.stderr)
                    self.assertIn("partial SecureBoot pre-built database configuration: missing "
                                  "Input.SecureBoot.KeyExchangeKeyPath, Input.SecureBoot.SignatureKeyPath", r.stderr)
                    self.assertFalse(os.path.exists(os.path.join(out, "metal-amd64-secureboot.iso")))
                else:
                    self.assertEqual(r.returncode, 0, r.stderr)
                    listing = run("xorriso", "-indev", os.path.join(out, "metal-amd64-secureboot.iso"), "-find",
                                  "/loader/keys/auto", "-type", "f").decode()
                    self.assertEqual(sorted(re.findall(r"[A-Za-z]+\.auth", listing)), ["PK.auth"])

    def test_exit_codes_per_line(self):
        """imager 1.14 exits 2 for invalid input (Validate's refusals arrive wrapped as invalid input,
        pkg/imager/imager.go); older imagers exit 1."""
        for line, code in (("1.14", 2), ("1.13", 1)):
            with self.subTest(line=line):
                r = self.refused(Build.get(line), "iso", "--output-kind", "kernel", "--extra-kernel-arg", "a=b")
                self.assertEqual(r.returncode, code)
                r = self.refused(Build.get(line), "secureboot-azure")
                self.assertEqual(r.returncode, code)

    def refused(self, b, *args):
        return subprocess.run([MODEL, *args, "--output", os.path.join(b.dir, "refused"), "--keys", b.keys],
                              capture_output=True, text=True,
                              env=dict(os.environ, STANDIN_TALOS=b.line, STANDIN_VERSION=b.version))

    def test_output_names_and_refusals(self):
        b = Build.get("1.13")
        out = os.path.join(b.dir, "kinds")
        for kind, name in (("kernel", "kernel-amd64"), ("initramfs", "initramfs-metal-amd64.xz"),
                           ("cmdline", "cmdline-metal-amd64")):
            b.model("iso", "--output-kind", kind, out=out)
            self.assertTrue(os.path.isfile(os.path.join(out, name)), name)
        b.model("secureboot-metal-uki", *LOCKDOWN, out=out)
        self.assertTrue(os.path.isfile(os.path.join(out, "metal-amd64-secureboot-uki.efi")))
        b.model("secureboot-metal", *LOCKDOWN, out=out)
        self.assertTrue(os.path.isfile(os.path.join(out, "metal-amd64-secureboot.raw.zst")))
        refused = self.refused(b, "iso", "--output-kind", "kernel", "--extra-kernel-arg", "a=b")
        self.assertEqual(refused.returncode, 1)  # 1.13: every error exits 1
        self.assertIn("customization of kernel args is not supported for kernel output", refused.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
