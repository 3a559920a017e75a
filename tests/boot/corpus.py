"""The differential corpus: EFI binaries that sbpipe verify and the firmware must judge alike.

A throwaway PKI is enrolled into the firmware (PK, a separate KEK, and a db holding an owner
certificate and a CA); every case is a variant of one UKI (corpus_uki: systemd-stub and the
sections as the Talos model assembles them) or of Debian's systemd-boot, made with the real
tools where one makes it (sbsign, osslsigncode, openssl, efitools) and by peimage.py/pkcs7.py
where none does. Each case lays out an ESP; `checked` names the binaries whose verdict is
compared (for a chain, systemd-boot and the UKI it loads).

`ISSUE` cases are issue 20's list; `RULE` cases exercise one acceptance rule of EDK2
(edk2-stable202211), named in `rule` as file and function.
"""

import os
import hashlib
import shutil
import struct
import sys
import uuid
from dataclasses import dataclass, field

import fatimage
import peimage
import pkcs7
from tools import run

GUID = "e5e4f4c2-6b3a-4c6e-9d6b-2f0a1b3c4d5e"  # the owner GUID of the corpus's signature lists
EFI_CERT_X509_SHA256 = uuid.UUID("3bd2a492-96c0-4079-b420-fcf98ef103ed")  # MdePkg/Include/Guid/ImageAuthentication.h
BOOT = "EFI/BOOT/BOOTX64.EFI"
CHAINED = "EFI/Linux/Talos-corpus.efi"
STUB = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"
DXE = "SecurityPkg/Library/DxeImageVerificationLib/DxeImageVerificationLib.c"
PECOFF = "MdePkg/Library/BasePeCoffLib/BasePeCoff.c"
CRYPT = "CryptoPkg/Library/BaseCryptLib/Pk/CryptAuthenticode.c"


@dataclass
class Case:
    name: str
    title: str
    source: str  # "issue" or the EDK2 file and function the case exercises
    files: dict  # ESP path -> local file
    checked: list = field(default_factory=lambda: [BOOT])
    # A whole medium instead of an ESP directory: (kind, path, writable), kind "esp-image" (a FAT
    # image or a disk with partitions) or "cdrom" (an ISO). sbpipe verify judges the medium; the
    # verdict compared is that of the file it names the firmware's fallback bootloader.
    medium: tuple = None


class Pki:
    """Keys and certificates of the corpus, and the PK/KEK/db.auth that enrol them."""

    def __init__(self, d):
        self.d = d
        os.makedirs(d, exist_ok=True)
        self.pk = self.self_signed("PK", "Corpus PK")
        self.kek = self.self_signed("KEK", "Corpus KEK")
        self.db = self.self_signed("db", "Corpus db")
        self.ca = self.self_signed("ca", "Corpus db CA")
        self.other = self.self_signed("other", "Corpus other key")
        self.intermediate = self.issued("intermediate", "Corpus intermediate", self.ca, ca=True)
        self.leaf = self.issued("leaf", "Corpus leaf under the intermediate", self.intermediate)
        self.expired = self.issued("expired", "Corpus expired leaf", self.ca, dates=("20200101000000Z", "20210101000000Z"))
        # OVMF accepts only RSA certificates in db (AuthVariableLib CheckSignatureListFormat), so the
        # ECDSA signer is a leaf under the db CA.
        self.ec = self.issued("ec", "Corpus ECDSA leaf under the db CA", self.ca, ec=True)
        big_comment = "nsComment=" + "x" * 70000
        self.big = self.self_signed("big", "Corpus 70 KB certificate", extra=["-addext", big_comment])
        # Certificates where OpenSSL 1.1.1 as CryptoPkg builds it (the firmware's) and OpenSSL 3 part
        # (edk2_crypto.h): each a leaf under the db CA but for the RFC 3779 CA, itself in db.
        self.dsa = self.issued("dsa", "Corpus DSA leaf under the db CA", self.ca, key_type="dsa")
        self.empty_ku = self.issued("empty-ku", "Corpus leaf with an empty keyUsage", self.ca, ext=["keyUsage = DER:03:01:00"])
        self.pathlen_leaf = self.issued("pathlen-leaf", "Corpus non-CA leaf with a pathLenConstraint", self.ca,
                                        ext=["basicConstraints = critical,DER:30:03:02:01:00"])
        self.unknown_critical = self.issued("unknown-critical", "Corpus leaf with an unknown critical extension", self.ca,
                                            ext=["1.3.6.1.4.1.55555.1 = critical,ASN1:NULL"])
        self.crldp_critical = self.issued("crldp-critical", "Corpus leaf with critical CRL distribution points", self.ca,
                                          ext=["crlDistributionPoints = critical,URI:http://crl.invalid/ca.crl"])
        self.rfc3779_plain = self.issued("rfc3779-plain", "Corpus leaf with IP resources under the db CA", self.ca,
                                         ext=["sbgp-ipAddrBlock = IPv4:10.0.0.0/8"])
        self.ca3779 = self.self_signed("ca3779", "Corpus db CA with IP resources", extra=[
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=keyCertSign",
            "-addext", "sbgp-ipAddrBlock=IPv4:10.0.0.0/8"])
        self.rfc3779_critical = self.issued("rfc3779-critical", "Corpus leaf with critical IP resources", self.ca3779,
                                            ext=["sbgp-ipAddrBlock = critical,IPv4:10.1.0.0/16"])
        self.rfc3779_nested = self.issued("rfc3779-nested", "Corpus leaf with nested IP resources", self.ca3779,
                                          ext=["sbgp-ipAddrBlock = IPv4:10.1.0.0/16"])
        # dbx's subjects (db_cases' revocation cases): each used by one case only, so the dbx the
        # firmware holds refuses nothing else in the corpus.
        self.revoked = self.issued("revoked", "Corpus leaf whose certificate is in dbx", self.ca)
        self.revoked_tbs = self.issued("revoked-tbs", "Corpus leaf whose TBS digest is in dbx", self.ca)
        self.revoked_ca = self.issued("revoked-ca", "Corpus intermediate in dbx", self.ca, ca=True)
        self.revoked_ca_leaf = self.issued("revoked-ca-leaf", "Corpus leaf under the intermediate in dbx", self.revoked_ca)
        self.db_certs = [self.db, self.ca, self.ca3779]
        self.auth_dir = os.path.join(d, "auth")
        os.makedirs(self.auth_dir)

    def path(self, name):
        return os.path.join(self.d, name)

    def self_signed(self, name, cn, extra=()):
        key, cert = self.path(name + ".key"), self.path(name + ".crt")
        run("openssl", "genrsa", "-traditional", "-out", key, "2048")
        run("openssl", "req", "-x509", "-new", "-key", key, "-out", cert, "-days", "30", "-subj", "/CN=" + cn, *extra)
        return key, cert

    def issued(self, name, cn, issuer, ca=False, dates=None, ec=False, key_type="rsa", ext=()):
        """A certificate for a new RSA (or EC P-256, or DSA) key signed by `issuer` with `openssl ca`
        (which can back-date); `ext` replaces the default extensions' lines where it names them."""
        key, csr, cert = self.path(name + ".key"), self.path(name + ".csr"), self.path(name + ".crt")
        if ec:
            run("openssl", "ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", key)
        elif key_type == "dsa":
            run("openssl", "genpkey", "-genparam", "-algorithm", "DSA", "-pkeyopt", "dsa_paramgen_bits:1024",
                "-out", key + ".params")
            run("openssl", "genpkey", "-paramfile", key + ".params", "-out", key)
        else:
            run("openssl", "genrsa", "-traditional", "-out", key, "2048")
        run("openssl", "req", "-new", "-key", key, "-out", csr, "-subj", "/CN=" + cn)
        ca_dir = self.path("ca-" + name)
        os.makedirs(ca_dir)
        open(os.path.join(ca_dir, "index.txt"), "w").close()
        with open(os.path.join(ca_dir, "serial"), "w") as f:
            f.write("%032x\n" % int.from_bytes(os.urandom(15), "big"))
        config = os.path.join(ca_dir, "ca.cnf")
        with open(config, "w") as f:
            f.write(f"[ca]\ndefault_ca = c\n[c]\ndatabase = {ca_dir}/index.txt\nnew_certs_dir = {ca_dir}\n"
                    f"serial = {ca_dir}/serial\ndefault_md = sha256\npolicy = p\nunique_subject = no\ndefault_days = 30\n"
                    f"[p]\ncommonName = supplied\n[ext]\n")
            lines = {"basicConstraints": f"critical,CA:{'TRUE' if ca else 'FALSE'}",
                     "keyUsage": "keyCertSign" if ca else "digitalSignature", "subjectKeyIdentifier": "hash",
                     "authorityKeyIdentifier": "keyid"}
            for line in ext:
                k, v = (x.strip() for x in line.split("=", 1))
                lines[k] = v
            f.write("".join(f"{k} = {v}\n" for k, v in lines.items()))
        dates_args = ["-startdate", dates[0], "-enddate", dates[1]] if dates else []
        run("openssl", "ca", "-batch", "-config", config, "-cert", issuer[1], "-keyfile", issuer[0], "-in", csr, "-out", cert,
            "-extensions", "ext", "-notext", *dates_args)
        return key, cert

    def enrolment(self, hashed=()):
        """PK.auth (PK), KEK.auth (KEK, signed by PK), db.auth (the db certificates and the SHA-256
        Authenticode digests of the `hashed` images, as efitools' hash-to-efi-sig-list computes
        them, signed by KEK). Returns db.auth, which sbpipe verify gets as --db."""
        esl = signature_list_file

        lists = {"PK": [self.pk[1]], "KEK": [self.kek[1]], "db": [c[1] for c in self.db_certs]}
        signer = {"PK": self.pk, "KEK": self.pk, "db": self.kek}
        for var, certs in lists.items():
            esl_file = esl(certs, self.path(var + ".esl"), hashed if var == "db" else ())
            run("sign-efi-sig-list", "-g", GUID, "-k", signer[var][0], "-c", signer[var][1], var, esl_file,
                os.path.join(self.auth_dir, var + ".auth"))
        return os.path.join(self.auth_dir, "db.auth")


def read(path):
    with open(path, "rb") as f:
        return f.read()


def signature_list_file(certs, out, images=(), tbs=()):
    """An EFI_SIGNATURE_LIST file: `certs` as EFI_CERT_X509 (efitools' cert-to-efi-sig-list), the
    SHA-256 Authenticode digests of `images` (hash-to-efi-sig-list), and the SHA-256 digests of
    the to-be-signed part of `tbs` certificates as EFI_CERT_X509_SHA256 with a zero revocation
    time (no efitools tool writes those: UefiSpec 2.9 section 32.4.1, EFI_CERT_X509_SHA256 =
    {ToBeSignedHash, TimeOfRevocation}, built here)."""
    with open(out, "wb") as joined:
        for i, cert in enumerate(certs):
            part = f"{out}.{i}"
            run("cert-to-efi-sig-list", "-g", GUID, cert, part)
            joined.write(read(part))
        for i, image in enumerate(images):
            part = f"{out}.h{i}"
            run("hash-to-efi-sig-list", image, part)
            joined.write(read(part))
        for cert in tbs:
            joined.write(x509_sha256_list(cert))
    return out


def tbs_certificate(der):
    """The DER bytes of a certificate's tbsCertificate (the first element of its outer SEQUENCE)."""
    def header(at):
        length = der[at + 1]
        if length < 0x80:
            return at + 2, length
        n = length & 0x7F
        return at + 2 + n, int.from_bytes(der[at + 2:at + 2 + n], "big")

    inner, _ = header(0)
    body, length = header(inner)
    return der[inner:body + length]


def x509_sha256_list(cert_pem):
    """One EFI_SIGNATURE_LIST of type EFI_CERT_X509_SHA256 revoking `cert_pem` since time zero."""
    der = run("openssl", "x509", "-in", cert_pem, "-outform", "DER").stdout
    entry = uuid.UUID(GUID).bytes_le + hashlib.sha256(tbs_certificate(der)).digest() + bytes(16)  # EFI_TIME zero
    return EFI_CERT_X509_SHA256.bytes_le + struct.pack("<III", 28 + len(entry), 0, len(entry)) + entry


def sbsign(src, dst, keypair, addcert=None):
    extra = ["--addcert", addcert] if addcert else []
    run("sbsign", "--key", keypair[0], "--cert", keypair[1], *extra, "--output", dst, src)
    return dst


def osslsigncode(src, dst, keypair, digest):
    run("osslsigncode", "sign", "-certs", keypair[1], "-key", keypair[0], "-h", digest, "-in", src, "-out", dst)
    return dst


def flip(data, at):
    data = bytearray(data)
    data[at] ^= 0x01
    return data


class Builder:
    """Writes every case's binaries under `work`."""

    def __init__(self, work, pki, uki, systemd_boot):
        self.work = work
        self.pki = pki
        os.makedirs(work, exist_ok=True)
        self.uki = self.put("base-uki-unsigned.efi", peimage.strip(read(uki)))
        self.sdboot = self.put("base-sdboot-unsigned.efi", read(systemd_boot))
        self.signed = sbsign(self.uki, self.at("signed-db.efi"), pki.db)
        self.hashed = []  # images whose SHA-256 Authenticode digest db lists (Pki.enrolment)
        self.dbx = {"certs": [], "images": [], "tbs": []}  # what the firmware's dbx forbids (dbx_file)

    def at(self, name):
        return os.path.join(self.work, name)

    def put(self, name, data):
        return pkcs7.write(self.at(name), bytes(data))

    def read(self, path):
        return bytearray(read(path))

    def retable(self, name, table):
        """The signed image's bytes before its table, with `table` as the table instead."""
        data = self.read(self.signed)
        at, _ = peimage.Pe(data).cert_table()
        out = data[:at] + table
        peimage.put32(out, peimage.Pe(out).cert_dir_at + 4, len(table))
        return self.put(name, out)

    def hand_signed(self, name, data, keypair=None, algorithm="sha256", signer_algorithm=None, embed=None, checked=True,
                    extra_signers=()):
        """`data` (unsigned, headers as edited) signed by pkcs7.authenticode and attached."""
        keypair = keypair or self.pki.db
        body = peimage.padded(data)
        digest = peimage.authenticode_digest(body, algorithm, checked=checked)
        p7 = pkcs7.authenticode(digest, algorithm, keypair[0], keypair[1], signer_algorithm=signer_algorithm, embed=embed,
                                extra_signers=extra_signers)
        return self.put(name, peimage.attach(body, peimage.win_certificate(p7)))

    def cases(self):
        pki, b = self.pki, self
        good = self.read(self.signed)
        p7 = peimage.signature_of(good)
        other_p7 = peimage.signature_of(self.read(sbsign(self.uki, self.at("signed-other.efi"), pki.other)))
        pe = peimage.Pe(good)
        _, _, _, _, linux_raw, linux_at = pe.section(".linux")
        _, _, _, _, _, cmdline_at = pe.section(".cmdline")

        def one(name, title, path, source="issue"):
            return Case(name, title, source, {BOOT: path})

        def chain(name, title, sdboot, uki):
            return Case(name, title, "issue", {BOOT: sdboot, CHAINED: uki, "loader/loader.conf": self.loader_conf()},
                        checked=[BOOT, CHAINED])

        yield one("signed-db", "signed by the db key (sbsign)", self.signed)
        yield one("unsigned", "unsigned", self.uki)
        yield one("other-key", "signed by a key outside db", self.at("signed-other.efi"))
        yield one("kek-only", "signed by the KEK key (KEK does not verify images)", sbsign(self.uki, self.at("kek.efi"), pki.kek))
        yield one("flip-linux", "a byte flipped in .linux after signing", b.put("flip-linux.efi", flip(good, linux_at + linux_raw // 2)))
        yield one("flip-cmdline", "a byte flipped in .cmdline after signing", b.put("flip-cmdline.efi", flip(good, cmdline_at)))
        yield one("truncated-1", "truncated by 1 byte", b.put("truncated-1.efi", good[:-1]))
        yield one("truncated-1k", "truncated by 1 KiB", b.put("truncated-1k.efi", good[:-1024]))
        yield one("junk-after", "4 KiB of junk appended after the signature", b.put("junk-after.efi", good + os.urandom(4096)))
        yield one("dual-db-first", "two signatures: db, then another key",
                  b.retable("dual-db-first.efi", peimage.win_certificate(p7) + peimage.win_certificate(other_p7)))
        yield one("dual-db-last", "two signatures: another key, then db",
                  b.retable("dual-db-last.efi", peimage.win_certificate(other_p7) + peimage.win_certificate(p7)))
        yield one("chain-intermediate", "leaf under a db CA, intermediate embedded",
                  sbsign(self.uki, self.at("chain.efi"), pki.leaf, addcert=pki.intermediate[1]))
        yield one("chain-no-intermediate", "leaf under a db CA, intermediate missing",
                  sbsign(self.uki, self.at("chain-missing.efi"), pki.leaf))
        yield one("expired-leaf", "expired leaf under a db CA (firmware has no trusted clock)",
                  sbsign(self.uki, self.at("expired.efi"), pki.expired))
        yield one("sha384", "SHA-384 Authenticode (osslsigncode)", osslsigncode(self.uki, self.at("sha384.efi"), pki.db, "sha384"))
        yield one("sha512", "SHA-512 Authenticode (osslsigncode)", osslsigncode(self.uki, self.at("sha512.efi"), pki.db, "sha512"))
        yield one("uefi-guid", "WIN_CERTIFICATE_UEFI_GUID with EFI_CERT_TYPE_PKCS7_GUID",
                  b.retable("uefi-guid.efi", peimage.uefi_guid_certificate(p7)))
        yield one("wrevision", "wRevision 0x0100 instead of 0x0200",
                  b.retable("wrevision.efi", peimage.win_certificate(p7, revision=0x0100)))
        checksum = bytearray(good)
        peimage.put32(checksum, pe.checksum_at, 0xDEADBEEF)
        yield one("checksum", "PE CheckSum changed after signing", b.put("checksum.efi", checksum))
        yield chain("sdboot-signed-uki-unsigned", "systemd-boot signed, the UKI it loads unsigned",
                    sbsign(self.sdboot, self.at("sdboot-signed.efi"), pki.db), self.uki)
        yield chain("sdboot-unsigned-uki-signed", "systemd-boot unsigned, the UKI it would load signed", self.sdboot, self.signed)
        yield from self.rule_cases(good, p7, pe)

    def rule_cases(self, good, p7, pe):
        pki, b = self.pki, self

        def rule(name, title, source, path):
            return Case(name, title, source, {BOOT: path})

        yield rule("sha1", "SHA-1 Authenticode (osslsigncode)", f"{DXE} HashPeImageByType, HashPeImage",
                   osslsigncode(self.uki, self.at("sha1.efi"), pki.db, "sha1"))
        yield rule("ecdsa", "signed by an ECDSA P-256 leaf under the db CA (sbsign)",
                   "CryptoPkg/Library/OpensslLib/OpensslLibCrypto.inf OPENSSL_NO_EC", sbsign(self.uki, self.at("ecdsa.efi"), pki.ec))
        yield rule("p7-over-64k", "a PKCS#7 over 64 KiB (its length takes 3 bytes)", f"{DXE} HashPeImageByType",
                   sbsign(self.uki, self.at("big-p7.efi"), pki.db, addcert=pki.big[1]))
        yield rule("digest-mismatch", "image digest SHA-256, signer digest SHA-384", f"{DXE} HashPeImageByType; {CRYPT} AuthenticodeVerify",
                   b.hand_signed("digest-mismatch.efi", self.read(self.uki), signer_algorithm="sha384"))
        yield rule("hand-signed", "the hand-built signature, well-formed (control)", f"{CRYPT} AuthenticodeVerify",
                   b.hand_signed("hand-signed.efi", self.read(self.uki)))
        yield rule("no-signer-cert", "the signer's certificate not embedded", "CryptoPkg/Library/BaseCryptLib/Pk/CryptPkcs7VerifyCommon.c Pkcs7Verify",
                   b.hand_signed("no-signer-cert.efi", self.read(self.uki), embed=[]))
        yield rule("no-padding", "last WIN_CERTIFICATE without its 8-byte padding", f"{DXE} DxeImageVerificationHandler",
                   b.retable("no-padding.efi", peimage.win_certificate(p7 + (b"\0" if len(p7) % 8 == 0 else b""), pad=False)))
        yield rule("table-tail-8", "8 zero bytes after the last WIN_CERTIFICATE", f"{DXE} DxeImageVerificationHandler",
                   b.retable("table-tail-8.efi", peimage.win_certificate(p7) + bytes(8)))
        yield rule("unknown-type-first", "a WIN_CERT_TYPE_X509 entry, then the db signature", f"{DXE} DxeImageVerificationHandler",
                   b.retable("unknown-first.efi", peimage.win_certificate(os.urandom(40), cert_type=peimage.WIN_CERT_TYPE_X509) +
                             peimage.win_certificate(p7)))
        yield rule("guid-other-type", "WIN_CERTIFICATE_UEFI_GUID of CertType RSA2048_SHA256", f"{DXE} DxeImageVerificationHandler",
                   b.retable("guid-rsa.efi", peimage.uefi_guid_certificate(p7, guid=peimage.EFI_CERT_TYPE_RSA2048_SHA256_GUID)))
        yield rule("p7-trailing-bytes", "bytes after the PKCS#7 inside its WIN_CERTIFICATE", f"{CRYPT} AuthenticodeVerify (d2i_PKCS7)",
                   b.retable("p7-tail.efi", peimage.win_certificate(p7 + os.urandom(100))))
        yield from self.layout_cases()
        yield from self.profile_cases()
        yield from self.db_cases()
        yield from self.dbx_cases()
        yield from self.medium_cases()

    def profile_cases(self):
        """Issue 28 class 1: where OpenSSL 1.1.1 as CryptoPkg builds it and OpenSSL 3 part."""
        pki, b = self.pki, self
        verify = "CryptoPkg/Library/BaseCryptLib/Pk/CryptPkcs7VerifyCommon.c Pkcs7Verify"
        purp = "OpenSSL 1.1.1n crypto/x509v3/v3_purp.c"
        vfy = "OpenSSL 1.1.1n crypto/x509/x509_vfy.c"

        def leaf(name, title, source, keypair, **kw):
            return Case(name, title, source, {BOOT: b.hand_signed(name + ".efi", self.read(self.uki), keypair=keypair, **kw)})

        yield leaf("dsa-signer", "signed by a DSA leaf under the db CA", "opensslconf.h OPENSSL_NO_DSA; " + verify, pki.dsa)
        yield leaf("empty-keyusage", "leaf with an empty keyUsage (OpenSSL 3 marks it invalid)",
                   f"{purp} x509v3_cache_extensions; {vfy} check_purpose", pki.empty_ku)
        yield leaf("pathlen-non-ca", "non-CA leaf carrying a pathLenConstraint", f"{purp} x509v3_cache_extensions", pki.pathlen_leaf)
        yield leaf("unknown-critical", "leaf with an unknown critical extension", f"{purp} X509_supported_extension",
                   pki.unknown_critical)
        yield leaf("crldp-critical", "leaf with critical CRL distribution points", f"{purp} X509_supported_extension",
                   pki.crldp_critical)
        yield leaf("rfc3779-plain", "leaf with IP resources (not critical) under a CA without",
                   "opensslconf.h OPENSSL_NO_RFC3779; " + vfy, pki.rfc3779_plain)
        yield leaf("rfc3779-critical", "leaf with critical IP resources under a db CA with them",
                   f"opensslconf.h OPENSSL_NO_RFC3779; {purp} X509_supported_extension", pki.rfc3779_critical)
        yield leaf("rfc3779-nested", "leaf with IP resources under a db CA with them (control)", vfy, pki.rfc3779_nested)
        yield leaf("second-signer-ec", "an RSA leaf, then a second SignerInfo by an ECDSA leaf, both under the db CA",
                   "OpensslLibCrypto.inf OPENSSL_NO_EC; OpenSSL 1.1.1n pk7_smime.c PKCS7_verify", pki.expired,
                   extra_signers=[(pki.ec[0], pki.ec[1], "sha256")])
        yield leaf("second-signer-ripemd", "a second SignerInfo (db key) digesting with RIPEMD-160",
                   "opensslconf.h OPENSSL_NO_RMD160; OpenSSL 1.1.1n crypto/evp/c_alld.c", pki.db,
                   extra_signers=[(pki.db[0], pki.db[1], "ripemd160")])
        yield leaf("second-signer-sha224", "a second SignerInfo (db key) digesting with SHA-224 (control)",
                   "OpenSSL 1.1.1n crypto/evp/c_alld.c", pki.db, extra_signers=[(pki.db[0], pki.db[1], "sha224")])
        yield leaf("signers-two-anchors", "two SignerInfos chaining to two different db certificates",
                   verify + " (one db certificate per call)", pki.db,
                   extra_signers=[(pki.rfc3779_nested[0], pki.rfc3779_nested[1], "sha256")])

    def db_cases(self):
        """Issue 28 class 2: db's SHA-256 image digests (EFI_CERT_SHA256_GUID)."""
        dxe = f"{DXE} DxeImageVerificationHandler, IsSignatureFoundInDatabase"

        def listed(name, path):
            self.hashed.append(path)
            return path

        unsigned = self.put("hash-unsigned.efi", self.read(self.uki) + bytes(8))
        yield Case("hash-unsigned", "unsigned, its SHA-256 in db", dxe, {BOOT: listed("hash-unsigned", unsigned)})
        other = sbsign(self.put("hash-other-base.efi", self.read(self.uki) + bytes(16)), self.at("hash-other.efi"), self.pki.other)
        yield Case("hash-other-key", "signed (SHA-256) by a key outside db, its SHA-256 in db", dxe, {BOOT: listed("x", other)})
        other384 = osslsigncode(self.put("hash-384-base.efi", self.read(self.uki) + bytes(24)), self.at("hash-384.efi"),
                                self.pki.other, "sha384")
        yield Case("hash-sha384-signed", "signed (SHA-384) by a key outside db, its SHA-256 in db (looked up as SHA-384)", dxe,
                   {BOOT: listed("y", other384)})

    def dbx_cases(self):
        """Issue 28 class 2, the forbidden side: dbx refuses by image digest, by certificate (the
        signer's or one up its chain) and by a certificate's TBS digest, before db is asked."""
        pki, b = self.pki, self
        dxe = f"{DXE} DxeImageVerificationHandler"
        forbidden = f"{DXE} IsForbiddenByDbx"

        def variant(name, pad):
            return self.put(name + "-base.efi", self.read(self.uki) + bytes(pad))

        image = sbsign(variant("dbx-image", 32), self.at("dbx-image.efi"), pki.db)
        self.dbx["images"].append(image)
        yield Case("dbx-image-hash", "signed by the db key, its SHA-256 in dbx", f"{dxe} (dbx image digest)", {BOOT: image})
        self.dbx["certs"].append(pki.revoked[1])
        yield Case("dbx-signer-cert", "signed by a leaf under the db CA, the leaf's certificate in dbx", forbidden,
                   {BOOT: sbsign(variant("dbx-leaf", 40), self.at("dbx-leaf.efi"), pki.revoked)})
        self.dbx["certs"].append(pki.revoked_ca[1])
        yield Case("dbx-intermediate", "a leaf under an intermediate (embedded) under the db CA, the intermediate in dbx",
                   forbidden, {BOOT: sbsign(variant("dbx-ca", 48), self.at("dbx-ca.efi"), pki.revoked_ca_leaf,
                                            addcert=pki.revoked_ca[1])})
        self.dbx["tbs"].append(pki.revoked_tbs[1])
        yield Case("dbx-signer-tbs", "signed by a leaf under the db CA, its TBS SHA-256 in dbx (revoked since time zero)",
                   f"{forbidden}, IsCertHashFoundInDbx, PassTimestampCheck",
                   {BOOT: sbsign(variant("dbx-tbs", 56), self.at("dbx-tbs.efi"), pki.revoked_tbs)})
        both = variant("dbx-both", 64)
        self.hashed.append(both)
        self.dbx["images"].append(both)
        yield Case("dbx-and-db-hash", "unsigned, its SHA-256 in db and in dbx", f"{dxe} (dbx before db)", {BOOT: both})

    def dbx_file(self, out):
        """The dbx the corpus enrols (an .esl: what sbpipe verify gets as --dbx and what the firmware
        variable holds)."""
        return signature_list_file(self.dbx["certs"], out, self.dbx["images"], self.dbx["tbs"])

    def medium_cases(self):
        """Issue 28 classes 3 and 4: which file the firmware opens, and on which file system."""
        fatdir = "FatPkg/EnhancedFatDxe/DirectoryManage.c"
        unsigned, signed = read(self.uki), read(self.signed)

        def fat(entries):
            return fatimage.Fat16().build(fatimage.efi_boot(entries))

        def image(name, title, source, data, kind="esp-image", writable=False):
            return Case(name, title, source, {}, checked=["image"], medium=(kind, self.put(name + ".img", data), writable))

        def bad_cluster(part):
            part[26] = 1

        yield image("fat-alias-first", "an unsigned file whose 8.3 name is BOOTX64.EFI (long name notes.txt), then "
                    "a signed one whose long name is", f"{fatdir} FatSearchODir",
                    fat([{"short": "BOOTX64 EFI", "lfn": "notes.txt", "data": unsigned},
                         {"short": "BOOTX6~1EFI", "lfn": "BOOTX64.EFI", "data": signed}]))
        yield image("fat-alias-signed-first", "the signed file first by its 8.3 name, an unsigned bootx64.efi by long name "
                    "after it", f"{fatdir} FatSearchODir",
                    fat([{"short": "BOOTX64 EFI", "lfn": "notes.txt", "data": signed},
                         {"short": "BOOTX6~1EFI", "lfn": "bootx64.efi", "data": unsigned}]))
        yield image("fat-lfn-dropped", "an unsigned file whose long name BOOTX64.EFI has a part with a cluster field "
                    "(dropped), then the signed BOOTX64.EFI", f"{fatdir} FatLoadLongNameEntry",
                    fat([{"short": "AAAAAAAAEFI", "lfn": "BOOTX64.EFI", "tweak": bad_cluster, "data": unsigned},
                         {"short": "BOOTX64 EFI", "data": signed}]))
        yield image("fat-past-zero", "BOOTX64.EFI (unsigned) after an entry whose first byte is 0 but which carries "
                    "the volume bit", f"{fatdir} FatLoadNextDirEnt",
                    fat([{"raw": bytes(11) + b"\x0f" + bytes(20)}, {"short": "BOOTX64 EFI", "data": unsigned}]))
        part = fatimage.Fat16().build(fatimage.efi_boot([{"short": "BOOTX64 EFI", "data": unsigned}]))
        part_sectors = len(part) // fatimage.SECTOR
        pdxe = "MdeModulePkg/Universal/Disk/PartitionDxe"
        yield image("mbr-type-0c", "a disk whose MBR partition of type 0x0c (FAT32 LBA, not 0xef) holds an unsigned "
                    "BOOTX64.EFI", f"{pdxe}/Mbr.c PartitionInstallMbrChildHandles",
                    fatimage.mbr_disk([(0x0C, 2048, part)], 2048 + part_sectors + 64))
        yield image("gpt-backup", "a disk whose primary GPT header is damaged; the backup lists a basic-data partition "
                    "holding an unsigned BOOTX64.EFI (writable: the firmware restores the primary)",
                    f"{pdxe}/Gpt.c PartitionInstallGptChildHandles",
                    fatimage.gpt_disk([(2048, part)], 2048 + part_sectors + 2048, break_primary=True), writable=True)
        yield image("eltorito-bios-platform", "an ISO whose only El Torito entry is for platform x86 (not 0xef) and "
                    "boots a FAT image holding an unsigned BOOTX64.EFI", f"{pdxe}/ElTorito.c",
                    self.bios_platform_iso(part), kind="cdrom")

    def bios_platform_iso(self, fat_image):
        """xorriso -b (the BIOS platform) with the FAT image as a no-emulation boot image."""
        tree = self.at("iso-tree")
        os.makedirs(tree, exist_ok=True)
        with open(os.path.join(tree, "boot.img"), "wb") as f:
            f.write(fat_image)
        out = self.at("eltorito-bios.iso")
        run("xorriso", "-as", "mkisofs", "-R", "-V", "CORPUS", "-b", "boot.img", "-no-emul-boot", "-o", out, tree)
        return read(out)

    def layout_cases(self):
        b = self

        def edited(name, edit, checked=True):
            data = self.read(self.uki)
            edit(data, peimage.Pe(data))
            return b.hand_signed(name, data, checked=checked)

        def rule(name, title, source, path):
            return Case(name, title, source, {BOOT: path})

        def section_before_headers(data, pe):
            h = pe.section(".osrel")[0]
            peimage.put32(data, h + 20, pe.size_of_headers - 8)

        def rva_count(data, pe):
            peimage.put32(data, pe.rva_count_at, 15)

        def size_of_image(data, pe):
            peimage.put32(data, pe.size_of_image_at, pe.size_of_headers)

        def overlap_all(data, pe):
            # .osrel's raw data made .linux's: the counted bytes exceed the file, so nothing is
            # taken as trailing data.
            linux = pe.section(".linux")
            h = pe.section(".osrel")[0]
            peimage.put32(data, h + 16, linux[4])
            peimage.put32(data, h + 20, linux[5])

        def overlap_a_little(data, pe):
            # .osrel's raw data 512 bytes longer (into the next section): the counted bytes end
            # inside what will be the certificate table.
            h = pe.section(".osrel")[0]
            peimage.put32(data, h + 16, peimage.u32(data, h + 16) + 512)

        def debug_past_end(data, pe):
            last = max(pe.sections(), key=lambda s: s[3])
            h, _, _, va, raw, _ = last
            peimage.put32(data, h + 8, raw + 0x100000)
            peimage.put32(data, pe.debug_dir_at, va + raw + 0x100000 - 28)
            peimage.put32(data, pe.debug_dir_at + 4, 28)

        yield rule("section-in-headers", "a section's raw data starting inside the headers", f"{PECOFF} PeCoffLoaderGetPeHeader",
                   edited("section-in-headers.efi", section_before_headers))
        yield rule("rva-count", "NumberOfRvaAndSizes disagreeing with SizeOfOptionalHeader", f"{PECOFF} PeCoffLoaderGetPeHeader",
                   edited("rva-count.efi", rva_count))
        yield rule("size-of-image", "SizeOfImage not above SizeOfHeaders", f"{PECOFF} PeCoffLoaderGetPeHeader",
                   edited("size-of-image.efi", size_of_image))
        yield rule("overlap-beyond-file", "sections overlapping, counting more bytes than the file holds", f"{DXE} HashPeImage",
                   edited("overlap-beyond-file.efi", overlap_all))
        yield rule("overlap-into-table", "sections overlapping, counting bytes up into the certificate table", f"{DXE} HashPeImage",
                   edited("overlap-into-table.efi", overlap_a_little, checked=False))
        yield rule("debug-past-end", "a debug directory entry past the end of the file", f"{PECOFF} PeCoffLoaderGetImageInfo",
                   edited("debug-past-end.efi", debug_past_end))
        yield rule("table-in-gap", "the certificate table between two sections, not at the end", f"{DXE} DxeImageVerificationHandler, HashPeImage",
                   self.table_in_gap())

    def table_in_gap(self):
        """The UKI with a gap opened before its last section (in file order) holding the table."""
        data = self.read(self.uki)
        pe = peimage.Pe(data)
        h, _, _, _, _, raw_at = max((s for s in pe.sections() if s[4]), key=lambda s: s[5])
        probe = pkcs7.authenticode(bytes(32), "sha256", self.pki.db[0], self.pki.db[1])
        table_len = len(peimage.win_certificate(probe))
        out = data[:raw_at] + bytes(table_len) + data[raw_at:]
        for sh, _, _, _, raw, at in peimage.Pe(out).sections():
            if raw and at >= raw_at:
                peimage.put32(out, sh + 20, at + table_len)
        pe = peimage.Pe(out)
        peimage.put32(out, pe.cert_dir_at, raw_at)
        peimage.put32(out, pe.cert_dir_at + 4, table_len)
        digest = peimage.authenticode_digest(out, "sha256")
        table = peimage.win_certificate(pkcs7.authenticode(digest, "sha256", self.pki.db[0], self.pki.db[1]))
        assert len(table) == table_len
        out[raw_at:raw_at + table_len] = table
        return self.put("table-in-gap.efi", out)

    def loader_conf(self):
        path = self.at("loader.conf")
        if not os.path.exists(path):
            with open(path, "w") as f:
                f.write("timeout 0\n")
        return path


def lay_out(case, root):
    """The case's ESP as a directory (files hard-linked where possible), or its own medium's path."""
    if case.medium:
        return case.medium[1]
    esp = os.path.join(root, case.name)
    for target, source in case.files.items():
        dest = os.path.join(esp, target)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        try:
            os.link(source, dest)
        except OSError:
            shutil.copyfile(source, dest)
    return esp


def deterministic_bytes(tag, length):
    """`length` bytes that depend only on `tag` (SHA-256 in counter mode)."""
    out = bytearray()
    counter = 0
    while len(out) < length:
        out += hashlib.sha256(f"{tag}-{counter}".encode()).digest()
        counter += 1
    return bytes(out[:length])


def corpus_uki(source, out):
    """The corpus's unsigned UKI: Debian's systemd-stub with .osrel, .cmdline, .linux and .initrd
    appended by the Talos model's own assembler (scripts/talos_model/pe.py assemble_native, what
    imager 1.10+ does), with a small .linux that is no kernel. The firmware verifies the image
    before it runs a byte of it, so the verdict is the same as for the model's 30 MB UKI; the
    firmware's hashing of 150 KB under TCG takes no time, and once the firmware has started it
    the stub says "Bad kernel image" and returns, so the boot manager goes on to the next case
    in the same run. That real UKIs boot is test_published.py's part."""
    sys.path.insert(0, os.path.join(source, "scripts"))
    from talos_model import pe as model_pe
    sections = [model_pe.Section(".osrel", b'NAME="Talos"\nID=talos\nVERSION_ID=v1.13.0\n'),
                model_pe.Section(".cmdline", b"console=ttyS0 lockdown=integrity"),
                model_pe.Section(".linux", deterministic_bytes("linux", 64 * 1024)),
                model_pe.Section(".initrd", deterministic_bytes("initrd", 16 * 1024))]
    os.makedirs(os.path.dirname(out), exist_ok=True)
    model_pe.assemble_native(STUB, sections, out)
    return out
