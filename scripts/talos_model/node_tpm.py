"""The model node's TPM step, for the boot tests (STANDIN_NODE_TPM=1): the initramfs gains
Debian's tpm2-tools (the `tpm2` binary, its tool names as links, the shared libraries it
needs and the device TCTI it loads), the two kernel modules the step loads (efivarfs, to read
systemd-boot's LoaderEntrySelected; qemu_fw_cfg, through which the test hands a sealed secret to
the next boot), and node-tpm.sh, which /init runs before powering off. node-tpm.sh says what
it does and which Talos files it follows. The tools are Debian's, not Talos's (Talos talks to
the TPM with go-tpm from machined); the policies and the order of the steps are Talos's.

Off by default: the tools make the initramfs about 7 MiB bigger."""

import os
import re
import subprocess

TOOL = "/usr/bin/tpm2"
TOOLS = ["pcrextend", "loadexternal", "startauthsession", "policyauthorize", "policypcr", "flushcontext", "createprimary",
         "create", "load", "unseal", "verifysignature"]
TCTI = "libtss2-tcti-device.so.0"
MODULES = {"efivarfs.ko": "kernel/fs/efivarfs/efivarfs.ko", "qemu_fw_cfg.ko": "kernel/drivers/firmware/qemu_fw_cfg.ko"}
SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node-tpm.sh")


def enabled():
    return os.environ.get("STANDIN_NODE_TPM") == "1"


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _libraries():
    """{path in the initramfs: host path} for `tpm2`'s shared libraries (ldd), the dynamic
    loader and the device TCTI that libtss2-tctildr opens by name."""
    found = {}
    for target in (TOOL, "/lib/x86_64-linux-gnu/" + TCTI):
        out = subprocess.run(["ldd", target], check=True, capture_output=True, text=True).stdout
        for line in out.splitlines():
            m = re.search(r"(?:=>\s*)?(/\S+)\s+\(0x", line)
            if m:
                host = os.path.realpath(m.group(1))
                name = os.path.basename(m.group(1))
                inside = "lib64/" + name if name.startswith("ld-linux") else "lib/x86_64-linux-gnu/" + name
                found[inside] = host
    found["lib/x86_64-linux-gnu/" + TCTI] = os.path.realpath("/lib/x86_64-linux-gnu/" + TCTI)
    return found


def entries(kernel_release):
    """cpio entries (name, mode, data) to add to the initramfs; `kernel_release` names the
    /lib/modules directory of the kernel the UKI carries. Exits when a file is missing."""
    modules = {name: os.path.join("/lib/modules", kernel_release, rel) for name, rel in MODULES.items()}
    needed = [TOOL, SCRIPT] + list(modules.values())
    missing = [p for p in needed if not os.path.isfile(p)]
    if missing:
        raise SystemExit(f"standin-imager: STANDIN_NODE_TPM=1 needs {', '.join(missing)} (tpm2-tools, linux-image-amd64)")
    out = [("lib", 0o040755, b""), ("lib/x86_64-linux-gnu", 0o040755, b""), ("lib64", 0o040755, b""),
           ("lib/modules", 0o040755, b""), ("bin/tpm2", 0o100755, _read(TOOL)),
           ("bin/sbpipe-node", 0o100755, _read(SCRIPT))]
    out += [("bin/tpm2_" + name, 0o120777, b"tpm2") for name in TOOLS]
    out += [(inside, 0o100755, _read(host)) for inside, host in sorted(_libraries().items())]
    out += [("lib/modules/" + name, 0o100644, _read(path)) for name, path in modules.items()]
    return out
