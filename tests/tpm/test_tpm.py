#!/usr/bin/python3
"""The node's own verdict on sbpipe's PCR 11 gate, from judges no one here wrote:

- systemd-measure calculate (systemd 252) predicts PCR 11 for the sections it knows: sbpipe's
  predicted values (verify --format json) must equal it, for every bank and phase;
- a software TPM (swtpm, driven with tpm2-tools) seals a secret the way Talos seals a disk key
  (siderolabs/talos internal/pkg/secureboot/tpm2/seal.go: PolicyAuthorize to the PCR public key's
  name, then PolicyPCR over PCR 7), PCR 11 is extended as systemd-stub and Talos extend it for a
  UKI profile, and the secret is unsealed as a node does (unseal.go: PolicyPCR(11), the
  signature from .pcrsig checked by the TPM, PolicyAuthorize, PolicyPCR(7)). It must unseal
  exactly when sbpipe verify says the profile's PCR 11 policy is good and its key is the sealed
  one, and fail for another PCR key, a .pcrsig from another build, a .cmdline changed after
  signing, and a boot that misses the enter-machined phase.

The UKIs are the Talos model's (scripts/standin-imager), all lines and profiles.
Usage: test_tpm.py SBPIPE SOURCE_DIR
"""

import base64
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from suite_support import make_owner_keys, stop_process  # noqa: E402
from uki_pcr import PHASES, boot_events, pe_sections, profiles  # noqa: E402

SBPIPE = sys.argv.pop(1)
SOURCE = sys.argv.pop(1)
MODEL = os.path.join(SOURCE, "scripts", "standin-imager")
STUB = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"
LINES = {"1.9": "v1.9.0", "1.11": "v1.11.0", "1.13": "v1.13.0"}
LOCKDOWN = ["--extra-kernel-arg", "-lockdown", "--extra-kernel-arg", "lockdown=integrity"]


def run(*args, check=True, **kw):
    r = subprocess.run([str(a) for a in args], capture_output=True, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{args[0]} failed ({r.returncode}): {r.stderr.decode(errors='replace')}")
    return r


class SoftwareTpm:
    """swtpm on a unix socket, stopped by PID; tpm2-tools through the swtpm TCTI."""

    def __init__(self, workdir):
        self.dir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.sock = os.path.join(workdir, "tpm.sock")
        self.proc = subprocess.Popen(["swtpm", "socket", "--tpm2", "--tpmstate", "dir=" + workdir, "--server",
                                      "type=unixio,path=" + self.sock, "--ctrl", "type=unixio,path=" + self.sock + ".ctrl",
                                      "--flags", "startup-clear"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            if os.path.exists(self.sock) and os.path.exists(self.sock + ".ctrl"):
                break
            time.sleep(0.025)
        self.env = dict(os.environ, TPM2TOOLS_TCTI="swtpm:path=" + self.sock)

    def stop(self):
        stop_process(self.proc)

    def tool(self, *args, check=True):
        return run(*args, check=check, env=self.env, cwd=self.dir)

    def flush(self):
        self.tool("tpm2_flushcontext", "-t")
        self.tool("tpm2_flushcontext", "-s")

    def key_name(self, pub_pem, ctx):
        self.tool("tpm2_loadexternal", "-C", "o", "-G", "rsa", "-u", pub_pem, "-c", ctx, "-n", ctx + ".name", "-Q")
        return ctx + ".name"

    def seal(self, secret, pcr_public_pem):
        """A sealed object bound to PolicyAuthorize(name of the PCR key) + PolicyPCR(sha256:7)."""
        self.flush()
        name = self.key_name(pcr_public_pem, "seal-key.ctx")
        self.tool("tpm2_startauthsession", "-S", "trial.ctx")
        self.tool("tpm2_policyauthorize", "-S", "trial.ctx", "-L", "authorize.pol", "-n", name)
        self.tool("tpm2_policypcr", "-S", "trial.ctx", "-l", "sha256:7", "-L", "seal.pol")
        self.flush()
        with open(os.path.join(self.dir, "secret"), "wb") as f:
            f.write(secret)
        self.tool("tpm2_createprimary", "-C", "o", "-c", "primary.ctx", "-Q")
        self.tool("tpm2_create", "-C", "primary.ctx", "-u", "sealed.pub", "-r", "sealed.priv", "-L", "seal.pol", "-a",
                  "fixedtpm|fixedparent", "-i", "secret", "-Q")
        self.flush()

    def extend(self, events):
        for digest in events:
            self.tool("tpm2_pcrextend", f"11:sha256={digest}")

    def pcr11(self):
        out = self.tool("tpm2_pcrread", "sha256:11").stdout.decode()
        return out.strip().split("0x")[-1].lower()

    def unseal(self, pcrsig_json, boot_key_pem):
        """As Talos unseals: the sha256 entry whose pol is the TPM's PolicyPCR(11) digest, its
        signature checked by the TPM, then PolicyAuthorize and PolicyPCR(7). None when refused."""
        self.flush()
        self.tool("tpm2_startauthsession", "--policy-session", "-S", "session.ctx")
        self.tool("tpm2_policypcr", "-S", "session.ctx", "-l", "sha256:11", "-L", "current.pol")
        current = open(os.path.join(self.dir, "current.pol"), "rb").read()
        entry = next((e for e in json.loads(pcrsig_json).get("sha256", []) if bytes.fromhex(e["pol"]) == current), None)
        if entry is None:
            return None  # "no signatures matching PCR SHA256 digest found"
        with open(os.path.join(self.dir, "approved.pol"), "wb") as f:
            f.write(current)
        with open(os.path.join(self.dir, "approved.sig"), "wb") as f:
            f.write(base64.b64decode(entry["sig"]))
        name = self.key_name(boot_key_pem, "boot-key.ctx")
        if self.tool("tpm2_verifysignature", "-c", "boot-key.ctx", "-g", "sha256", "-m", "approved.pol", "-f", "rsassa", "-s",
                     "approved.sig", "-t", "verified.tkt", check=False).returncode != 0:
            return None
        self.tool("tpm2_flushcontext", "-t")
        self.tool("tpm2_policyauthorize", "-S", "session.ctx", "-i", "approved.pol", "-n", name, "-t", "verified.tkt")
        self.tool("tpm2_policypcr", "-S", "session.ctx", "-l", "sha256:7")
        self.tool("tpm2_createprimary", "-C", "o", "-c", "primary.ctx", "-Q")
        self.tool("tpm2_load", "-C", "primary.ctx", "-u", "sealed.pub", "-r", "sealed.priv", "-c", "sealed.ctx", "-Q")
        # Without a resource manager every context file loads a new copy: free the slots first.
        self.tool("tpm2_flushcontext", "-t")
        r = self.tool("tpm2_unseal", "-c", "sealed.ctx", "-p", "session:session.ctx", check=False)
        return r.stdout if r.returncode == 0 else None


def model_uki(line, keys, out, env=None):
    """The model's signed SecureBoot UKI (the metal UKI output for 1.10+, the ISO's for 1.9)."""
    e = dict(os.environ, STANDIN_TALOS=line, STANDIN_VERSION=LINES[line], **(env or {}))
    run(MODEL, "secureboot-iso", *LOCKDOWN, "--output", out, "--keys", keys, env=e)
    tree = out + "-tree"
    run("xorriso", "-osirrox", "on", "-indev", f"{out}/metal-amd64-secureboot.iso", "-extract", "/EFI/Linux", tree)
    return os.path.join(tree, f"Talos-{LINES[line]}.efi")


def sbpipe_verdicts(uki, keys, pcr_pub):
    r = run(SBPIPE, "verify", "--format", "json", uki, "--cert", f"{keys}/uki-signing-cert.pem", "--pcr-pubkey", pcr_pub,
            check=False)
    binary = json.loads(r.stdout)["binaries"][0]
    key_ok = ".pcrpkey is not the given PCR public key" not in binary["reason"]
    return {p["id"]: (p["pcr11"]["ok"] and key_ok, p["pcr11"]) for p in binary["profiles"]}


def dump(uki, section, nth=0):
    return dict(enumerate(c for n, c in pe_sections(uki) if n == section))[nth]


class NodeVerdict(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="sbpipe-tpm-")
        cls.keys = os.path.join(cls.tmp, "keys")
        make_owner_keys(cls.keys)
        cls.other = os.path.join(cls.tmp, "other-keys")
        make_owner_keys(cls.other, "Other")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def node(self, name):
        tpm = SoftwareTpm(os.path.join(self.tmp, name))
        self.addCleanup(tpm.stop)
        return tpm

    def boot_and_unseal(self, tag, uki, profile_id, sealed_to, phases=PHASES):
        """A fresh node sealed to `sealed_to`, booted into `uki`'s profile: the secret or None."""
        tpm = self.node(tag)
        tpm.seal(b"disk-key-" + tag.encode(), sealed_to)
        sections = profiles(uki)[profile_id]
        tpm.extend(boot_events(sections, phases))
        return tpm, tpm.unseal(sections[".pcrsig"].rstrip(b"\0").decode(), self.write(tag + ".pem", sections[".pcrpkey"]))

    def write(self, name, data):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def test_good_builds_unseal_on_every_line_and_profile(self):
        pub = f"{self.keys}/pcr-signing-key.pub.pem"
        for line in LINES:
            uki = model_uki(line, self.keys, os.path.join(self.tmp, "good-" + line))
            verdicts = sbpipe_verdicts(uki, self.keys, pub)
            for pid in profiles(uki):
                with self.subTest(line=line, profile=pid):
                    tpm, secret = self.boot_and_unseal(f"good-{line}-{pid or 'base'}", uki, pid, pub)
                    ok, pcr11 = verdicts[pid]
                    self.assertTrue(ok, pcr11["problems"])
                    self.assertEqual(secret, f"disk-key-good-{line}-{pid or 'base'}".encode())
                    # sbpipe's predicted PCR 11 is the value the TPM holds after the boot.
                    self.assertEqual(pcr11["predicted"]["sha256"]["enter-machined"], tpm.pcr11())

    def test_what_sbpipe_refuses_does_not_unseal(self):
        pub = f"{self.keys}/pcr-signing-key.pub.pem"
        good = model_uki("1.13", self.keys, os.path.join(self.tmp, "ref-1.13"))
        cases = {}
        # Another PCR key: a build signed (and .pcrpkey'd) with the other key set's PCR key.
        cases["another PCR key"] = model_uki("1.13", self.other, os.path.join(self.tmp, "otherkey"))
        # A .pcrsig from another build: the good UKI's sections with the .pcrsig of a build with another cmdline.
        donor = model_uki("1.11", self.keys, os.path.join(self.tmp, "donor"))
        cases["a .pcrsig from another build"] = self.swap_section(good, ".pcrsig", dump(donor, ".pcrsig"), "stale")
        # The .cmdline changed after signing (same length, then re-signed Authenticode-wise).
        cmdline = dump(good, ".cmdline")
        cases["a .cmdline changed after signing"] = self.swap_section(good, ".cmdline", cmdline.replace(b"pti=on", b"pti=of"), "edited")
        for what, uki in cases.items():
            with self.subTest(case=what):
                verdicts = sbpipe_verdicts(uki, self.keys, pub)
                ok, pcr11 = verdicts["main"]
                self.assertFalse(ok, what)
                _, secret = self.boot_and_unseal(what.replace(" ", "-").replace(".", ""), uki, "main", pub)
                self.assertIsNone(secret, what)
        with self.subTest(case="a boot that misses the enter-machined phase"):
            ok, _ = sbpipe_verdicts(good, self.keys, pub)["main"]
            self.assertTrue(ok)
            _, secret = self.boot_and_unseal("no-machined", good, "main", pub, phases=PHASES[:2])
            self.assertIsNone(secret)

    def swap_section(self, uki, name, content, tag):
        """`uki` with the first `name` section's bytes replaced in place (same size), re-signed with
        the owner's UKI key so only the PCR policy can object."""
        data = bytearray(open(uki, "rb").read())
        pe = struct.unpack_from("<I", data, 0x3C)[0]
        count, opt_size = struct.unpack_from("<H", data, pe + 6)[0], struct.unpack_from("<H", data, pe + 20)[0]
        table = pe + 24 + opt_size
        for i in range(count):
            h = data[table + 40 * i:table + 40 * (i + 1)]
            if h[:8].rstrip(b"\0").decode() == name:
                vs, _, rs, rp = struct.unpack_from("<IIII", h, 8)
                content = content[:vs] + bytes(max(0, vs - len(content)))
                data[rp:rp + vs] = content[:vs]
                break
        unsigned = self.write(tag + "-unsigned.efi", bytes(data))
        run("sbattach", "--remove", unsigned)
        out = os.path.join(self.tmp, tag + ".efi")
        run("sbsign", "--key", f"{self.keys}/uki-signing-key.pem", "--cert", f"{self.keys}/uki-signing-cert.pem", "--output", out,
            unsigned)
        return out


class SystemdMeasure(unittest.TestCase):
    """sbpipe's predictions against systemd-measure calculate, for UKIs holding only the sections
    systemd 252 knows (a stub without .sbat; .linux .osrel .cmdline .initrd .splash .pcrpkey)."""

    def test_predictions_equal_systemd_measure(self):
        tmp = tempfile.mkdtemp(prefix="sbpipe-measure-")
        self.addCleanup(shutil.rmtree, tmp, True)
        keys = os.path.join(tmp, "keys")
        make_owner_keys(keys)
        stub = os.path.join(tmp, "stub.efi")
        run("objcopy", "--remove-section", ".sbat", STUB, stub)
        variants = {"plain": {}, "splash": {".splash": b"BM" + os.urandom(300)}, "long": {".cmdline": b"a=b " * 500}}
        for name, extra in variants.items():
            with self.subTest(variant=name):
                contents = {".osrel": b'NAME="Talos"\nID=talos\nVERSION_ID=v1.13.0\n', ".cmdline": b"lockdown=integrity",
                            ".pcrpkey": open(f"{keys}/pcr-signing-key.pub.pem", "rb").read(),
                            ".linux": os.urandom(200000), ".initrd": os.urandom(100000), **extra}
                args, vma = [], 0x2000000
                for sec, data in contents.items():
                    path = os.path.join(tmp, name + sec)
                    open(path, "wb").write(data)
                    args += ["--add-section", f"{sec}={path}", "--change-section-vma", f"{sec}=0x{vma:x}"]
                    vma += (len(data) + 0xFFFF) & ~0xFFFF
                unsigned = os.path.join(tmp, name + "-unsigned.efi")
                run("objcopy", *args, stub, unsigned)
                uki = os.path.join(tmp, name + ".efi")
                run("sbsign", "--key", f"{keys}/uki-signing-key.pem", "--cert", f"{keys}/uki-signing-cert.pem", "--output", uki,
                    unsigned)
                report = json.loads(run(SBPIPE, "verify", "--format", "json", uki, "--cert", f"{keys}/uki-signing-cert.pem",
                                        check=False).stdout)
                predicted = report["binaries"][0]["profiles"][0]["pcr11"]["predicted"]
                files = [f"--{sec[1:]}={os.path.join(tmp, name + sec)}" for sec in contents]
                phases = ["enter-initrd", "enter-initrd:leave-initrd", "enter-initrd:leave-initrd:enter-machined"]
                measured = json.loads(run("/lib/systemd/systemd-measure", "calculate", "--bank=sha256", "--bank=sha384",
                                          "--bank=sha512", *[f"--phase={p}" for p in phases], "--json=short", *files).stdout)
                for bank, entries in measured.items():
                    by_phase = {e["phase"]: e["hash"] for e in entries}
                    self.assertEqual(predicted[bank]["enter-initrd"], by_phase[phases[0]], bank)
                    self.assertEqual(predicted[bank]["leave-initrd"], by_phase[phases[1]], bank)
                    self.assertEqual(predicted[bank]["enter-machined"], by_phase[phases[2]], bank)


if __name__ == "__main__":
    unittest.main(verbosity=2)
