"""The kernel command line imager bakes into a UKI (pkg/imager/imager.go, buildCmdline), with
go-procfs's Cmdline semantics (siderolabs/go-procfs 9f72b22602b5, procfs/cmdline.go): parameters
keyed by name in order of first appearance, each with a list of values; a value "" prints as the
bare key."""


class Cmdline:
    def __init__(self):
        self.params = []  # [(key, [values])]

    def _find(self, key):
        for p in self.params:
            if p[0] == key:
                return p
        return None

    @staticmethod
    def parse(words):
        """procfs.parse: split on whitespace, "k=v" or "k"; repeated keys gather values."""
        parsed = []
        for word in " ".join(words).split():
            key, sep, value = word.partition("=")
            for p in parsed:
                if p[0] == key:
                    p[1].append(value)
                    break
            else:
                parsed.append((key, [value]))
        return parsed

    def append(self, key, value):
        p = self._find(key)
        if p:
            p[1].append(value)
        else:
            self.params.append((key, [value]))

    def set(self, key, values):
        for i, p in enumerate(self.params):
            if p[0] == key:
                self.params[i] = (key, list(values))
                return
        self.params.append((key, list(values)))

    def set_all(self, words):
        for key, values in self.parse(words):
            self.set(key, values)

    def delete_all(self, key):
        self.params = [p for p in self.params if p[0] != key]

    def delete(self, key, values):
        p = self._find(key)
        if p:
            p[1][:] = [v for v in p[1] if v not in values]

    def append_all(self, words, overwrite=(), delete_negated=False):
        for key, values in self.parse(words):
            if delete_negated and len(key) > 1 and key[0] == "-":
                if values[0] == "":
                    self.delete_all(key[1:])
                else:
                    self.delete(key[1:], values)
                continue
            if key in overwrite:
                self.set(key, values)
                continue
            for v in values:
                self.append(key, v)

    def __str__(self):
        out = []
        for key, values in self.params:
            out.extend(key if v == "" else f"{key}={v}" for v in values)
        return " ".join(out)


def metal_console(imager, arch):
    """Metal platform KernelArgs (internal/app/machined/pkg/runtime/v1alpha1/platform/metal/
    metal.go): amd64 console=tty0 (ttyS0 was dropped in 1.8), arm64 ttyAMA0 and tty0."""
    return ["console=ttyAMA0", "console=tty0"] if arch == "arm64" else ["console=tty0"]


def default_args(imager):
    """kernel.DefaultArgs (pkg/machinery/kernel/kernel.go) for the version being built."""
    args = ["init_on_alloc=1"] if imager.init_on_alloc else []
    args += ["slab_nomerge=", "pti=on", "consoleblank=0"]
    if imager.nvme_io_timeout:  # from 1.14 for AWS only, which is not metal
        args += ["nvme_core.io_timeout=4294967295"]
    args += ["printk.devkmsg=on"]
    if imager.line == "1.9" or imager.ima:
        args += ["ima_template=ima-ng", "ima_appraise=fix", "ima_hash=sha512"]
    if imager.selinux and imager.line != "1.9":
        args += ["selinux=1"]
    if imager.module_sig_enforce and imager.modern_defaults:
        args += ["module.sig_enforce=1"]
    if imager.proc_mem_never and imager.modern_defaults:
        args += ["proc_mem.force_override=never"]
    return args


def build_cmdline(imager, arch, kind, secureboot, extra_args, meta=()):
    """buildCmdline for the metal platform. kind: iso, installer, image, uki, cmdline, kernel."""
    c = Cmdline()
    c.append("talos.platform", "metal")
    c.set_all(metal_console(imager, arch))
    if kind == "iso":  # SupportsHaltIfInstalled (>= 1.8), only for the ISO output kind
        c.append("talos.halt_if_installed", "1")
    if imager.line == "1.9" and imager.selinux:  # v1.9.0 appends selinux=1 here for >= 1.10
        c.append("selinux", "1")
    c.append_all(default_args(imager))
    if secureboot and imager.lockdown_confidentiality:  # kernel.SecureBootArgs (none from 1.14.0)
        c.append_all(["lockdown=confidentiality"])
    if meta and kind != "image":
        # META travels as talos.environment=INSTALLER_META_BASE64=... on non-image outputs; the
        # model encodes it plainly (Talos compresses it), enough for the gate, which never reads it.
        import base64

        encoded = base64.b64encode("\n".join(meta).encode()).decode()
        c.append("talos.environment", "INSTALLER_META_BASE64=" + encoded)
    c.append_all(extra_args, overwrite=("console", "talos.platform"), delete_negated=True)
    return str(c)
