"""Talos's installer and its upgrade step on a node's disk, as the boot tests need them: a model
written from siderolabs/talos's systemd-boot installer, v1.14.0-rc.1 (the steps below are the
same at v1.13.x; v1.14 only moved copying the files from image generation into Install):

- internal/app/machined/pkg/runtime/v1alpha1/bootloader/sdboot/sdboot.go: `Install` copies the
  assets (`copyAssets`: loader/loader.conf, the UKI to EFI/Linux/<name>, systemd-boot to the
  removable-media path) and runs `setup`, which sets the systemd-boot variables
  LoaderEntryDefault = the UKI's file name and LoaderConfigTimeout = "5". `Upgrade` lists
  EFI/Linux/Talos-*.efi, keeps the one the node booted (the default entry that
  `ProbeWithCallback` read from LoaderEntryDefault, else LoaderEntrySelected; compared without
  case), removes every other, copies the new assets under `generateNextUKIName`'s name
  (Talos-<version>.efi, or Talos-<version>~N.efi when that version is already there) and runs
  `setup`: the default entry switched, the previous one kept as the fallback.
- sdboot/efivars.go (`WriteVariable`: UTF-16LE with a NUL, non-volatile, boot and runtime
  access, systemd-boot's vendor GUID), sdboot/loader.conf (timeout 10),
  bootloader/efiutils/efiutils.go (`Name`: EFI/boot/BOOTX64.efi for amd64).

What the model leaves out: the partition table Talos makes besides the EFI partition (BIOS,
BOOT, META, STATE, EPHEMERAL); `CreateBootEntry` (a "Talos Linux UKI" Boot#### variable first in
BootOrder: the tests' firmware finds systemd-boot on the removable-media path instead, from
qemu's boot order); `secure-boot-enroll` in loader.conf (the tests enrol keys beforehand); and
the running system: Talos writes these files from the node (mounted ESP, efivarfs), the model
writes them from the host into the disk image (mtools) and the NVRAM file (nvram.py) while the
machine is off, so LoaderEntrySelected, which systemd-boot keeps volatile, is never seen by the
upgrade; the default entry comes from LoaderEntryDefault, as on every node Talos installed.
"""

import fnmatch
import json
import os
import shutil
import tarfile

import nvram
from tools import run

SYSTEMD_BOOT_VENDOR = "4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"
ESP_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"  # the EFI System partition type
SDBOOT_PATH = "EFI/boot/BOOTX64.efi"
LOADER_CONF = b"timeout 10\n"
PARTITION_START_MIB = 1


class NodeDisk:
    """A node's system disk: a GPT disk image with an EFI partition labelled "EFI" (Talos's
    constants.EFIPartitionLabel), FAT32, read and written with mtools at its offset."""

    def __init__(self, path):
        """The disk image at `path` (made by create)."""
        self.path = path
        self.image = f"{path}@@{PARTITION_START_MIB}M"
        self.env = dict(os.environ, MTOOLS_SKIP_CHECK="1")

    @staticmethod
    def create(path, size_mib=128):
        """A new disk: GPT, the EFI partition from 1 MiB to 1 MiB before the end, empty FAT32."""
        with open(path, "wb") as f:
            f.truncate(size_mib << 20)
        layout = f"label: gpt\nstart={PARTITION_START_MIB << 11}, size={(size_mib - 2) << 11}, type={ESP_TYPE}, name=EFI\n"
        run("sfdisk", "--quiet", path, input=layout.encode())
        run("mkfs.vfat", "-F", "32", "-n", "EFI", "--offset", str(PARTITION_START_MIB << 11), path,
            str((size_mib - 2) << 10))
        return NodeDisk(path)

    def _mtools(self, *args):
        return run(*args, env=self.env)

    def mkdirs(self, path):
        parts = path.strip("/").split("/")
        for i in range(1, len(parts) + 1):
            if not self.exists("/".join(parts[:i])):
                self._mtools("mmd", "-i", self.image, "::/" + "/".join(parts[:i]))

    def exists(self, path):
        return run("mdir", "-b", "-i", self.image, "::/" + path, check=False, env=self.env).returncode == 0

    def put(self, path, source):
        self.mkdirs(os.path.dirname(path))
        self._mtools("mcopy", "-o", "-i", self.image, source, "::/" + path)

    def write(self, path, data, scratch):
        tmp = os.path.join(scratch, "esp-write.tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        self.put(path, tmp)

    def remove(self, path):
        self._mtools("mdel", "-i", self.image, "::/" + path)

    def listing(self, directory):
        """The file names in `directory` of the ESP (none when it does not exist)."""
        r = run("mdir", "-b", "-i", self.image, "::/" + directory, check=False, env=self.env)
        if r.returncode != 0:
            return []
        return sorted(os.path.basename(line.rstrip("/")) for line in r.stdout.decode().split() if line.strip())

    def read(self, path, scratch):
        out = os.path.join(scratch, "esp-read.tmp")
        self._mtools("mcopy", "-o", "-i", self.image, "::/" + path, out)
        with open(out, "rb") as f:
            return f.read()


def next_uki_name(version, existing):
    """generateNextUKIName: Talos-<version>.efi, or Talos-<version>~N.efi past the highest N (a
    plain Talos-<version>.efi counting as 0) when the same version is already installed."""
    highest = -1
    for name in existing:
        base = name[:-4] if name.endswith(".efi") else name
        if not base.startswith("Talos-"):
            continue
        version_part, _, index = base[len("Talos-"):].partition("~")
        if version_part != version:
            continue
        if not index:
            highest = max(highest, 0)
        elif index.isdigit():
            highest = max(highest, int(index))
    return f"Talos-{version}~{highest + 1}.efi" if highest >= 0 else f"Talos-{version}.efi"


def _copy_assets(disk, uki_name, sdboot, uki, scratch):
    disk.write("loader/loader.conf", LOADER_CONF, scratch)
    disk.put("EFI/Linux/" + uki_name, uki)
    disk.put(SDBOOT_PATH, sdboot)


def _setup(vars_file, uki_name):
    nvram.write_variable(vars_file, "LoaderEntryDefault", SYSTEMD_BOOT_VENDOR, nvram.utf16_string(uki_name))
    nvram.write_variable(vars_file, "LoaderConfigTimeout", SYSTEMD_BOOT_VENDOR, nvram.utf16_string("5"))


def default_entry(vars_file):
    """LoaderEntryDefault from the node's NVRAM, or None."""
    return nvram.from_utf16(nvram.read_variable(vars_file, "LoaderEntryDefault", SYSTEMD_BOOT_VENDOR))


def install(disk, vars_file, version, sdboot, uki, scratch):
    """Install: the first UKI on an empty EFI partition. Returns its file name."""
    name = next_uki_name(version, [])
    _copy_assets(disk, name, sdboot, uki, scratch)
    _setup(vars_file, name)
    return name


def upgrade(disk, vars_file, version, sdboot, uki, scratch):
    """Upgrade to `version`'s systemd-boot and UKI. Returns (new name, kept previous name or
    None). Raises, as ProbeWithCallback does, when no UKI matches the default entry."""
    default = default_entry(vars_file)
    installed = [n for n in disk.listing("EFI/Linux") if fnmatch.fnmatch(n, "Talos-*.efi")]
    if not default or not any(n.lower() == default.lower() for n in installed):
        raise AssertionError(f"sd-boot: no valid boot entry found matching LoaderEntryDefault {default!r} in {installed}")
    name = next_uki_name(version, installed)
    previous = None
    for existing in installed:
        if existing.lower() == default.lower():
            previous = None if existing.lower() == name.lower() else existing
            continue
        disk.remove("EFI/Linux/" + existing)
    _copy_assets(disk, name, sdboot, uki, scratch)
    _setup(vars_file, name)
    return name, previous


def installer_boot_files(ref, work, arch="amd64"):
    """{"systemd-boot.efi": path, "vmlinuz.efi": path} of the `arch` installer at `ref`, read back
    from the registry (skopeo, plain HTTP) as nodes pull it and unpacked from its layers, the last
    layer winning."""
    os.makedirs(work, exist_ok=True)
    image = os.path.join(work, "installer-image")
    shutil.rmtree(image, ignore_errors=True)
    run("skopeo", "copy", "--src-tls-verify=false", f"docker://{ref}", f"dir:{image}")
    with open(os.path.join(image, "manifest.json")) as f:
        manifest = json.load(f)
    layers = [os.path.join(image, layer["digest"].split(":", 1)[1]) for layer in manifest["layers"]]
    return _boot_files(layers, work, arch, ref)


def tarball_boot_files(tarball, work, arch="amd64"):
    """The same from an installer tarball as imager writes it (docker-save: manifest.json names
    the layers in order)."""
    os.makedirs(work, exist_ok=True)
    with tarfile.open(tarball) as outer:
        outer.extractall(os.path.join(work, "installer-tarball"))
    with open(os.path.join(work, "installer-tarball", "manifest.json")) as f:
        manifest = json.load(f)
    layers = [os.path.join(work, "installer-tarball", name) for name in manifest[0]["Layers"]]
    return _boot_files(layers, work, arch, tarball)


def _boot_files(layers, work, arch, what):
    wanted = {f"usr/install/{arch}/systemd-boot.efi", f"usr/install/{arch}/vmlinuz.efi"}
    found = {}
    for blob in layers:
        with tarfile.open(blob, "r:*") as tar:
            for member in tar.getmembers():
                name = member.name.lstrip("./")
                if member.isfile() and name in wanted:
                    out = os.path.join(work, "installer-" + os.path.basename(name))
                    with tar.extractfile(member) as src, open(out, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                    found[os.path.basename(name)] = out
    if set(found) != {"systemd-boot.efi", "vmlinuz.efi"}:
        raise AssertionError(f"installer {what} lacks its boot files (found {sorted(found)})")
    return found
