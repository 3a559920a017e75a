"""Assembling a UKI from systemd-stub and section files, the two ways imager does it.

- native (imager 1.10+, internal/pkg/uki/internal/pe/native.go, AssembleNative): the stub's
  first 0x40 DOS-header bytes with e_lfanew = 0x80 and 0x40 zero bytes, the file header (time
  stamp SOURCE_DATE_EPOCH or now), the optional header (linker version 0, CheckSum 0, code and
  data sizes summed again, SizeOfHeaders and SizeOfImage recomputed), every section header again
  (the stub's keep their names, sizes, addresses and flags; pointers to relocations and line
  numbers are dropped), then the section data in table order, each padded to FileAlignment.
  Appended sections start at the stub's last section end rounded up to SectionAlignment, are
  INITIALIZED_DATA|MEM_READ, VirtualSize = the file size.
- objcopy (imager 1.8/1.9, internal/pkg/secureboot/uki/assemble.go): `objcopy --add-section
  NAME=FILE --change-section-vma NAME=VMA` with VMAs from ImageBase + the stub's last section end,
  each rounded up to 0x200.

AssembleNative refuses a stub with a COFF symbol table. Debian's linuxx64.efi.stub has one
(Talos's own stub, built by systemd's elf2efi, has none), so the model drops it (zero pointer and
count), as a symbol-free stub would be.
"""

import os
import struct
import subprocess
import time
from dataclasses import dataclass

IMAGE_SCN_CNT_INITIALIZED_DATA = 0x00000040
IMAGE_SCN_MEM_READ = 0x40000000


@dataclass
class Section:
    name: str
    data: bytes
    append: bool = True  # False: the section is already in the stub (.sbat)


@dataclass
class StubSection:
    name: str
    virtual_size: int
    virtual_address: int
    raw_size: int
    raw_offset: int
    characteristics: int


class PeFile:
    def __init__(self, data):
        self.data = data
        self.pe = struct.unpack_from("<I", data, 0x3C)[0]
        if data[self.pe:self.pe + 4] != b"PE\0\0":
            raise ValueError("not a PE file")
        (self.machine, self.nsections, self.timestamp, self.symptr, self.nsyms, self.opt_size,
         self.characteristics) = struct.unpack_from("<HHIIIHH", data, self.pe + 4)
        self.opt = self.pe + 24
        magic = struct.unpack_from("<H", data, self.opt)[0]
        if magic != 0x20B:
            raise ValueError("the model assembles PE32+ stubs only")
        self.image_base = struct.unpack_from("<Q", data, self.opt + 24)[0]
        self.section_alignment, self.file_alignment = struct.unpack_from("<II", data, self.opt + 32)
        self.sections = []
        table = self.opt + self.opt_size
        for i in range(self.nsections):
            raw = data[table + 40 * i:table + 40 * (i + 1)]
            name = raw[:8].rstrip(b"\0").decode()
            vs, va, rs, rp = struct.unpack_from("<IIII", raw, 8)
            ch = struct.unpack_from("<I", raw, 36)[0]
            self.sections.append(StubSection(name, vs, va, rs, rp, ch))

    def section_data(self, name):
        for s in self.sections:
            if s.name == name:
                return self.data[s.raw_offset:s.raw_offset + s.raw_size][:s.virtual_size]
        raise KeyError(name)


def _align(value, alignment):
    return (value + alignment - 1) & ~(alignment - 1)


def _timestamp():
    return int(os.environ.get("SOURCE_DATE_EPOCH", int(time.time()))) & 0xFFFFFFFF


def assemble_native(stub_path, sections, out_path):
    stub = PeFile(open(stub_path, "rb").read())
    sa, fa = stub.section_alignment, stub.file_alignment
    last = stub.sections[-1]
    base = _align(last.virtual_address + last.virtual_size, sa)
    # (name, virtual_size, virtual_address, raw_size, characteristics, data)
    table = []
    for s in stub.sections:
        data = stub.data[s.raw_offset:s.raw_offset + s.raw_size]
        table.append((s.name, s.virtual_size, s.virtual_address, s.raw_size, s.characteristics, data))
    for s in sections:
        if not s.append:
            continue
        table.append((s.name, len(s.data), base, _align(len(s.data), fa),
                      IMAGE_SCN_CNT_INITIALIZED_DATA | IMAGE_SCN_MEM_READ, s.data))
        base = _align(base + len(s.data), sa)

    opt = bytearray(stub.data[stub.opt:stub.opt + 240])
    opt[2:4] = b"\0\0"  # MajorLinkerVersion, MinorLinkerVersion
    struct.pack_into("<I", opt, 64, 0)  # CheckSum
    size_of_headers = _align(0x80 + 20 + 240 + 40 * len(table), fa)
    struct.pack_into("<I", opt, 60, size_of_headers)
    lname, lvs, lva = table[-1][0], table[-1][1], table[-1][2]
    struct.pack_into("<I", opt, 56, _align(lva + lvs + stub.image_base, sa) - stub.image_base)  # SizeOfImage
    code = sum(t[3] for t in table if not t[4] & IMAGE_SCN_CNT_INITIALIZED_DATA)
    init = sum(t[3] for t in table if t[4] & IMAGE_SCN_CNT_INITIALIZED_DATA)
    struct.pack_into("<II", opt, 4, code, init)

    out = bytearray(stub.data[:0x40])
    struct.pack_into("<I", out, 0x3C, 0x80)
    out += bytes(0x40) + b"PE\0\0"
    out += struct.pack("<HHIIIHH", stub.machine, len(table), _timestamp(), 0, 0, 240, stub.characteristics)
    out += opt
    offset = size_of_headers
    for name, vs, va, rs, ch, _ in table:
        out += name.encode().ljust(8, b"\0") + struct.pack("<IIIIIIHHI", vs, va, rs, offset, 0, 0, 0, 0, ch)
        offset += rs
    out += bytes(size_of_headers - len(out))
    for _, _, _, rs, _, data in table:
        out += data[:rs] + bytes(rs - min(len(data), rs))
    with open(out_path, "wb") as f:
        f.write(out)


def assemble_objcopy(stub_path, sections, out_path, scratch):
    stub = PeFile(open(stub_path, "rb").read())
    last = stub.sections[-1]
    alignment = 0x1FF
    vma = (stub.image_base + last.virtual_address + last.virtual_size + alignment) & ~alignment
    args = ["objcopy"]
    for i, s in enumerate(sections):
        if not s.append:
            continue
        path = os.path.join(scratch, f"section-{i}")
        with open(path, "wb") as f:
            f.write(s.data)
        args += ["--add-section", f"{s.name}={path}", "--change-section-vma", f"{s.name}=0x{vma:x}"]
        vma = (vma + len(s.data) + alignment) & ~alignment
    subprocess.run(args + [stub_path, out_path], check=True, capture_output=True)


def strip_signature(data):
    """The bytes of a PE with its certificate table removed (as `sbattach --remove` does)."""
    pe = PeFile(data)
    dirs = pe.opt + 112  # PE32+ data directories
    cert_off, cert_size = struct.unpack_from("<II", data, dirs + 4 * 8)
    if cert_size == 0:
        return data
    out = bytearray(data[:cert_off])
    struct.pack_into("<II", out, dirs + 4 * 8, 0, 0)
    return bytes(out)
