"""Reading and writing plain (non-authenticated) UEFI variables in an OVMF vars file while no
machine runs it: what an OS writes through efivarfs, written from the host instead (the Talos
installer model in talos_install.py sets systemd-boot's LoaderEntryDefault this way).

The layout is EDK2's (edk2-stable202211, what Debian's ovmf 2022.11 writes; checked against
OVMF_VARS_4M.fd): a firmware volume header (MdePkg/Include/Pi/PiFirmwareVolume.h,
HeaderLength at byte 48), then the variable store header of the authenticated format
(MdeModulePkg/Include/Guid/VariableFormat.h: VARIABLE_STORE_HEADER, signature
gEfiAuthenticatedVariableGuid, format 0x5A "formatted", state 0xFE "healthy"), then variables
one after another, each on a 4-byte boundary: AUTHENTICATED_VARIABLE_HEADER (StartId 0x55AA,
State, Attributes, MonotonicCount, TimeStamp, PubKeyIndex, NameSize, DataSize, VendorGuid),
the UTF-16 name and the data. State 0x3F is VAR_ADDED; a replaced variable keeps its bytes and
gets State 0x3C (VAR_IN_DELETED_TRANSITION and VAR_DELETED cleared), as the firmware's own
variable driver leaves it (MdeModulePkg/Universal/Variable/RuntimeDxe/Variable.c
UpdateVariable). Erased flash (StartId 0xFFFF) ends the list.

Authenticated variables are stored as the firmware stores one it accepted (attributes with the
time-based bit, the data without its EFI_VARIABLE_AUTHENTICATION_2 header, a zero timestamp):
the corpus writes dbx that way, since systemd-boot 252 enrols PK, KEK and db only.

Not handled (the tests need none of it): a full store (the firmware reclaims; this raises), and the
fault-tolerant-write spare area (unused while no write is pending)."""

import struct
import uuid

AUTHENTICATED_STORE = uuid.UUID("aaf32c78-947b-439a-a180-2e144ec37792")
START_ID = 0x55AA
VAR_ADDED = 0x3F
VAR_REPLACED = 0x3C
HEADER = struct.Struct("<HBBIQ16sIII16s")  # AUTHENTICATED_VARIABLE_HEADER, 60 bytes
NON_VOLATILE, BOOTSERVICE_ACCESS, RUNTIME_ACCESS = 0x1, 0x2, 0x4
TIME_BASED_AUTHENTICATED_WRITE_ACCESS = 0x20
# db and dbx's attributes as the firmware stores them (UefiSpec 2.9 section 32.6.1).
TIME_BASED_AUTHENTICATED_VARIABLE = NON_VOLATILE | BOOTSERVICE_ACCESS | RUNTIME_ACCESS | TIME_BASED_AUTHENTICATED_WRITE_ACCESS
IMAGE_SECURITY_DATABASE = "d719b2cb-3d3a-4596-a3bc-dad00e67656f"  # EFI_IMAGE_SECURITY_DATABASE_GUID (db, dbx)


def _align(n):
    return (n + 3) & ~3


def _store(data):
    """(first variable's offset, end of the store) of an OVMF vars file."""
    header_length = struct.unpack_from("<H", data, 48)[0]
    signature = uuid.UUID(bytes_le=bytes(data[header_length:header_length + 16]))
    if data[40:44] != b"_FVH" or signature != AUTHENTICATED_STORE:
        raise ValueError("not an OVMF vars file with an authenticated variable store")
    size = struct.unpack_from("<I", data, header_length + 16)[0]
    return _align(header_length + 28), header_length + size


def _variables(data):
    """[(offset, state, attributes, name, guid, data offset, data size)] in store order."""
    out = []
    offset, end = _store(data)
    while offset + HEADER.size <= end:
        start, state, _, attributes, _, _, _, name_size, data_size, guid = HEADER.unpack_from(data, offset)
        if start != START_ID:
            break
        name_at = offset + HEADER.size
        name = bytes(data[name_at:name_at + name_size]).decode("utf-16-le").rstrip("\0")
        out.append((offset, state, attributes, name, uuid.UUID(bytes_le=guid), name_at + name_size, data_size))
        offset = _align(name_at + name_size + data_size)
    return out, offset, end


def read_variable(vars_file, name, guid):
    """The data of the live variable `name` of vendor `guid`, or None when there is none."""
    with open(vars_file, "rb") as f:
        data = f.read()
    found = None
    for _, state, _, var_name, var_guid, at, size in _variables(data)[0]:
        if state == VAR_ADDED and var_name == name and var_guid == uuid.UUID(guid):
            found = data[at:at + size]
    return found


def write_variable(vars_file, name, guid, value, attributes=NON_VOLATILE | BOOTSERVICE_ACCESS | RUNTIME_ACCESS):
    """Sets `name` of vendor `guid` to `value` (bytes): the live copy, if any, is marked replaced
    and the new one appended. Raises when the store has no room left."""
    with open(vars_file, "r+b") as f:
        data = bytearray(f.read())
        variables, free, end = _variables(data)
        for offset, state, _, var_name, var_guid, _, _ in variables:
            if state == VAR_ADDED and var_name == name and var_guid == uuid.UUID(guid):
                data[offset + 2] = VAR_REPLACED
        encoded = (name + "\0").encode("utf-16-le")
        record = HEADER.pack(START_ID, VAR_ADDED, 0, attributes, 0, bytes(16), 0, len(encoded), len(value),
                             uuid.UUID(guid).bytes_le) + encoded + value
        if free + len(record) > end:
            raise ValueError(f"{vars_file}: no room for {name} in the variable store")
        data[free:free + len(record)] = record
        f.seek(0)
        f.write(data)


def utf16_string(text):
    """A string variable as systemd-boot and Talos write them: UTF-16LE with a NUL."""
    return (text + "\0").encode("utf-16-le")


def from_utf16(value):
    return value.decode("utf-16-le").rstrip("\0") if value is not None else None
