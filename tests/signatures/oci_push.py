"""Writing to the test registry over the distribution API (monolithic blob upload, manifest PUT),
shared by the signature tests that build signatures by hand."""

import hashlib
import urllib.request

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def put_blob(base, repository, data):
    """Uploads `data` to http://HOST/v2/REPO; returns its {digest, size} for a descriptor."""
    req = urllib.request.Request(f"{base}/v2/{repository}/blobs/uploads/", method="POST")
    with urllib.request.urlopen(req) as r:
        location = r.headers["Location"]
    if location.startswith("/"):
        location = base + location
    sep = "&" if "?" in location else "?"
    req = urllib.request.Request(f"{location}{sep}digest={sha256(data)}", data=data, method="PUT",
                                 headers={"Content-Type": "application/octet-stream"})
    urllib.request.urlopen(req).close()
    return {"digest": sha256(data), "size": len(data)}


def put_manifest(base, repository, reference, body, media_type=OCI_MANIFEST):
    req = urllib.request.Request(f"{base}/v2/{repository}/manifests/{reference}", data=body, method="PUT",
                                 headers={"Content-Type": media_type})
    urllib.request.urlopen(req).close()
