#!/bin/busybox sh
# The model node's TPM step (STANDIN_NODE_TPM=1; run by the model's /init before it powers off).
# It does with the TPM what a Talos node does, using Debian's tpm2-tools through the kernel's
# resource manager (/dev/tpmrm0), and prints each result on the serial console as
# "SBPIPE-NODE <what> <value>" for the boot tests (tests/boot/test_upgrade.py) to judge:
#
# - PCR 7 and PCR 11 as the firmware and systemd-stub left them, then PCR 11 after each boot
#   phase Talos extends (sha256 bank, SHA-256 of the phase name): enter-initrd
#   (internal/app/init/main.go), leave-initrd (internal/pkg/mount/switchroot/switchroot.go),
#   enter-machined (internal/app/machined/pkg/controllers/hardware/pcr_status.go);
# - the boot entry systemd-boot says it started (LoaderEntrySelected, through efivarfs);
# - with no sealed secret handed in: seal a fresh one as Talos seals a disk key
#   (internal/pkg/secureboot/tpm2/seal.go: PolicyAuthorize to the name of the PCR public key
#   the stub passed in /.extra, then PolicyPCR over the current PCR 7; an ECC storage primary
#   key; fixedtpm|fixedparent|noda) and print the secret and the sealed blobs;
# - with a sealed secret handed in through fw_cfg (opt/sbpipe/sealed-pub, opt/sbpipe/sealed-priv):
#   unseal it as Talos does (unseal.go): PolicyPCR(11) in a policy session, the sha256 entry of
#   the stub's tpm2-pcr-signature.json whose policy is that digest, its signature checked by
#   the TPM against the boot's PCR public key, PolicyAuthorize, PolicyPCR(7), then Unseal.
bb=/bin/busybox
export PATH=/bin LD_LIBRARY_PATH=/lib/x86_64-linux-gnu TPM2TOOLS_TCTI=device:/dev/tpmrm0
say() { echo "SBPIPE-NODE $*" > /dev/ttyS0; }
pcr() { $bb tr A-F a-f < "/sys/class/tpm/tpm0/pcr-sha256/$1"; }
# t COMMAND...: runs a tpm2 tool quietly; on failure prints "error <tool> <its message>".
t() {
  "$@" > /dev/null 2> /tmp/tpm/err && return 0
  say "error $1 $($bb tr '\n' ' ' < /tmp/tpm/err | $bb cut -c1-300)"
  return 1
}

$bb mkdir -p /tmp/tpm && cd /tmp/tpm || exit 0
if [ ! -e /dev/tpmrm0 ]; then
  say "error no /dev/tpmrm0 (no TPM given to the machine)"
  exit 0
fi
say "pcr7 $(pcr 7)"
say "pcr11 stub $(pcr 11)"
for phase in enter-initrd leave-initrd enter-machined; do
  digest=$(printf %s "$phase" | $bb sha256sum | $bb cut -d' ' -f1)
  t tpm2_pcrextend "11:sha256=$digest" || exit 0
  say "pcr11 $phase $(pcr 11)"
done

$bb mkdir -p /sys/firmware/efi/efivars
$bb insmod /lib/modules/efivarfs.ko 2> /dev/null
$bb mount -t efivarfs efivarfs /sys/firmware/efi/efivars 2> /dev/null
selected=/sys/firmware/efi/efivars/LoaderEntrySelected-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f
# efivarfs: 4 bytes of attributes, then systemd-boot's UTF-16LE string.
[ -r "$selected" ] && say "entry-selected $($bb tail -c +5 "$selected" | $bb tr -d '\000')"

key=/.extra/tpm2-pcr-public-key.pem
signature=/.extra/tpm2-pcr-signature.json
if [ ! -r "$key" ] || [ ! -r "$signature" ]; then
  say "error the stub passed no $key or $signature"
  exit 0
fi
$bb insmod /lib/modules/qemu_fw_cfg.ko 2> /dev/null
handed=/sys/firmware/qemu_fw_cfg/by_name/opt/sbpipe

seal() {
  t tpm2_loadexternal -C o -G rsa -u "$key" -c key.ctx -n key.name || return
  t tpm2_startauthsession -S trial.ctx || return
  t tpm2_policyauthorize -S trial.ctx -L authorize.pol -n key.name || return
  t tpm2_policypcr -S trial.ctx -l sha256:7 -L seal.pol || return
  t tpm2_flushcontext trial.ctx || return
  $bb head -c 16 /dev/urandom | $bb xxd -p > secret
  t tpm2_createprimary -C o -G ecc -c primary.ctx || return
  t tpm2_create -C primary.ctx -u sealed.pub -r sealed.priv -L seal.pol -a "fixedtpm|fixedparent|noda" -i secret || return
  say "sealed $(cat secret)"
  say "sealed-pub $($bb base64 -w0 sealed.pub)"
  say "sealed-priv $($bb base64 -w0 sealed.priv)"
}

unseal() {
  $bb cat "$handed/sealed-pub/raw" > sealed.pub
  $bb cat "$handed/sealed-priv/raw" > sealed.priv
  t tpm2_startauthsession --policy-session -S session.ctx || return
  t tpm2_policypcr -S session.ctx -l sha256:11 -L current.pol || return
  # The sha256 entry's policy and signature (one entry: Talos signs only enter-machined).
  pol=$($bb sed -n 's/.*"sha256":\[{[^}]*"pol":"\([0-9a-f]*\)".*/\1/p' "$signature")
  sig=$($bb sed -n 's/.*"sha256":\[{[^}]*"sig":"\([^"]*\)".*/\1/p' "$signature")
  if [ "$pol" != "$($bb xxd -p -c 64 current.pol)" ]; then
    say "unseal-refused no signature matching PCR 11 in $signature"
    return
  fi
  echo "$pol" | $bb xxd -r -p > approved.pol
  echo "$sig" | $bb base64 -d > approved.sig
  t tpm2_loadexternal -C o -G rsa -u "$key" -c key.ctx -n key.name || return
  if ! tpm2_verifysignature -c key.ctx -g sha256 -m approved.pol -f rsassa -s approved.sig -t verified.tkt > /dev/null 2>&1; then
    say "unseal-refused the TPM rejects the PCR signature"
    return
  fi
  t tpm2_policyauthorize -S session.ctx -i approved.pol -n key.name -t verified.tkt || return
  t tpm2_policypcr -S session.ctx -l sha256:7 || return
  t tpm2_createprimary -C o -G ecc -c primary.ctx || return
  t tpm2_load -C primary.ctx -u sealed.pub -r sealed.priv -c sealed.ctx || return
  if tpm2_unseal -c sealed.ctx -p session:session.ctx > unsealed 2> err; then
    say "unsealed $($bb tr -d '\n' < unsealed)"
  else
    say "unseal-refused $($bb tr '\n' ' ' < err | $bb cut -c1-300)"
  fi
}

if [ -r "$handed/sealed-pub/raw" ]; then unseal; else seal; fi
