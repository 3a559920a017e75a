"""What the script-driven suites (boot, tpm) share: the owner's key set and stopping a process.

make_owner_keys(d) writes what a workflow mounts at /secureboot, with the file names
`talosctl gen secureboot` uses (uki-signing-key.pem, uki-signing-cert.pem, pcr-signing-key.pem;
PKCS#1 RSA), plus the PCR key's public half. 2048-bit keys keep the suites quick. The C++ tests
have their own (tests/support/talos_model.h). stop_process(proc) ends a child the suite started:
SIGTERM, then SIGKILL after 10 s, and reaps it."""

import os
import subprocess


def _openssl(*args):
    r = subprocess.run(["openssl", *args], capture_output=True)
    if r.returncode != 0:
        raise AssertionError(f"openssl {args[0]} failed ({r.returncode}): {r.stderr.decode(errors='replace')}")


def make_owner_keys(d, name="Owner"):
    os.makedirs(d, exist_ok=True)
    _openssl("genrsa", "-traditional", "-out", f"{d}/uki-signing-key.pem", "2048")
    _openssl("req", "-x509", "-key", f"{d}/uki-signing-key.pem", "-out", f"{d}/uki-signing-cert.pem", "-days", "30",
             "-subj", "/O=" + name)
    _openssl("genrsa", "-traditional", "-out", f"{d}/pcr-signing-key.pem", "2048")
    _openssl("rsa", "-in", f"{d}/pcr-signing-key.pem", "-pubout", "-out", f"{d}/pcr-signing-key.pub.pem")


def stop_process(proc):
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
