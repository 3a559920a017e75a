"""What a Talos node does with `talosctl upgrade --image REF`, as a model written from the source.

talosctl 1.13 and 1.14 (siderolabs/talos v1.13.9 and v1.14.0-rc.1,
cmd/talosctl/cmd/talos/upgrade.go, upgradeViaLifecycleService) upgrade a node whose Talos is newer
than 1.13.0-alpha.2 in two calls, both given the string REF exactly as typed:

1. ImageService.Pull (cmd/talosctl/cmd/talos/image.go imagePullInternal; on the node
   internal/app/images/images.go Pull). The node parses REF with distribution/reference's
   ParseDockerRef and pulls that normalised name into containerd
   (v1.14.0-rc.1 internal/pkg/containers/image/pull.go Pull and pullInternal; v1.13.9 has the same
   code in internal/pkg/containers/image/image.go), then adds aliases
   (v1.14.0-rc.1 internal/pkg/containers/image/aliases.go manageAliases): the bare digest, the
   normalised name when it carries a tag, and `NAME@DIGEST` (or the normalised name itself when
   it is already canonical). talosctl discards the name the pull answers with.
2. LifecycleService.Upgrade with the same REF (upgrade.go upgradeInternal), which looks the
   image up by exact name (internal/app/lifecycle/container.go runInstallerContainer:
   `GetImage(rc.imageRef)`, else "installer image ... not found in containerd store").

ParseDockerRef (github.com/distribution/reference v0.6.0, the version Talos's go.mod names;
normalize.go ParseDockerRef, ParseNormalizedNamed, splitDockerDomain, TagNameOnly): a familiar
name gets docker.io (and library/ for one path component), a reference that is both tagged and
digested keeps only the digest, and one with neither gets `:latest`.

What the model leaves out: the reference grammar's validation (it assumes a well-formed
reference, as sbpipe's are); image signature verification (ImageVerificationConfig: a verified
pull goes by its digested reference, which adds no name the model lacks); registry mirrors,
authentication and platform selection; the already-pulled shortcut (it makes the same aliases);
the legacy MachineService.Upgrade path (`--legacy`, or nodes up to 1.13.0-alpha.2), where the
installer pulls the image itself; and talosctl's version check.
"""

import re
from dataclasses import dataclass

DEFAULT_DOMAIN = "docker.io"  # normalize.go defaultDomain
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}")


@dataclass(frozen=True)
class Named:
    """A parsed reference: the repository name (domain/path), an optional tag and digest."""

    name: str
    tag: str = ""
    digest: str = ""

    def __str__(self):
        return self.name + (":" + self.tag if self.tag else "") + ("@" + self.digest if self.digest else "")


def split_docker_domain(name):
    """splitDockerDomain: which part of a repository name is the registry."""
    domain, sep, remote = name.partition("/")
    if not sep:
        return DEFAULT_DOMAIN, OFFICIAL_REPO_PREFIX + name
    if domain == "localhost":
        pass
    elif domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    elif "." in domain or ":" in domain:
        pass
    elif domain.lower() != domain:
        pass
    else:
        domain, remote = DEFAULT_DOMAIN, name
    if domain == DEFAULT_DOMAIN and "/" not in remote:
        remote = OFFICIAL_REPO_PREFIX + remote
    return domain, remote


def parse_normalized_named(ref):
    """ParseNormalizedNamed: split off the digest and the tag, then canonicalise the name."""
    rest, at, digest = ref.partition("@")
    if at and not DIGEST.fullmatch(digest):
        raise ValueError(f"invalid digest in {ref!r}")
    name, tag = rest, ""
    slash, colon = rest.rfind("/"), rest.rfind(":")
    if colon > slash:  # a ':' before the last '/' is the registry's port
        name, tag = rest[:colon], rest[colon + 1:]
    domain, remote = split_docker_domain(name)
    return Named(domain + "/" + remote, tag, digest if at else "")


def parse_docker_ref(ref):
    """ParseDockerRef: tagged and digested keeps only the digest; neither gets :latest."""
    named = parse_normalized_named(ref)
    if named.tag and named.digest:
        return Named(named.name, "", named.digest)
    if not named.tag and not named.digest:
        return Named(named.name, "latest", "")
    return named


def names_after_pull(ref, image_digest):
    """The names the node's containerd holds for the image after ImageService.Pull(ref):
    the name client.Pull registers (the normalised reference), then manageAliases'."""
    named = parse_docker_ref(ref)
    names = [str(named), image_digest]
    if named.tag:
        names.append(str(named))
    names.append(str(named) if named.digest else named.name + "@" + image_digest)
    return list(dict.fromkeys(names))


def upgrade_finds_installer(ref, image_digest):
    """True when LifecycleService.Upgrade(ref) finds what ImageService.Pull(ref) stored."""
    return ref in names_after_pull(ref, image_digest)
