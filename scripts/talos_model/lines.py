"""What differs between Talos lines, as facts from siderolabs/talos.

Two things decide what imager writes: the imager's own code (its line: 1.9, 1.11, 1.13 or 1.14
here) and the Talos version it builds (the profile version; imager's "quirks" are keyed by it,
with any pre-release part ignored). The facts below cite the file each comes from; tags checked:
v1.9.0 (3cb25ceb3f3f), v1.11.0, v1.13.0 (b9e9c6579633), v1.13.9 (3ebd10a7c1bd) and
v1.14.0-rc.1 (7a84d742b3d5). The 1.14 line is v1.14.0-rc.1 plus the one change siderolabs/talos
issue #14237 reports v1.14.0 shipped with: no lockdown word by default (a72281e5b, on main).
pkg/machinery/imager/quirks/quirks.go is "quirks.go" below.
"""

import re
from dataclasses import dataclass

# The imager code lines this model imitates, and the version each builds by default.
LINES = {"1.9": "v1.9.0", "1.11": "v1.11.0", "1.13": "v1.13.0", "1.14": "v1.14.0"}
NEWEST = "1.14"
# imager's exit codes from 1.14 (pkg/installer/exitcode/exitcode.go Resolve, pkg/machinery/
# constants/constants.go Exit*); older imagers exit 1 for every error.
EXIT_CODES = {"unknown": 1, "invalid input": 2, "unsupported": 3, "environment": 4, "dependency": 5, "i/o": 6,
              "install": 7}


def parse_version(version):
    """(major, minor, patch) of "v1.11.2" or "1.11.2-rc.1"; None when it does not parse
    (quirks.go then assumes the newest Talos)."""
    m = re.fullmatch(r"v?(\d+)\.(\d+)\.(\d+)(?:[-+].*)?", version)
    return tuple(int(x) for x in m.groups()) if m else None


def line_of(version):
    """The model line that imager of `version` belongs to."""
    v = parse_version(version)
    if v is None or v >= (1, 14, 0):
        return "1.14"
    if v >= (1, 13, 0):
        return "1.13"
    if v >= (1, 10, 0):
        return "1.11"
    return "1.9"


@dataclass(frozen=True)
class Imager:
    """The imager code line (`line`) building Talos `version`."""

    line: str
    version: str

    def _at_least(self, minor, none_means=True):
        v = parse_version(self.version)
        if v is None:
            return none_means
        return v >= (1, minor, 0)

    # --- quirks of the version being built (quirks.go) ---
    @property
    def uki_profiles(self):  # SupportsUKIProfiles, >= 1.10 (and only imager code that has profiles)
        return self.line != "1.9" and self._at_least(10)

    @property
    def sdboot_for_uefi(self):  # UseSDBootForUEFI, >= 1.10; unparsable means false
        return self._at_least(10, none_means=False)

    @property
    def selinux(self):  # SupportsSELinux, >= 1.10
        return self._at_least(10)

    @property
    def ima(self):  # SupportsIMA, <= 1.10.99; unparsable means false
        v = parse_version(self.version)
        return v is not None and v < (1, 11, 0)

    @property
    def module_sig_enforce(self):  # SupportsDisablingModuleSignatureVerification, >= 1.12
        return self._at_least(12)

    @property
    def proc_mem_never(self):  # ProcMemOverrideNever, >= 1.13
        return self._at_least(13)

    @property
    def iso_bootloader_choice(self):  # ISOSupportsSettingBootloader, >= 1.12 (imager 1.12+ code)
        return self.line in ("1.13", "1.14") and self._at_least(12)

    @property
    def init_on_alloc(self):  # DropInitOnAllocInArgs, >= 1.14 (imager 1.14 code; 4aeba1cde)
        return not (self.line == "1.14" and self._at_least(14))

    @property
    def nvme_io_timeout(self):  # NvmeCoreIoTimeoutAWSOnly, >= 1.14: metal no longer gets it
        return not (self.line == "1.14" and self._at_least(14))

    @property
    def lockdown_confidentiality(self):
        """kernel.SecureBootArgs: lockdown=confidentiality in every imager up to 1.14.0-rc.1; the
        1.14 line adds it only below 1.14.0 (ForcesLockdownConfidentiality; unparsable means
        newest, so none)."""
        v = parse_version(self.version)
        return self.line != "1.14" or (v is not None and v < (1, 14, 0))

    @property
    def modern_defaults(self):
        """selinux=1, module.sig_enforce=1 and proc_mem.force_override=never are in the
        defaults of the 1.13+ code (the 1.9 and 1.11 code predate the last two)."""
        return self.line in ("1.13", "1.14")

    # --- imager 1.14's own code (v1.14.0-rc.1) ---
    @property
    def enroll_keys_flag(self):
        """--secureboot-enroll-keys off|manual|if-safe|force (cmd/installer/cmd/imager/root.go,
        applySDBootEnrollKeys; 506dc132344d)."""
        return self.line == "1.14"

    @property
    def random_seed(self):
        """A 32-byte loader/random-seed, mode 0444 in the tree and read-only (mattrib +r) in the
        ESP, in every CreateUEFI ISO (pkg/imager/iso/uefi.go; 6b6a4cc01)."""
        return self.line == "1.14"

    @property
    def esp_clusters(self):
        """mkfs.vfat -s from fatSectorsPerCluster (pkg/imager/iso/uefi.go; 68876cc1e, on main
        after rc.1, in the 1.14 line here as the release issue threads describe it)."""
        return self.line == "1.14"

    @property
    def refuses_partial_keys(self):
        """prepareEnrollmentDBs (pkg/imager/out.go): PK/KEK/db.auth all or none, else invalid
        input. Up to 1.13 outISO generates all three without PK.auth and otherwise copies only
        the files present (v1.13.0 pkg/imager/out.go, pkg/imager/iso/uefi.go)."""
        return self.line == "1.14"

    def exit_code(self, category):
        return EXIT_CODES[category] if self.line == "1.14" else 1

    # --- the imager's own code ---
    @property
    def native_assembler(self):
        """1.10+ assembles UKIs in Go (internal/pkg/uki/internal/pe/native.go); 1.9 runs objcopy
        (internal/pkg/secureboot/uki/assemble.go)."""
        return self.line != "1.9"

    @property
    def signs_linux_section(self):
        """1.9 puts the kernel Authenticode-signed into .linux (internal/pkg/secureboot/uki/
        generate.go, generateKernel); 1.10-1.13 sign into a shadowed variable, so .linux is the
        unsigned kernel (internal/pkg/uki/generate.go)."""
        return self.line == "1.9"

    @property
    def config_platform(self):
        """The installer's image config (pkg/imager/out.go, outInstaller): 1.9 builds on
        empty.Image and sets no architecture/os; 1.10-1.12 set them in a fresh ConfigFile with an
        empty rootfs.type; 1.13 and 1.14 start from empty.Image's ConfigFile (rootfs.type "layers")."""
        return {"1.9": "none", "1.11": "no-rootfs-type", "1.13": "oci", "1.14": "oci"}[self.line]

    @property
    def signed_uki_suffix(self):
        """imager >= 1.10 building a SecureBoot installer for a version < 1.10 names the UKI
        vmlinuz.efi.signed (pkg/imager/out.go, outInstaller)."""
        return self.line != "1.9" and not self.sdboot_for_uefi

    @property
    def has_uki_outputs(self):  # metal-uki / secureboot-metal-uki profiles (pkg/imager/profile/default.go, 1.10+)
        return self.line != "1.9"

    def plain_iso_layout(self, arch):
        """grub (1.8/1.9, or any version < 1.10), hybrid (GRUB + unsigned sd-boot), or sd-boot
        only (arm64 from 1.12): pkg/imager/out.go outISO, pkg/imager/profile/output.go
        selectBootloader."""
        if not self.sdboot_for_uefi or self.line == "1.9":
            return "grub"
        if self.iso_bootloader_choice and arch == "arm64":
            return "sdboot"
        return "hybrid"
