"""The Pod Security Standards, levels baseline and restricted (version
latest), evaluated on a pod spec the way Pod Security admission does.

Each rule names its control in the standard (kubernetes.io/docs/concepts/
security/pod-security-standards, sections "Baseline" and "Restricted"; the
text lives in kubernetes/website content/en/docs/concepts/security/
pod-security-standards.md) and follows the reference implementation of that
control, kubernetes/pod-security-admission policy/check_<name>.go (snapshot
8f84a87), for what each field may hold, including the pod-level/
container-level fallbacks.
"""

BASELINE_CAPABILITIES = {  # check_capabilities_baseline.go capabilities_allowed_1_0
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
SAFE_SYSCTLS = {  # check_sysctls.go (latest)
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem",
    "net.ipv4.tcp_slow_start_after_idle"}
RESTRICTED_VOLUMES = {  # check_restrictedVolumes.go
    "configMap", "downwardAPI", "emptyDir", "projected", "secret", "csi", "persistentVolumeClaim",
    "ephemeral", "image"}
SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}


def _containers(pod):
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for c in pod.get(key) or []:
            yield c


def baseline(pod, annotations=None):
    """Violations of the baseline level, each 'Control: detail'."""
    out = []
    psc = pod.get("securityContext") or {}
    # HostProcess (check_windowsHostProcess.go)
    if (psc.get("windowsOptions") or {}).get("hostProcess") or any(
            ((c.get("securityContext") or {}).get("windowsOptions") or {}).get("hostProcess") for c in _containers(pod)):
        out.append("HostProcess: windowsOptions.hostProcess is set")
    # Host Namespaces (check_hostNamespaces.go)
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(key):
            out.append(f"Host Namespaces: {key}=true")
    # HostPath Volumes (check_hostPathVolumes.go)
    for v in pod.get("volumes") or []:
        if "hostPath" in v:
            out.append(f"HostPath Volumes: volume {v['name']}")
    # Sysctls (check_sysctls.go)
    for s in psc.get("sysctls") or []:
        if s.get("name") not in SAFE_SYSCTLS:
            out.append(f"Sysctls: {s.get('name')}")
    # AppArmor (check_appArmorProfile.go): pod level too
    for where, sc in [("pod", psc)] + [(c["name"], c.get("securityContext") or {}) for c in _containers(pod)]:
        t = (sc.get("appArmorProfile") or {}).get("type")
        if t not in (None, "RuntimeDefault", "Localhost"):
            out.append(f"AppArmor: {where} appArmorProfile {t}")
        se = sc.get("seLinuxOptions") or {}
        if se.get("type", "") not in SELINUX_TYPES or se.get("user") or se.get("role"):
            out.append(f"SELinux: {where} seLinuxOptions {se}")  # check_seLinuxOptions.go
        if (sc.get("seccompProfile") or {}).get("type") == "Unconfined":
            out.append(f"Seccomp: {where} Unconfined")  # check_seccompProfile_baseline.go
    for key, value in (annotations or {}).items():
        if key.startswith("container.apparmor.security.beta.kubernetes.io/") and \
                value not in ("runtime/default", "") and not value.startswith("localhost/"):
            out.append(f"AppArmor: annotation {key}={value}")
    for c in _containers(pod):
        sc = c.get("securityContext") or {}
        name = c["name"]
        if sc.get("privileged"):  # check_privileged.go
            out.append(f"Privileged Containers: {name}")
        added = set((sc.get("capabilities") or {}).get("add") or [])
        if added - BASELINE_CAPABILITIES:  # check_capabilities_baseline.go
            out.append(f"Capabilities: {name} adds {sorted(added - BASELINE_CAPABILITIES)}")
        for p in c.get("ports") or []:  # check_hostPorts.go
            if p.get("hostPort"):
                out.append(f"Host Ports: {name} hostPort {p['hostPort']}")
        if sc.get("procMount") not in (None, "Default"):  # check_procMount_baseline.go
            out.append(f"/proc Mount Type: {name} {sc['procMount']}")
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):  # check_hostProbesAndhostLifecycle.go
            for handler in ("httpGet", "tcpSocket"):
                if ((c.get(probe) or {}).get(handler) or {}).get("host"):
                    out.append(f"Probes and lifecycle handlers: {name} {probe}.{handler}.host")
        for hook in ("postStart", "preStop"):
            for handler in ("httpGet", "tcpSocket"):
                if (((c.get("lifecycle") or {}).get(hook) or {}).get(handler) or {}).get("host"):
                    out.append(f"Probes and lifecycle handlers: {name} lifecycle.{hook}.{handler}.host")
    return out


def restricted(pod, annotations=None):
    """Violations of the restricted level (which includes baseline)."""
    out = baseline(pod, annotations)
    psc = pod.get("securityContext") or {}
    user_namespace = pod.get("hostUsers") is False
    # Volume Types (check_restrictedVolumes.go)
    for v in pod.get("volumes") or []:
        kinds = set(v) - {"name"}
        if not kinds <= RESTRICTED_VOLUMES:
            out.append(f"Volume Types: volume {v['name']} is {sorted(kinds - RESTRICTED_VOLUMES)}")
    pod_seccomp = (psc.get("seccompProfile") or {}).get("type")
    for c in _containers(pod):
        sc = c.get("securityContext") or {}
        name = c["name"]
        # Privilege Escalation (check_allowPrivilegeEscalation.go): must be false
        if sc.get("allowPrivilegeEscalation") is not False:
            out.append(f"Privilege Escalation: {name} allowPrivilegeEscalation is not false")
        # Running as Non-root (check_runAsNonRoot.go): container value, else the pod's
        non_root = sc.get("runAsNonRoot", psc.get("runAsNonRoot"))
        if non_root is not True and not user_namespace:
            out.append(f"Running as Non-root: {name} runAsNonRoot is not true")
        # Running as Non-root user (check_runAsUser.go): 0 is refused at either level
        if sc.get("runAsUser", psc.get("runAsUser")) == 0 and not user_namespace:
            out.append(f"Running as Non-root user: {name} runAsUser 0")
        # Seccomp (check_seccompProfile_restricted.go): container value, else the pod's
        t = (sc.get("seccompProfile") or {}).get("type", pod_seccomp)
        if t not in ("RuntimeDefault", "Localhost"):
            out.append(f"Seccomp: {name} seccompProfile is {t or 'unset'}")
        # Capabilities (check_capabilities_restricted.go): drop ALL, add at most NET_BIND_SERVICE
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            out.append(f"Capabilities: {name} does not drop ALL")
        if set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
            out.append(f"Capabilities: {name} adds {sorted(set(caps['add']) - {'NET_BIND_SERVICE'})}")
        # /proc Mount Type, restricted (check_procMount_restricted.go)
        if sc.get("procMount") not in (None, "Default"):
            out.append(f"/proc Mount Type: {name} {sc['procMount']}")
    if psc.get("runAsUser") == 0 and not user_namespace:
        out.append("Running as Non-root user: pod runAsUser 0")
    return out
