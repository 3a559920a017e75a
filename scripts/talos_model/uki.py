"""A UKI and its systemd-boot, built the way imager builds them.

1.10+ (internal/pkg/uki/uki.go BuildSigned, generate.go, pkg/imager/imager.go buildUKI): sections
in this order: .sbat (the stub's own, not appended), .osrel, .cmdline, .uname (when the kernel
version is known), .splash, .pcrpkey (signed builds), .linux (unsigned), .initrd, then the
profiles: `.profile` "ID=main" and its `.pcrsig`, then each extra profile's `.profile` (ID and
TITLE), its `.cmdline` (base cmdline + the wipe argument) and its `.pcrsig`. The extra profile is
`reset` on ISOs and `reset-maintenance` on installers and disk images. Each profile's `.pcrsig`
covers the base sections with that profile's sections replacing those of the same name.

1.8/1.9 (internal/pkg/secureboot/uki/uki.go Build, generate.go): appended with objcopy in the
order .osrel .cmdline .initrd .splash .uname .pcrpkey .linux .pcrsig (.sbat is the stub's), with
.linux the kernel Authenticode-signed by the UKI key, and one `.pcrsig` over everything.

Everything is then signed with sbsign (Authenticode SHA-256; Talos uses go-uefi's signer).
STANDIN_SIGN=none leaves both binaries unsigned; STANDIN_SIGN=wrong signs them with a throwaway
key."""

import os
import struct
import subprocess
import tempfile

from . import pcr, pe

DEBIAN_SYSTEMD_EFI = "/usr/lib/systemd/boot/efi"
WIPE = "talos.experimental.wipe"
MACHINE = {"amd64": 0x8664, "arm64": 0xAA64}


def systemd_efi(name):
    """The systemd EFI binary `name` (linuxx64.efi.stub, systemd-bootx64.efi) the model builds
    with: Debian 12's (systemd 252), or those in $STANDIN_SYSTEMD_EFI (a directory; the boot
    tests point it at systemd 257's, the stub Talos ships, which measures what sbpipe predicts).
    Exits when the directory lacks it."""
    directory = os.environ.get("STANDIN_SYSTEMD_EFI") or DEBIAN_SYSTEMD_EFI
    path = os.path.join(directory, name)
    if not os.path.isfile(path):
        raise SystemExit(f"standin-imager: no {path} (STANDIN_SYSTEMD_EFI={directory}; scripts/setup installs it)")
    return path


def relabel(data, arch):
    """Debian's x64 binary as built, or for arm64 the same bytes with the COFF machine set to
    AArch64: Debian's amd64 packages hold no aa64 stub or systemd-boot, so the model's arm64
    binaries have the right shape and machine type for the pipeline but do not boot. Relabelled
    before signing, so their signatures are right."""
    if arch == "amd64":
        return data
    out = bytearray(data)
    struct.pack_into("<H", out, pe.PeFile(data).pe + 4, MACHINE[arch])
    return bytes(out)


def os_release(version):
    """constants.OSReleaseTemplate (pkg/machinery/constants/constants.go), name "Talos"."""
    return (f'NAME="Talos"\nID=talos\nVERSION_ID={version}\nPRETTY_NAME="Talos ({version})"\n'
            'HOME_URL="https://www.talos.dev/"\nBUG_REPORT_URL="https://github.com/siderolabs/talos/issues"\n'
            'VENDOR_NAME="Sidero Labs"\nVENDOR_URL="https://www.siderolabs.com/"\n').encode()


def splash():
    """A small BMP (Talos embeds its logo, pkg/splash): 4x4, 24 bits, one colour."""
    w = h = 4
    row = bytes([0x9C, 0x2C, 0xFF]) * w  # BGR
    pixels = row * h
    header = b"BM" + struct.pack("<IHHI", 54 + len(pixels), 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    return header + info + pixels


def extra_profiles(kind, cmdline):
    """pkg/imager/imager.go buildUKI. STANDIN_EXTRA_PROFILE_ARGS (a test hook, not imager's)
    appends words to the extra profile's cmdline, to test the gate on profiles."""
    hook = os.environ.get("STANDIN_EXTRA_PROFILE_ARGS", "")
    hook = " " + hook if hook else ""
    if kind == "iso":
        return [("reset", "Reset system disk", f"{cmdline} {WIPE}=system{hook}")]
    if kind in ("image", "installer"):
        return [("reset-maintenance", "Reset to maintenance mode", f"{cmdline} {WIPE}=system:EPHEMERAL,STATE{hook}")]
    return []


def profile_text(pid, title=None):
    """uki.Profile.String: "ID=<id>", then "\\nTITLE=<title>" when there is one (no final newline)."""
    return f"ID={pid}" + (f"\nTITLE={title}" if title else "")


class Signer:
    """sbsign with the owner's UKI key, nothing, or a throwaway key (STANDIN_SIGN)."""

    def __init__(self, keys, scratch):
        self.mode = os.environ.get("STANDIN_SIGN", "good")
        self.key = os.path.join(keys, "uki-signing-key.pem")
        self.cert = os.path.join(keys, "uki-signing-cert.pem")
        if self.mode == "wrong":
            self.key, self.cert = os.path.join(scratch, "wrong.key"), os.path.join(scratch, "wrong.crt")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", self.key, "-out",
                            self.cert, "-days", "1", "-subj", "/CN=not-the-owner"], check=True, capture_output=True)

    def sign(self, data, scratch, name):
        if self.mode == "none":
            return data
        src, dst = os.path.join(scratch, name + ".unsigned"), os.path.join(scratch, name + ".signed")
        with open(src, "wb") as f:
            f.write(data)
        subprocess.run(["sbsign", "--key", self.key, "--cert", self.cert, "--output", dst, src], check=True,
                       capture_output=True)
        return open(dst, "rb").read()


def _pcr_public_pem(pcr_key):
    return subprocess.run(["openssl", "rsa", "-in", pcr_key, "-pubout"], check=True, capture_output=True).stdout


def build(imager, arch, kind, secureboot, cmdline, kernel, initrd, kernel_version, keys, signer):
    """(systemd-boot bytes, UKI bytes); signed when `secureboot`."""
    pcr_key = os.path.join(keys, "pcr-signing-key.pem")
    with tempfile.TemporaryDirectory() as scratch:
        stub = systemd_efi("linuxx64.efi.stub")
        sbat = pe.PeFile(open(stub, "rb").read()).section_data(".sbat")
        # (the random kernel of STANDIN_KERNEL=random and arm64 is no PE, so it stays unsigned)
        sign_linux = secureboot and imager.signs_linux_section and kernel[:2] == b"MZ"
        linux = signer.sign(kernel, scratch, "kernel") if sign_linux else kernel
        sections = []  # [pe.Section], in file order; measured = everything but .pcrsig
        add = lambda name, data, append=True: sections.append(pe.Section(name, data, append))
        if imager.native_assembler:
            add(".sbat", sbat, append=False)
            add(".osrel", os_release(imager.version))
            add(".cmdline", cmdline.encode())
            if kernel_version:
                add(".uname", kernel_version.encode())
            add(".splash", splash())
            if secureboot:
                add(".pcrpkey", _pcr_public_pem(pcr_key))
            add(".linux", linux)
            add(".initrd", initrd)
        else:
            add(".osrel", os_release(imager.version))
            add(".cmdline", cmdline.encode())
            add(".initrd", initrd)
            add(".splash", splash())
            if kernel_version:
                add(".uname", kernel_version.encode())
            add(".sbat", sbat, append=False)
            if secureboot:
                add(".pcrpkey", _pcr_public_pem(pcr_key))
            add(".linux", linux)
        base = {s.name: s.data for s in sections}
        if imager.uki_profiles:
            profiles = [("main", None, None)] + extra_profiles(kind, cmdline)
            for pid, title, profile_cmdline in profiles:
                own = {".profile": profile_text(pid, title).encode()}
                add(".profile", own[".profile"])
                if profile_cmdline is not None:
                    own[".cmdline"] = profile_cmdline.encode()
                    add(".cmdline", own[".cmdline"])
                if secureboot:
                    add(".pcrsig", pcr.pcrsig_json(imager.line, {**base, **own}, pcr_key))
        elif secureboot:
            add(".pcrsig", pcr.pcrsig_json(imager.line, base, pcr_key))
        out = os.path.join(scratch, "uki.efi")
        if imager.native_assembler:
            pe.assemble_native(stub, sections, out)
        else:
            pe.assemble_objcopy(stub, sections, out, scratch)
        uki = relabel(open(out, "rb").read(), arch)
        sdboot = relabel(open(systemd_efi("systemd-bootx64.efi"), "rb").read(), arch)
        if secureboot:
            uki = signer.sign(uki, scratch, "uki")
            sdboot = signer.sign(sdboot, scratch, "sdboot")
        return sdboot, uki
