"""PE/COFF images taken apart and put back together for the corpus, written here from the
Microsoft PE format specification ("PE Format": optional header, data directories, section
table, the attribute certificate table) and not from sbpipe's code.

The Authenticode digest is computed as EDK2 computes it (SecurityPkg/Library/
DxeImageVerificationLib/DxeImageVerificationLib.c HashPeImage, edk2-stable202211): headers without
CheckSum and the certificate directory entry, sections with raw data in file order, then the
bytes from "size of headers + raw sizes" up to the file end minus the certificate directory's
Size. `authenticode_digest(..., checked=False)` skips EDK2's one refusal (more bytes claimed than
the file holds), for fixtures that hash what a naive signer hashes.
"""

import hashlib
import struct

WIN_CERT_REVISION_2_0 = 0x0200
WIN_CERT_TYPE_PKCS_SIGNED_DATA = 0x0002
WIN_CERT_TYPE_EFI_GUID = 0x0EF1
WIN_CERT_TYPE_X509 = 0x0001
# EFI_CERT_TYPE_PKCS7_GUID {4aafd29d-68df-49ee-8aa9-347d375665a7} and
# EFI_CERT_TYPE_RSA2048_SHA256_GUID {a7717414-c616-4977-9420-844712a735bf}, as bytes (UEFI spec,
# "WIN_CERTIFICATE_UEFI_GUID"; MdePkg/Include/Guid/WinCertificate.h, ImageAuthentication.h).
EFI_CERT_TYPE_PKCS7_GUID = bytes.fromhex("9dd2af4adf68ee498aa9347d375665a7")
EFI_CERT_TYPE_RSA2048_SHA256_GUID = bytes.fromhex("147471a716c677499420844712a735bf")


def u16(data, at):
    return struct.unpack_from("<H", data, at)[0]


def u32(data, at):
    return struct.unpack_from("<I", data, at)[0]


def put16(data, at, value):
    struct.pack_into("<H", data, at, value)


def put32(data, at, value):
    struct.pack_into("<I", data, at, value)


class Pe:
    """Offsets of one image's headers (read, never validated: fixtures may be broken on purpose)."""

    def __init__(self, data):
        self.data = data
        self.pe = u32(data, 0x3C) if data[:2] == b"MZ" else 0
        self.coff = self.pe + 4
        self.section_count = u16(data, self.coff + 2)
        self.optional_size = u16(data, self.coff + 16)
        self.optional = self.coff + 20
        self.magic = u16(data, self.optional)
        plus = self.magic == 0x20B
        self.checksum_at = self.optional + 64
        self.size_of_image_at = self.optional + 56
        self.size_of_headers_at = self.optional + 60
        self.rva_count_at = self.optional + (108 if plus else 92)
        self.directories = self.optional + (112 if plus else 96)
        self.debug_dir_at = self.directories + 6 * 8
        self.cert_dir_at = self.directories + 4 * 8
        self.section_table = self.optional + self.optional_size

    @property
    def size_of_headers(self):
        return u32(self.data, self.size_of_headers_at)

    @property
    def rva_count(self):
        return u32(self.data, self.rva_count_at)

    def cert_table(self):
        """(file offset, size) from the certificate directory entry; (0, 0) when there is none."""
        if self.rva_count <= 4:
            return 0, 0
        return u32(self.data, self.cert_dir_at), u32(self.data, self.cert_dir_at + 4)

    def sections(self):
        """[(header offset, name, VirtualSize, VirtualAddress, SizeOfRawData, PointerToRawData)]."""
        out = []
        for i in range(self.section_count):
            h = self.section_table + 40 * i
            name = bytes(self.data[h:h + 8]).rstrip(b"\0").decode(errors="replace")
            out.append((h, name, u32(self.data, h + 8), u32(self.data, h + 12), u32(self.data, h + 16), u32(self.data, h + 20)))
        return out

    def section(self, name):
        return next(s for s in self.sections() if s[1] == name)


def authenticode_digest(data, algorithm, checked=True):
    """The image's Authenticode digest (bytes), or None where EDK2's HashPeImage refuses."""
    pe = Pe(data)
    h = hashlib.new(algorithm)
    size_of_headers = pe.size_of_headers
    h.update(data[:pe.checksum_at])
    if pe.rva_count <= 4:
        h.update(data[pe.checksum_at + 4:size_of_headers])
    else:
        h.update(data[pe.checksum_at + 4:pe.cert_dir_at])
        h.update(data[pe.cert_dir_at + 8:size_of_headers])
    hashed = size_of_headers
    for _, _, _, _, raw_size, raw_at in sorted((s for s in pe.sections() if s[4]), key=lambda s: s[5]):
        h.update(data[raw_at:raw_at + raw_size])
        hashed += raw_size
    if len(data) > hashed:
        cert_size = pe.cert_table()[1]
        if len(data) > cert_size + hashed:
            h.update(data[hashed:len(data) - cert_size])
        elif len(data) < cert_size + hashed and checked:
            return None
    return h.digest()


def win_certificate(payload, cert_type=WIN_CERT_TYPE_PKCS_SIGNED_DATA, revision=WIN_CERT_REVISION_2_0, pad=True):
    """One attribute certificate entry: dwLength, wRevision, wCertificateType, then `payload`,
    zero-padded to 8 bytes unless `pad` is False."""
    entry = struct.pack("<IHH", 8 + len(payload), revision, cert_type) + payload
    return entry + bytes(-len(entry) % 8 if pad else 0)


def uefi_guid_certificate(p7, guid=EFI_CERT_TYPE_PKCS7_GUID):
    """WIN_CERTIFICATE_UEFI_GUID: the header, CertType GUID, then the PKCS#7 SignedData."""
    return win_certificate(guid + p7, cert_type=WIN_CERT_TYPE_EFI_GUID)


def entries(data):
    """[(wRevision, wCertificateType, payload)] of a signed image's certificate table."""
    at, size = Pe(data).cert_table()
    table, out, i = data[at:at + size], [], 0
    while i + 8 <= len(table):
        length, revision, cert_type = struct.unpack_from("<IHH", table, i)
        if length < 8:
            break
        out.append((revision, cert_type, bytes(table[i + 8:i + length])))
        i += length + (-length % 8)
    return out


def signature_of(data):
    """The PKCS#7 SignedData of a signed image's first (WIN_CERT_TYPE_PKCS_SIGNED_DATA) entry."""
    return next(payload for _, cert_type, payload in entries(data) if cert_type == WIN_CERT_TYPE_PKCS_SIGNED_DATA)


def strip(data):
    """The image without its certificate table (the directory entry zeroed), as sbattach --remove."""
    data = bytearray(data)
    pe = Pe(data)
    at, size = pe.cert_table()
    if size:
        if at + size != len(data):
            raise ValueError("certificate table is not at the end of the file")
        del data[at:]
        put32(data, pe.cert_dir_at, 0)
        put32(data, pe.cert_dir_at + 4, 0)
    return data


def attach(unsigned, table):
    """`unsigned` padded with zeros to 8 bytes (hashed as trailing data), then `table` as its
    certificate table."""
    data = bytearray(unsigned) + bytes(-len(unsigned) % 8)
    pe = Pe(data)
    put32(data, pe.cert_dir_at, len(data))
    put32(data, pe.cert_dir_at + 4, len(table))
    return data + table


def padded(unsigned):
    """`unsigned` as attach() will hash it."""
    return bytearray(unsigned) + bytes(-len(unsigned) % 8)
