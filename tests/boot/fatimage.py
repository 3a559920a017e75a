"""FAT16 images written entry by entry, for corpus cases that mkfs.vfat and mtools cannot make:
8.3 names that differ from the long name, long-name parts the firmware drops, a directory entry
with a first byte of 0 that the firmware reads past (FatPkg/EnhancedFatDxe DirectoryManage.c
FatLoadNextDirEnt, FatLoadLongNameEntry). The layout is Microsoft's "FAT: General Overview of
On-Disk Format": 512-byte sectors, one sector per cluster, one FAT, 512 root entries.

An entry is a dict: {"short": 11-byte 8.3 name, "lfn": long name or None, "tweak": a function
editing each long-name part (bytearray, 32 bytes) or None, "attr": attributes, and "data": bytes
for a file or "children": [entries] for a directory}, or {"raw": 32 bytes} written as it is.
"""

import struct

SECTOR = 512
ROOT_ENTRIES = 512
_LFN_OFFSETS = (1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30)


def checksum(short):
    s = 0
    for c in short:
        s = (((s & 1) << 7) + (s >> 1) + c) & 0xFF
    return s


def _lfn_parts(name, short, tweak):
    units = [ord(c) for c in name] + [0]
    while len(units) % 13:
        units.append(0xFFFF)
    parts = []
    count = len(units) // 13
    for p in range(count):
        e = bytearray(32)
        e[0] = (p + 1) | (0x40 if p + 1 == count else 0)
        e[11] = 0x0F
        e[13] = checksum(short)
        for i, off in enumerate(_LFN_OFFSETS):
            struct.pack_into("<H", e, off, units[p * 13 + i])
        if tweak:
            tweak(e)
        parts.append(bytes(e))
    return list(reversed(parts))  # the last part first on disk


class Fat16:
    def __init__(self, mib=8):
        self.sectors = mib * 1024 * 1024 // SECTOR
        self.clusters = self.sectors  # an upper bound for the FAT size
        self.fat_sectors = (self.clusters * 2 + SECTOR - 1) // SECTOR
        self.root_sectors = ROOT_ENTRIES * 32 // SECTOR
        self.data_start = 1 + self.fat_sectors + self.root_sectors
        self.image = bytearray(self.sectors * SECTOR)
        self.fat = [0xFFF8, 0xFFFF]
        bs = self.image
        bs[0:3] = b"\xEB\x3C\x90"
        bs[3:11] = b"SBPIPE  "
        struct.pack_into("<HBHBHHBH", bs, 11, SECTOR, 1, 1, 1, ROOT_ENTRIES, 0, 0xF8, self.fat_sectors)
        struct.pack_into("<I", bs, 32, self.sectors)
        bs[38] = 0x29
        bs[43:54] = b"CORPUS     "
        bs[54:62] = b"FAT16   "
        bs[510:512] = b"\x55\xAA"

    def _alloc(self, count):
        first = len(self.fat)
        for i in range(count):
            self.fat.append(first + i + 1 if i + 1 < count else 0xFFFF)
        return first

    def _at(self, cluster):
        return (self.data_start + cluster - 2) * SECTOR

    def _entry(self, short, attr, cluster, size):
        e = bytearray(32)
        e[0:11] = short
        e[11] = attr
        struct.pack_into("<HI", e, 26, cluster, size)
        return bytes(e)

    def _records(self, entries, parent_cluster, own_cluster):
        out = []
        if own_cluster is not None:
            out.append(self._entry(b".          ", 0x10, own_cluster, 0))
            out.append(self._entry(b"..         ", 0x10, parent_cluster, 0))
        for e in entries:
            if "raw" in e:
                out.append(e["raw"])
                continue
            short = e["short"].encode() if isinstance(e["short"], str) else e["short"]
            if e.get("lfn"):
                out += _lfn_parts(e["lfn"], short, e.get("tweak"))
            if "children" in e:
                cluster = self._alloc(4)
                self._write_dir(e["children"], cluster, own_cluster or 0)
                out.append(self._entry(short, e.get("attr", 0x10), cluster, 0))
            else:
                data = e["data"]
                count = max(1, (len(data) + SECTOR - 1) // SECTOR)
                cluster = self._alloc(count)
                self.image[self._at(cluster):self._at(cluster) + len(data)] = data
                out.append(self._entry(short, e.get("attr", 0x20), cluster, len(data)))
        return b"".join(out)

    def _write_dir(self, entries, cluster, parent):
        data = self._records(entries, parent, cluster)
        assert len(data) <= 4 * SECTOR, "directory larger than its 4 clusters"
        self.image[self._at(cluster):self._at(cluster) + len(data)] = data

    def build(self, root):
        data = self._records(root, 0, None)
        assert len(data) <= ROOT_ENTRIES * 32
        at = (1 + self.fat_sectors) * SECTOR
        self.image[at:at + len(data)] = data
        fat = b"".join(struct.pack("<H", v) for v in self.fat)
        assert len(fat) <= self.fat_sectors * SECTOR
        self.image[SECTOR:SECTOR + len(fat)] = fat
        return bytes(self.image)


def efi_boot(files):
    """A root holding EFI/BOOT/ with `files` (entries)."""
    return [{"short": "EFI        ", "children": [{"short": "BOOT       ", "children": files}]}]


def mbr_disk(partitions, total_sectors):
    """A disk image: an MBR with `partitions` [(type, start sector, image bytes)]."""
    disk = bytearray(total_sectors * SECTOR)
    for i, (ptype, start, data) in enumerate(partitions):
        struct.pack_into("<B3xBxxxII", disk, 446 + 16 * i, 0, ptype, start, len(data) // SECTOR)
        disk[start * SECTOR:start * SECTOR + len(data)] = data
    disk[510:512] = b"\x55\xAA"
    return bytes(disk)


def gpt_disk(partitions, total_sectors, break_primary=False):
    """A disk image with a protective MBR and a GPT listing `partitions` [(start sector, image bytes)]
    as basic data partitions; `break_primary` damages the primary header (its CRC fails), leaving
    the backup whole."""
    import binascii
    import uuid
    disk = bytearray(total_sectors * SECTOR)
    struct.pack_into("<B3xBxxxII", disk, 446, 0, 0xEE, 1, min(total_sectors - 1, 0xFFFFFFFF))
    disk[510:512] = b"\x55\xAA"
    basic_data = uuid.UUID("EBD0A0A2-B9E5-4433-87C0-68B6B72699C7").bytes_le
    entries = bytearray(128 * 128)
    for i, (start, data) in enumerate(partitions):
        end = start + len(data) // SECTOR - 1
        struct.pack_into("<16s16sQQQ", entries, 128 * i, basic_data, uuid.uuid4().bytes_le, start, end, 0)
        disk[start * SECTOR:start * SECTOR + len(data)] = data
    last = total_sectors - 1

    def header(lba, alternate, entries_lba):
        h = bytearray(92)
        struct.pack_into("<8sIIIIQQQQ16sQIII", h, 0, b"EFI PART", 0x00010000, 92, 0, 0, lba, alternate, 34, last - 33,
                         uuid.uuid4().bytes_le, entries_lba, 128, 128, binascii.crc32(entries))
        struct.pack_into("<I", h, 16, binascii.crc32(h))
        return h

    disk[SECTOR:SECTOR + 92] = header(1, last, 2)
    disk[2 * SECTOR:2 * SECTOR + len(entries)] = entries
    disk[last * SECTOR:last * SECTOR + 92] = header(last, 1, last - 32)
    disk[(last - 32) * SECTOR:(last - 32) * SECTOR + len(entries)] = entries
    if break_primary:
        disk[SECTOR + 40] ^= 0xFF  # FirstUsableLBA: the header CRC no longer holds
    return bytes(disk)
