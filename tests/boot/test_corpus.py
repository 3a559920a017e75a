#!/usr/bin/python3
"""The differential corpus: sbpipe verify's signature verdict must be the firmware's on every case.

The firmware (Debian's OVMF, EDK2 edk2-stable202211, SecureBoot build, under qemu) gets the
corpus PKI enrolled the Talos way (enrol.py), then boots every case's ESP. The boot manager tries
the ESPs in order: each one it refuses prints "Access Denied" and it moves on; the first it starts
boots the model (which powers off) or fails back to the boot manager. Runs repeat with the
undecided ESPs until every case has its verdict, on two machines at a time.

sbpipe verify checks the same binaries with `--db` = the db.auth the firmware enrolled and `--dbx` =
the dbx written into its store. Its signature
verdict and its policy verdict (cmdline, PCR policy, and the named policies stricter than the
firmware, docs/boot.md) are reported apart; only the signature verdict is compared. Any
disagreement fails the test and prints the table.
Usage: test_corpus.py SBPIPE SOURCE_DIR
"""

import json
import os
import shutil
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import corpus  # noqa: E402
import enrol  # noqa: E402
import firmware  # noqa: E402
import nvram  # noqa: E402
import serial  # noqa: E402
from tools import run  # noqa: E402

SBPIPE = sys.argv.pop(1)
SOURCE = sys.argv.pop(1)
SYSTEMD_BOOT = "/usr/lib/systemd/boot/efi/systemd-bootx64.efi"
# Issue 20's list, each named as corpus.Builder.cases names it (docs/boot.md has the table).
ISSUE_CASES = ("signed-db", "unsigned", "other-key", "kek-only", "flip-linux", "flip-cmdline", "truncated-1", "truncated-1k",
               "junk-after", "dual-db-first", "dual-db-last", "chain-intermediate", "chain-no-intermediate", "expired-leaf",
               "sha384", "sha512", "uefi-guid", "wrevision", "checksum", "sdboot-signed-uki-unsigned",
               "sdboot-unsigned-uki-signed")
MACHINES = int(os.environ.get("SBPIPE_BOOT_MACHINES", "2"))


def judge(media, enrolled, work, tag):
    """{label: serial.Outcome} for every medium, booting the undecided ones again until each has
    a verdict. Raises when a run decides nothing."""
    pending, decided, runs = list(media), {}, 0
    while pending:
        runs += 1
        vars_copy = shutil.copyfile(enrolled, os.path.join(work, f"vars-{tag}-{runs}.fd"))
        # systemd-boot waits in its menu after the firmware refused the UKI it was to start:
        # that ends the run (the chained cases come last in each group for that reason).
        result = firmware.boot(pending, vars_copy, os.path.join(work, f"corpus-{tag}-{runs}.log"), deadline=240,
                               stop_when=lambda lines: any(serial.sd_boot_refusal(line) for line in lines))
        now = {label: o for label, o in result.outcomes.items() if o.verdict != "untried"}
        if not now:
            raise AssertionError(f"firmware run {tag}-{runs} ({result.ended}) decided nothing; console:\n" +
                                 "\n".join(result.lines[-40:]))
        decided.update(now)
        pending = [m for m in pending if m.label not in decided]
        print(f"boot-corpus: machine {tag} run {runs}: {len(now)} decided in {result.seconds:.0f} s ({result.ended})",
              file=sys.stderr)
    return decided


def firmware_verdicts(case, outcome):
    """{ESP path: "accepted" | "refused" | "not reached" | "error: ..."} for the case's checked binaries."""
    if outcome.verdict == "refused":
        first = "refused"
    elif outcome.started:
        first = "accepted"
    else:
        first = "error: " + outcome.detail
    out = {case.checked[0]: first}
    if corpus.CHAINED in case.checked:
        chained = "\\" + corpus.CHAINED.replace("/", "\\")
        if first != "accepted":
            out[corpus.CHAINED] = "not reached"
        elif any(p.lower() == chained.lower() for p in outcome.inner_refusals):
            out[corpus.CHAINED] = "refused"
        elif outcome.verdict == "boots":
            out[corpus.CHAINED] = "accepted"
        else:
            out[corpus.CHAINED] = "error: " + outcome.detail
    return out


def boot_column(outcome):
    """What the run did after the firmware's verdict: "started" when the firmware ran the image
    (the corpus UKI's stub then finds no kernel and returns), else the Outcome's verdict."""
    return "started" if outcome.started and outcome.verdict == "error" else outcome.verdict


def sbpipe_verdict(path, db, dbx, medium=False):
    """(signature ok, signature reason, policy problems) from sbpipe verify --format json: of the
    binary, or for a medium of the file(s) verify names the firmware's fallback bootloader."""
    r = run(SBPIPE, "verify", "--format", "json", path, "--db", db, "--dbx", dbx, check=False)
    if r.returncode not in (0, 1):
        return False, "verify exit %d: %s" % (r.returncode, r.stderr.decode(errors="replace").strip()), []
    binaries = json.loads(r.stdout)["binaries"]
    if medium:
        picked = [b for b in binaries if b.get("expected") == "bootloader"]
        if not picked:
            return False, "verify names no fallback bootloader on the medium", []
        failed = [b for b in picked if not b["signature"]["ok"]]
        shown = failed[0] if failed else picked[0]
        return not failed, shown["path"] + ": " + shown["signature"]["reason"], shown.get("policy", [])
    binary = binaries[0]
    signature = binary.get("signature", {"ok": binary["ok"], "reason": binary["reason"]})
    return signature["ok"], signature["reason"], binary.get("policy", [])


class DifferentialCorpus(unittest.TestCase):
    def test_verify_agrees_with_the_firmware(self):
        started = time.monotonic()
        accel, why = firmware.accelerator()
        print(f"boot-corpus: firmware {firmware.OVMF_CODE}, accelerator {accel} ({why})", file=sys.stderr)
        tmp = tempfile.mkdtemp(prefix="sbpipe-corpus-")
        self.addCleanup(shutil.rmtree, tmp, True)
        uki = corpus.corpus_uki(SOURCE, os.path.join(tmp, "uki", "corpus-uki.efi"))
        pki = corpus.Pki(os.path.join(tmp, "pki"))
        builder = corpus.Builder(os.path.join(tmp, "bin"), pki, uki, SYSTEMD_BOOT)
        cases = list(builder.cases())
        db_auth = pki.enrolment(builder.hashed)
        print(f"boot-corpus: {len(cases)} cases built in {time.monotonic() - started:.0f} s", file=sys.stderr)
        missing = sorted(set(ISSUE_CASES) - {c.name for c in cases})
        self.assertEqual(missing, [], "issue 20's cases missing from the corpus")

        enrolled = os.path.join(tmp, "corpus-enrolled.fd")
        enrol.enrol(enrolled, SYSTEMD_BOOT, pki.auth_dir, tmp)
        # systemd-boot 252 enrols PK, KEK and db only (dbx.auth came with systemd 253), so dbx is
        # written into the enrolled store as the firmware's variable driver stores an authenticated
        # variable it accepted: the signature list itself (a machine's vendor or a dbx update puts it
        # there; the firmware reads it back at every image load, DxeImageVerificationLib.c).
        dbx = builder.dbx_file(os.path.join(tmp, "dbx.esl"))
        nvram.write_variable(enrolled, "dbx", nvram.IMAGE_SECURITY_DATABASE, corpus.read(dbx),
                             attributes=nvram.TIME_BASED_AUTHENTICATED_VARIABLE)
        by_name = {c.name: c for c in cases}
        media = []
        for c in cases:
            where = corpus.lay_out(c, os.path.join(tmp, "esp"))
            if not c.medium:
                media.append(firmware.Medium.esp_dir(where, c.name))
            elif c.medium[0] == "cdrom":
                media.append(firmware.Medium.cdrom(where, c.name))
            elif c.medium[2]:
                media.append(firmware.Medium.disk(where, c.name))  # writable: the firmware may restore a GPT
            else:
                media.append(firmware.Medium.esp_image(where, c.name))

        outcomes, errors = {}, []
        # Chained cases last: their run may end in systemd-boot's menu.
        media.sort(key=lambda m: len(by_name[m.label].checked) > 1)
        groups = [media[i::MACHINES] for i in range(MACHINES)]

        def machine(i):
            try:
                outcomes.update(judge(groups[i], enrolled, tmp, str(i)))
            except BaseException as e:  # reported below, after both machines stopped
                errors.append(e)

        threads = [threading.Thread(target=machine, args=(i,)) for i in range(len(groups)) if groups[i]]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]

        rows, disagreements = [], 0
        for case in cases:
            firm = firmware_verdicts(case, outcomes[case.name])
            for binary in case.checked:
                target = case.medium[1] if case.medium else case.files[binary]
                ok, reason, policy = sbpipe_verdict(target, db_auth, dbx, medium=bool(case.medium))
                verdict = firm[binary]
                if verdict in ("accepted", "refused"):
                    agree = (verdict == "accepted") == ok
                elif verdict == "not reached":
                    agree = True
                else:
                    agree = False
                disagreements += not agree
                rows.append((case.name if binary == case.checked[0] else "", os.path.basename(binary), verdict,
                             boot_column(outcomes[case.name]) if binary == case.checked[-1] else "",
                             "ok" if ok else "FAIL", "ok" if not policy else "FAIL", "yes" if agree else "NO",
                             reason, "; ".join(policy), case.title, case.source))
        table = self.table(rows)
        print(table, file=sys.stderr)
        summary = f"{len(cases)} cases, verify agrees with EDK2 on all" if not disagreements else \
            f"{len(cases)} cases, verify disagrees with EDK2 on {disagreements} binaries"
        print(f"boot-corpus: {summary} ({time.monotonic() - started:.0f} s)", file=sys.stderr)
        self.assertEqual(disagreements, 0, summary + "\n" + table)
        anchors = {c.name: firmware_verdicts(c, outcomes[c.name])[corpus.BOOT] for c in cases
                   if c.name in ("signed-db", "unsigned", "dbx-image-hash")}
        self.assertEqual(anchors, {"signed-db": "accepted", "unsigned": "refused", "dbx-image-hash": "refused"},
                         "the firmware is not enforcing the corpus keys (db, and the dbx written into its store)")

    @staticmethod
    def table(rows):
        head = ("case", "binary", "firmware", "boot", "verify sig", "policy", "agree")
        widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
        lines = ["  ".join(str(v).ljust(w) for v, w in zip(head, widths))]
        for r in rows:
            lines.append("  ".join(str(v).ljust(w) for v, w in zip(r[:len(head)], widths)))
            detail = r[7] if r[4] == "FAIL" or r[6] == "NO" else ""
            if r[8]:
                detail = (detail + "; " if detail else "") + "policy: " + r[8]
            if detail:
                lines.append("      " + detail[:300])
        return "\n".join(lines)


if __name__ == "__main__":
    unittest.main()
