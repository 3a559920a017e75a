"""Key enrolment the way a Talos node gets its keys: the firmware starts in setup mode (no PK, so
SecureBoot is off and any image runs), systemd-boot finds loader/keys/auto/{PK,KEK,db}.auth on
the ESP, writes db, KEK and then PK (which ends setup mode) and resets; from then on the firmware
enforces SecureBoot with those keys.

Talos's ISO says `secure-boot-enroll if-safe` (siderolabs/talos pkg/imager/iso/loader.conf.tmpl);
Debian 12's systemd-boot 252 knows only off|manual|force (loader.conf(5) of systemd 252; it prints
"Error parsing 'secure-boot-enroll' config option: if-safe" on the ISO), so the enrolment runs from
an ESP made here with `force`, the ISO's own systemd-boot and its own .auth files. qemu runs with
-no-reboot, so the reset after enrolling ends the run.
"""

import os
import shutil

import firmware

ENROL_MESSAGE = "Enrolling secure boot keys from directory"
AUTH_FILES = ("PK.auth", "KEK.auth", "db.auth")


def enrol_esp(directory, systemd_boot, auth_dir):
    """An ESP directory that enrols `auth_dir`'s PK/KEK/db.auth with `systemd_boot`."""
    os.makedirs(os.path.join(directory, "EFI", "BOOT"))
    os.makedirs(os.path.join(directory, "loader", "keys", "auto"))
    shutil.copyfile(systemd_boot, os.path.join(directory, "EFI", "BOOT", "BOOTX64.EFI"))
    for name in AUTH_FILES:
        shutil.copyfile(os.path.join(auth_dir, name), os.path.join(directory, "loader", "keys", "auto", name))
    with open(os.path.join(directory, "loader", "loader.conf"), "w") as f:
        f.write("timeout 0\nsecure-boot-enroll force\n")
    return directory


def enrol(vars_out, systemd_boot, auth_dir, work):
    """Fresh setup-mode NVRAM at `vars_out`, enrolled with `auth_dir`'s keys by `systemd_boot`.
    Returns the firmware.Boot of the enrolment; raises when systemd-boot did not enrol and reset."""
    esp = enrol_esp(os.path.join(work, "enrol-esp"), systemd_boot, auth_dir)
    firmware.fresh_vars(vars_out)
    run = firmware.boot([firmware.Medium.esp_dir(esp, "enrol")], vars_out, os.path.join(work, "enrol.log"), deadline=180,
                        stop_when=lambda lines: any(line.startswith("Failed to write") for line in lines))
    if run.ended != "reset" or not any(ENROL_MESSAGE in line for line in run.lines):
        raise AssertionError(f"systemd-boot did not enrol the keys (ended: {run.ended}); console:\n" + "\n".join(run.lines[-30:]))
    return run
