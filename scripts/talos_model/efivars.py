"""PK.auth, KEK.auth and db.auth as imager generates them when /secureboot has none
(internal/pkg/secureboot/database/database.go, Generate; called from pkg/imager/out.go outISO):
each variable holds one X.509 signature list with the UKI signing certificate, owned by a GUID
derived from the certificate's PEM (uuid.NewHash(sha256, NameSpaceX500, pem, 4)), and all three
are signed with the UKI key (EFI_VARIABLE_AUTHENTICATION_2). With
--secureboot-include-well-known-certs, KEK and db also carry Microsoft's certificates (owner
77fa9abd-0359-4d32-bd60-28f4e78f784b); the model has no copy of those and uses stand-in
certificates of its own with the same names and owner. The signing itself is efitools'
(cert-to-efi-sig-list, sign-efi-sig-list)."""

import hashlib
import os
import subprocess
import uuid

MICROSOFT_OWNER = "77fa9abd-0359-4d32-bd60-28f4e78f784b"
WELL_KNOWN = {"KEK": ["Microsoft Corporation KEK CA 2011 (sbpipe model)"],
              "db": ["Microsoft Windows Production PCA 2011 (sbpipe model)", "Microsoft UEFI CA 2023 (sbpipe model)"]}


def owner_guid(cert_pem):
    """google/uuid NewHash: SHA-256 over namespace || data, first 16 bytes, version 4, RFC 4122 variant."""
    digest = bytearray(hashlib.sha256(uuid.NAMESPACE_X500.bytes + cert_pem).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x40
    digest[8] = (digest[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(digest)))


def _run(*args):
    subprocess.run(list(args), check=True, capture_output=True)


def _well_known_cert(scratch, name):
    key, cert = os.path.join(scratch, name + ".key"), os.path.join(scratch, name + ".crt")
    if not os.path.exists(cert):
        _run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "3650",
             "-subj", "/CN=" + name)
    return cert


def generate(cert_path, key_path, scratch, include_well_known=False):
    """{name: bytes} for PK.auth, KEK.auth, db.auth."""
    # database.Generate is handed the certificate re-encoded as PEM from its DER form.
    der = subprocess.run(["openssl", "x509", "-in", cert_path, "-outform", "DER"], check=True,
                         capture_output=True).stdout
    pem = subprocess.run(["openssl", "x509", "-inform", "DER"], input=der, check=True, capture_output=True).stdout
    guid = owner_guid(pem)
    out = {}
    for var in ("PK", "KEK", "db"):
        parts = []
        own = os.path.join(scratch, f"{var}-own.esl")
        _run("cert-to-efi-sig-list", "-g", guid, cert_path, own)
        parts.append(own)
        if include_well_known:
            for i, name in enumerate(WELL_KNOWN.get(var, [])):
                esl = os.path.join(scratch, f"{var}-ms-{i}.esl")
                _run("cert-to-efi-sig-list", "-g", MICROSOFT_OWNER, _well_known_cert(scratch, name), esl)
                parts.append(esl)
        esl = os.path.join(scratch, f"{var}.esl")
        with open(esl, "wb") as f:
            for p in parts:
                f.write(open(p, "rb").read())
        auth = os.path.join(scratch, f"{var}.auth")
        _run("sign-efi-sig-list", "-g", guid, "-k", key_path, "-c", cert_path, var, esl, auth)
        out[f"{var}.auth"] = open(auth, "rb").read()
    return out
