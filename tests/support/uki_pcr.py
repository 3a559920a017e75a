"""What systemd-stub measures into PCR 11, computed here from a UKI's bytes (not by sbpipe): the
sections of each boot profile as systemd-stub 257 (what Talos ships) loads them, and the digests
the stub and Talos extend PCR 11 with. Shared by the tpm suite (tests/tpm/test_tpm.py: a
host-side swtpm) and the boot suite (tests/boot/test_upgrade.py: the firmware's TPM)."""

import hashlib
import struct

# The order systemd-stub (257, what Talos ships) measures sections in: systemd's
# src/fundamental/uki.h UnifiedSection enum, without .pcrsig.
STUB_ORDER = [".linux", ".osrel", ".cmdline", ".initrd", ".ucode", ".splash", ".dtb", ".uname", ".sbat", ".pcrpkey",
              ".profile", ".dtbauto", ".hwids"]
PHASES = ["enter-initrd", "leave-initrd", "enter-machined"]


def pe_sections(path):
    """[(name, content as loaded: VirtualSize bytes)] in table order, parsed here (not by sbpipe)."""
    with open(path, "rb") as f:
        data = f.read()
    pe = struct.unpack_from("<I", data, 0x3C)[0]
    count, opt_size = struct.unpack_from("<H", data, pe + 6)[0], struct.unpack_from("<H", data, pe + 20)[0]
    table = pe + 24 + opt_size
    out = []
    for i in range(count):
        h = data[table + 40 * i:table + 40 * (i + 1)]
        name = h[:8].rstrip(b"\0").decode()
        vs, _, rs, rp = struct.unpack_from("<IIII", h, 8)
        content = data[rp:rp + min(vs, rs)]
        out.append((name, content + bytes(vs - len(content))))
    return out


def profiles(path):
    """{profile id or "": {section: content}} as systemd-stub 257 loads each profile."""
    secs = pe_sections(path)
    starts = [i for i, (n, _) in enumerate(secs) if n == ".profile"]
    base = dict(secs[:starts[0]] if starts else secs)
    if not starts:
        return {"": base}
    out = {}
    for k, start in enumerate(starts):
        own = dict(secs[start:starts[k + 1] if k + 1 < len(starts) else len(secs)])
        pid = own[".profile"].decode().split("\n")[0].split("=", 1)[1]
        out[pid] = {**base, **own}
    return out


def boot_events(sections, phases=PHASES):
    """The SHA-256 digests the stub and Talos extend PCR 11 with, in order."""
    events = []
    for name in STUB_ORDER:
        if name in sections:
            events += [hashlib.sha256(name.encode() + b"\0").hexdigest(), hashlib.sha256(sections[name]).hexdigest()]
    return events + [hashlib.sha256(p.encode()).hexdigest() for p in phases]


def extend_sha256(events, value=bytes(32)):
    """PCR value (hex) after extending the sha256 bank from `value` with hex digests `events`."""
    for digest in events:
        value = hashlib.sha256(value + bytes.fromhex(digest)).digest()
    return value.hex()
