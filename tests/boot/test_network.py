#!/usr/bin/python3
"""Network boot of what `sbpipe run` publishes, judged by the firmware itself (issue 27).

`sbpipe run` builds v1.13.0 with the Talos imager model (scripts/standin-imager, `imager.pxe`
on: the kernel, initramfs, cmdline and signed UKI a network boot needs). Then, with Debian's
OVMF under qemu, a virtio NIC on qemu's user-mode network (restrict=on: the guest reaches only
qemu's own DHCP and TFTP servers, which serve the published directory; no host port is opened):

1. SecureBoot network boot: the owner's keys enrolled from the published ISO (enrol.py), the
   DHCP boot file is the published `metal-amd64-secureboot-uki.efi`, OVMF's own PXE client
   (NetworkPkg UefiPxeBcDxe) downloads it by TFTP and loads it: it must boot to the model's
   marker with the kernel saying "Secure boot enabled". The same UKI with its signature removed
   (sbattach), and re-signed by a key outside db, must be refused by the firmware ("Access
   Denied" from DxeImageVerificationHandler, as BdsDxe reports it).
2. Plain network boot: the firmware in setup mode (SecureBoot off), Debian's iPXE (`ipxe.efi`,
   package ipxe, 1.0.0+git-20190125) started from a disk as an iPXE boot stick is; its DHCP
   boot file is the iPXE script `metal-amd64.ipxe`, fetched by TFTP; the script loads
   `vmlinuz-amd64` and `initramfs-amd64.xz` by names relative to its own URL. The model must
   reach its marker with /proc/cmdline the script's kernel line: the published cmdline after the
   image name and the `initrd=` word (2019's iPXE hands the initramfs to the kernel's EFI stub
   only through that word under UEFI).

The iPXE script is the one `sbpipe run` publishes (the release plan renders it from the
published cmdline, src/release/ipxe.cpp); it is booted as published.
Usage: test_network.py SBPIPE SOURCE_DIR
"""

import concurrent.futures
import os
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import enrol  # noqa: E402
import firmware  # noqa: E402
import serial  # noqa: E402
from tools import make_owner_keys, run, sbpipe_run  # noqa: E402

SBPIPE = sys.argv.pop(1)
SOURCE = sys.argv.pop(1)
VERSION = "v1.13.0"
ARCH = "amd64"
IPXE = "/usr/lib/ipxe/ipxe.efi"  # Debian's ipxe package: iPXE for x86_64 UEFI, every driver
UKI = f"metal-{ARCH}-secureboot-uki.efi"
SCRIPT = f"metal-{ARCH}.ipxe"


def refused(lines):
    """Stop once BdsDxe says the firmware refused the image (OVMF would go on to PXE over IPv6
    and HTTP boot, which wait two minutes for answers qemu's network never gives)."""
    return any("BdsDxe: failed to load" in line and any(r in line for r in serial.REFUSALS) for line in lines)


class NetworkBootOfPublishedAssets(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.started = time.monotonic()
        for need in (IPXE, firmware.OVMF_CODE):
            if not os.path.isfile(need):
                raise AssertionError(f"missing {need}: run scripts/setup (packages ipxe, ovmf)")
        accel, why = firmware.accelerator()
        print(f"boot: firmware {firmware.OVMF_CODE}, accelerator {accel} ({why})", file=sys.stderr)
        cls.tmp = tempfile.mkdtemp(prefix="sbpipe-netboot-")
        cls.keys = os.path.join(cls.tmp, "keys")
        make_owner_keys(cls.keys)
        cls.published = cls.release()
        cls.script = os.path.join(cls.published, SCRIPT)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)
        print(f"boot: network boot checked in {time.monotonic() - cls.started:.0f} s", file=sys.stderr)

    @classmethod
    def release(cls):
        """sbpipe run of VERSION with the model imager and network-boot assets: the published directory."""
        imager = "  outputs: [secureboot-iso]\n  pxe: true\n  extra_kernel_args: [console=ttyS0]\n"
        r, published, _ = sbpipe_run(SBPIPE, SOURCE, cls.tmp, "netboot", VERSION, cls.keys, imager)
        if r.returncode != 0:
            raise AssertionError(f"sbpipe run failed ({r.returncode}):\n{r.stderr.decode(errors='replace')[-4000:]}")
        for name in (UKI, SCRIPT, f"vmlinuz-{ARCH}", f"initramfs-{ARCH}.xz", f"cmdline-metal-{ARCH}",
                     f"metal-{ARCH}-secureboot.iso"):
            if not os.path.isfile(os.path.join(published, name)):
                raise AssertionError(f"sbpipe run did not publish {name} (published: {sorted(os.listdir(published))})")
        return published

    def enrolled_vars(self):
        """NVRAM enrolled with the keys of the published SecureBoot ISO, as a node's first boot does."""
        tree = os.path.join(self.tmp, "iso-tree")
        run("xorriso", "-osirrox", "on", "-indev", os.path.join(self.published, f"metal-{ARCH}-secureboot.iso"), "-extract", "/",
            tree)
        enrolled = os.path.join(self.tmp, "enrolled.fd")
        t = time.monotonic()
        enrol.enrol(enrolled, os.path.join(tree, "EFI", "BOOT", "BOOTX64.EFI"), os.path.join(tree, "loader", "keys", "auto"),
                    self.tmp)
        print(f"boot: enrolled the ISO's keys in {time.monotonic() - t:.0f} s", file=sys.stderr)
        return enrolled

    def test_secureboot_pxe_boots_the_signed_uki_and_refuses_others(self):
        enrolled = self.enrolled_vars()
        # The TFTP root: the published UKI, and the two the firmware must refuse made from it.
        tftp = os.path.join(self.tmp, "tftp")
        os.makedirs(tftp)
        os.link(os.path.join(self.published, UKI), os.path.join(tftp, UKI))
        unsigned = os.path.join(tftp, "unsigned-uki.efi")
        shutil.copyfile(os.path.join(self.published, UKI), unsigned)
        run("sbattach", "--remove", unsigned)
        other = os.path.join(self.tmp, "other-keys")
        make_owner_keys(other, "Not the owner")
        foreign = os.path.join(tftp, "foreign-uki.efi")
        run("sbsign", "--key", f"{other}/uki-signing-key.pem", "--cert", f"{other}/uki-signing-cert.pem", "--output", foreign,
            unsigned)
        cases = {"signed": UKI, "unsigned": "unsigned-uki.efi", "foreign-signed": "foreign-uki.efi"}

        def machine(case):
            vars_copy = shutil.copyfile(enrolled, os.path.join(self.tmp, f"vars-pxe-{case}.fd"))
            medium = firmware.Medium.network(tftp, cases[case], case)
            return case, firmware.boot([medium], vars_copy, os.path.join(self.tmp, f"pxe-{case}.log"), stop_when=refused)

        # One machine per boot file (OVMF tries one NIC's every network boot option before the
        # next NIC's), two at a time.
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            results = dict(pool.map(machine, ["unsigned", "signed", "foreign-signed"]))
        for case, result in results.items():
            outcome = result.outcomes[case]
            print(f"boot: PXE {cases[case]}: {outcome.verdict} in {result.seconds:.0f} s", file=sys.stderr)
            with self.subTest(uki=case):
                self.assertTrue(any("NBP file downloaded successfully" in line for line in result.lines),
                                f"{case}: the firmware never downloaded {cases[case]} by TFTP:\n" + "\n".join(result.lines[-20:]))
                if case == "signed":
                    self.assertEqual(outcome.verdict, "boots", f"the published signed UKI over PXE: {outcome.detail}")
                    self.assertTrue(outcome.secure_boot)
                    self.assertIn(f"version={VERSION}", outcome.marker)
                    self.assertIn("lockdown=integrity", outcome.marker)
                else:
                    self.assertEqual(outcome.verdict, "refused", f"{case} UKI over PXE: {outcome.detail}")

    def test_ipxe_boots_the_published_script_kernel_and_initramfs(self):
        stick = os.path.join(self.tmp, "ipxe-stick")
        os.makedirs(os.path.join(stick, "EFI", "BOOT"))
        shutil.copyfile(IPXE, os.path.join(stick, "EFI", "BOOT", "BOOTX64.EFI"))
        vars_file = firmware.fresh_vars(os.path.join(self.tmp, "vars-ipxe.fd"))  # setup mode: SecureBoot off
        media = [firmware.Medium.esp_dir(stick, "ipxe"), firmware.Medium.network(self.published, os.path.basename(self.script))]
        result = firmware.boot(media, vars_file, os.path.join(self.tmp, "ipxe.log"), deadline=360,
                               secure_boot=firmware.SecureBoot.off)
        outcome = result.outcomes["ipxe"]
        print(f"boot: iPXE {os.path.basename(self.script)}: {outcome.verdict} in {result.seconds:.0f} s", file=sys.stderr)
        self.assertEqual(outcome.verdict, "boots", f"iPXE with the published script: {outcome.detail}\n" +
                         "\n".join(result.lines[-30:]))
        self.assertTrue(any(f"{os.path.basename(self.script)} : " in line and "[script]" in line for line in result.lines),
                        "iPXE did not run the script")
        self.assertFalse(outcome.secure_boot)
        with open(os.path.join(self.published, f"cmdline-metal-{ARCH}")) as f:
            cmdline = f.read().strip()
        # iPXE passes the image name, then the kernel line's words, as the EFI load options.
        self.assertIn(f"cmdline=[vmlinuz-{ARCH} initrd=initramfs-{ARCH}.xz {cmdline}]", outcome.marker)
        self.assertIn(f"version={VERSION}", outcome.marker)


if __name__ == "__main__":
    unittest.main(verbosity=2)
