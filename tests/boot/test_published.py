#!/usr/bin/python3
"""What sbpipe publishes boots under UEFI SecureBoot, judged by the firmware itself.

`sbpipe run` builds a release with the Talos imager model (scripts/standin-imager, Talos 1.14,
`imager.enroll_keys: force`, `dir:` target, the installer pushed to a loopback docker-registry).
Then, with Debian's OVMF (SecureBoot build) under qemu:

1. the published SecureBoot ISO, from a node's first boot, unattended: fresh NVRAM in setup mode,
   the ISO boots from the CD drive and its own systemd-boot reads its loader.conf
   (`secure-boot-enroll force`, which `--secureboot-enroll-keys force` wrote) and enrols its own
   loader/keys/auto/*.auth, the firmware resets, and the ISO boots again with SecureBoot
   enforcing. (imager's default, `if-safe`, is unknown to Debian 12's systemd-boot 252, which
   knows off, manual and force: enrol.py's test-made ESP stands in for it in the corpus.)
2. the installer image as nodes pull it (read back from the registry with skopeo): its
   systemd-boot.efi and vmlinuz.efi laid out on an ESP as Talos's installer writes them
   (internal/app/machined/pkg/runtime/v1alpha1/bootloader/sdboot/sdboot.go, install:
   EFI/boot/BOOTX64.efi and EFI/Linux/Talos-<version>.efi), with the NVRAM enrolled in 1.

Both must reach the model's marker with the kernel saying "Secure boot enabled".
Usage: test_published.py SBPIPE SOURCE_DIR
"""

import os
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import enrol  # noqa: E402
import firmware  # noqa: E402
from talos_install import installer_boot_files  # noqa: E402
from tools import Registry, fat_image, make_owner_keys, run, sbpipe_run  # noqa: E402

SBPIPE = sys.argv.pop(1)
SOURCE = sys.argv.pop(1)
VERSION = "v1.14.0"


class PublishedArtifactsBoot(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.started = time.monotonic()
        accel, why = firmware.accelerator()
        print(f"boot: firmware {firmware.OVMF_CODE}, accelerator {accel} ({why})", file=sys.stderr)
        cls.tmp = tempfile.mkdtemp(prefix="sbpipe-boot-")
        cls.keys = os.path.join(cls.tmp, "keys")
        make_owner_keys(cls.keys)
        cls.registry = Registry(os.path.join(cls.tmp, "registry"))
        try:
            cls.published, cls.installer_ref = cls.release()
        except BaseException:
            cls.registry.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.registry.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        print(f"boot: published artifacts checked in {time.monotonic() - cls.started:.0f} s", file=sys.stderr)

    @classmethod
    def release(cls):
        """sbpipe run of VERSION with the model imager: the published directory and the installer ref."""
        repo = f"127.0.0.1:{cls.registry.port}/boot/installer"
        imager = ("  outputs: [secureboot-installer, secureboot-iso, iso]\n  extra_kernel_args: [console=ttyS0]\n"
                  "  enroll_keys: force\n")
        r, published, _ = sbpipe_run(SBPIPE, SOURCE, cls.tmp, "boot", VERSION, cls.keys, imager, repo,
                                     {"STANDIN_TALOS": "1.14"})
        if r.returncode != 0:
            raise AssertionError(f"sbpipe run failed ({r.returncode}):\n{r.stderr.decode(errors='replace')[-4000:]}")
        return published, f"{repo}:{VERSION}"

    def assert_boots(self, outcome, what):
        self.assertEqual(outcome.verdict, "boots", f"{what}: {outcome.detail}")
        self.assertTrue(outcome.secure_boot, what)
        self.assertIn(f"version={VERSION}", outcome.marker)
        self.assertIn("lockdown=integrity", outcome.marker)

    def test_published_iso_then_installer_boot_under_secureboot(self):
        iso = os.path.join(self.published, "metal-amd64-secureboot.iso")
        self.assertTrue(os.path.isfile(iso), f"not published: {iso}")
        verified = run(SBPIPE, "verify", iso, "--cert", os.path.join(self.keys, "uki-signing-cert.pem")).stdout.decode()
        self.assertIn("secure-boot-enroll force: systemd-boot enrols the keys unattended", verified)
        enrolled = os.path.join(self.tmp, "enrolled.fd")
        firmware.fresh_vars(enrolled)
        t = time.monotonic()
        first = firmware.boot([firmware.Medium.cdrom(iso, "iso")], enrolled, os.path.join(self.tmp, "first-boot.log"),
                              deadline=240, stop_when=lambda lines: any(line.startswith("Failed to write") for line in lines))
        print(f"boot: the ISO's first boot ended ({first.ended}) in {time.monotonic() - t:.0f} s", file=sys.stderr)
        self.assertEqual(first.ended, "reset", "the ISO did not enrol its keys and reset; console:\n" + "\n".join(first.lines[-30:]))
        self.assertTrue(any(enrol.ENROL_MESSAGE in line for line in first.lines), "\n".join(first.lines[-30:]))

        with self.subTest(artifact="SecureBoot ISO"):
            vars_copy = shutil.copyfile(enrolled, os.path.join(self.tmp, "vars-iso.fd"))
            result = firmware.boot([firmware.Medium.cdrom(iso, "iso")], vars_copy, os.path.join(self.tmp, "iso.log"))
            print(f"boot: published ISO: {result.outcomes['iso'].verdict} in {result.seconds:.0f} s", file=sys.stderr)
            self.assert_boots(result.outcomes["iso"], "the published SecureBoot ISO")

        with self.subTest(artifact="installer"):
            files = installer_boot_files(self.installer_ref, self.tmp)
            esp = fat_image(os.path.join(self.tmp, "installer-esp.img"), {
                "EFI/boot/BOOTX64.efi": files["systemd-boot.efi"],
                f"EFI/Linux/Talos-{VERSION}.efi": files["vmlinuz.efi"],
            })
            vars_copy = shutil.copyfile(enrolled, os.path.join(self.tmp, "vars-installer.fd"))
            result = firmware.boot([firmware.Medium.esp_image(esp, "installer")], vars_copy,
                                   os.path.join(self.tmp, "installer.log"))
            print(f"boot: installer ESP: {result.outcomes['installer'].verdict} in {result.seconds:.0f} s", file=sys.stderr)
            self.assert_boots(result.outcomes["installer"], "the installer's systemd-boot.efi + vmlinuz.efi")


if __name__ == "__main__":
    unittest.main()
