// The private CA in the exact form each client wants. Pure functions: CA PEM + registry host:port
// in, files (absolute target paths) and the commands to run after writing them out. The CLI
// (`minato trust`) writes them under --out or prints them as a shell script; the registry serves
// them at /ca/trust/<format> and /ca/install.sh.

export const TRUST_FORMATS = {
  docker: 'Docker: /etc/docker/certs.d/<host:port>/ca.crt (no restart needed)',
  containerd: 'containerd (and CRI of Kubernetes nodes): /etc/containerd/certs.d/<host:port>/hosts.toml + ca.crt',
  podman: 'podman, skopeo, buildah, CRI-O: /etc/containers/certs.d/<host:port>/ca.crt',
  debian: 'Debian/Ubuntu system store: /usr/local/share/ca-certificates/ + update-ca-certificates',
  rhel: 'RHEL/Fedora/CentOS system store: /etc/pki/ca-trust/source/anchors/ + update-ca-trust',
  k3s: 'k3s/RKE2: /etc/rancher/k3s/registries.yaml (configs.<host:port>.tls.ca_file)',
  'k8s-daemonset': 'Kubernetes DaemonSet that installs the CA on every node, present and future (containerd, docker, CRI-O)',
  'k8s-pull-secret': 'Kubernetes imagePullSecret (kubernetes.io/dockerconfigjson); needs --user and --password-stdin',
  pem: 'PEM file (browsers, curl --cacert, NODE_EXTRA_CA_CERTS)',
  p12: 'PKCS#12 file holding only the CA certificate (browsers, macOS keychain, Windows)',
} as const;

export type TrustFormat = keyof typeof TRUST_FORMATS;

export function isTrustFormat(s: string): s is TrustFormat {
  return Object.hasOwn(TRUST_FORMATS, s);
}

export interface TrustFile {
  /** Absolute path on the client ("/etc/docker/..."), or relative for downloads ("minato-ca.pem"). */
  path: string;
  content: string | Buffer;
}

export interface TrustExport {
  format: TrustFormat;
  files: TrustFile[];
  /** Shell commands to run (as root) after the files are in place. */
  commands: string[];
  notes: string[];
  /** When set, this file is the whole answer and is printed as is (a manifest to `kubectl apply -f -`). */
  document?: TrustFile;
}

export interface TrustInput {
  caPem: string;
  /** The registry as clients name it: "registry.lan:5443", "127.0.0.1:5000", "[::1]:5000". */
  host: string;
  /** For k8s-pull-secret. */
  user?: string;
  password?: string;
  /** Kubernetes namespace (default kube-system for the DaemonSet, default for the secret). */
  namespace?: string;
  /** The DaemonSet's image with a POSIX shell (default busybox:1.36). */
  image?: string;
  /** For p12: the encoded PKCS#12 (see pkcs12.ts; encoding needs openssl). */
  pkcs12?: Buffer;
}

export class TrustExportError extends Error {}

const HOST_RE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:\d{1,5})?$/;

/** Refuses anything that is not a plain host[:port]: it ends up in paths and shell scripts. */
export function checkHost(host: string): string {
  if (!HOST_RE.test(host)) throw new TrustExportError(`"${host}" is not a registry host[:port] (e.g. registry.lan:5443)`);
  return host;
}

/** The certs.d directory name clients look up: host:port, or the bare host for port 443. */
export function certsDirName(host: string): string {
  return checkHost(host).replace(/:443$/, '');
}

/** A file-name-safe form of the host ("registry.lan-5443"). */
export function safeName(host: string): string {
  return checkHost(host).replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-|-$/g, '');
}

export function exportTrust(format: TrustFormat, input: TrustInput): TrustExport {
  const host = checkHost(input.host);
  const dir = certsDirName(host);
  const ca = input.caPem.trim() + '\n';
  const name = safeName(host);
  switch (format) {
    case 'docker':
      return { format, files: [{ path: `/etc/docker/certs.d/${dir}/ca.crt`, content: ca }], commands: [], notes: ['Docker reads certs.d at every pull/push; no restart needed.'] };
    case 'containerd':
      return {
        format,
        files: [
          { path: `/etc/containerd/certs.d/${dir}/ca.crt`, content: ca },
          { path: `/etc/containerd/certs.d/${dir}/hosts.toml`, content: hostsToml(host, dir) },
        ],
        commands: [],
        notes: [
          'containerd reads certs.d only when its CRI registry config_path is /etc/containerd/certs.d',
          '(config.toml: [plugins."io.containerd.grpc.v1.cri".registry] config_path = "/etc/containerd/certs.d"; restart containerd after setting it).',
        ],
      };
    case 'podman':
      return { format, files: [{ path: `/etc/containers/certs.d/${dir}/ca.crt`, content: ca }], commands: [], notes: ['Used by podman, skopeo, buildah and CRI-O; per user also ~/.config/containers/certs.d/.'] };
    case 'debian':
      return { format, files: [{ path: `/usr/local/share/ca-certificates/minato-${name}.crt`, content: ca }], commands: ['update-ca-certificates'], notes: ['Restart long-running programs (dockerd, containerd) so that they re-read the system store.'] };
    case 'rhel':
      return { format, files: [{ path: `/etc/pki/ca-trust/source/anchors/minato-${name}.crt`, content: ca }], commands: ['update-ca-trust extract'], notes: ['Restart long-running programs (dockerd, containerd) so that they re-read the system store.'] };
    case 'k3s': {
      const caFile = `/etc/rancher/k3s/minato-${name}-ca.crt`;
      return {
        format,
        files: [
          { path: caFile, content: ca },
          { path: '/etc/rancher/k3s/registries.yaml', content: `configs:\n  ${JSON.stringify(host)}:\n    tls:\n      ca_file: ${JSON.stringify(caFile)}\n` },
        ],
        commands: ['systemctl restart k3s 2>/dev/null || systemctl restart k3s-agent'],
        notes: ['registries.yaml is replaced: merge by hand if it already configures other registries. RKE2 uses /etc/rancher/rke2/registries.yaml.'],
      };
    }
    case 'k8s-daemonset': {
      const doc = { path: `minato-ca-${name}-daemonset.yaml`, content: daemonSet(ca, host, dir, name, input.namespace ?? 'kube-system', input.image ?? 'busybox:1.36') };
      return { format, files: [doc], commands: [`kubectl apply -f ${doc.path}`], notes: ['Runs on every node, also on nodes added later; containerd needs config_path = "/etc/containerd/certs.d" (the default in k3s and recent kubeadm images).'], document: doc };
    }
    case 'k8s-pull-secret': {
      if (!input.user || input.password === undefined) throw new TrustExportError('k8s-pull-secret needs --user and the password on standard input (--password-stdin)');
      const doc = { path: `minato-pull-secret-${name}.yaml`, content: pullSecret(host, input.user, input.password, input.namespace ?? 'default') };
      const ns = input.namespace ?? 'default';
      return {
        format,
        files: [doc],
        commands: [`kubectl apply -f ${doc.path}`, `kubectl -n ${ns} patch serviceaccount default -p '{"imagePullSecrets":[{"name":"minato-pull"}]}'`],
        notes: ['The secret holds the password (base64 is no encryption): keep the file private. Nodes must trust the CA as well (k8s-daemonset).'],
        document: doc,
      };
    }
    case 'pem':
      return { format, files: [{ path: `minato-ca-${name}.pem`, content: ca }], commands: [], notes: ['Import it as a trusted authority (browsers: Settings > Certificates > Authorities).'], document: { path: `minato-ca-${name}.pem`, content: ca } };
    case 'p12': {
      if (!input.pkcs12) throw new TrustExportError('p12 needs the encoded PKCS#12 (pkcs12.ts)');
      const doc = { path: `minato-ca-${name}.p12`, content: input.pkcs12 };
      return { format, files: [doc], commands: [], notes: ['Holds only the CA certificate (no key); the import password is empty.'], document: doc };
    }
  }
}

function hostsToml(host: string, dir: string): string {
  return `# minato: trust the registry's private CA (containerd certs.d, hosts.toml format)\nserver = "https://${host}"\n\n[host."https://${host}"]\n  capabilities = ["pull", "resolve", "push"]\n  ca = "/etc/containerd/certs.d/${dir}/ca.crt"\n`;
}

function indent(text: string, spaces: number): string {
  const pad = ' '.repeat(spaces);
  return text.trimEnd().split('\n').map((l) => pad + l).join('\n');
}

function daemonSet(ca: string, host: string, dir: string, name: string, namespace: string, image: string): string {
  const app = `minato-ca-${name}`.slice(0, 63).replace(/[^a-z0-9-]/gi, '-').toLowerCase().replace(/-+$/, '');
  // The script runs on each node through hostPath mounts of the certs.d roots; it only writes
  // files for this registry and then sleeps, so the pod stays (and re-runs on new nodes).
  const script = [
    'set -eu',
    `for root in /host/containerd /host/docker /host/containers; do mkdir -p "$root/${dir}" && cp /ca/ca.crt "$root/${dir}/ca.crt"; done`,
    `cp /ca/hosts.toml "/host/containerd/${dir}/hosts.toml"`,
    `echo "installed the CA of ${host} on this node"`,
    'while true; do sleep 3600; done',
  ].join('\n');
  return `# minato: installs the registry's private CA on every node (present and future), for
# containerd (/etc/containerd/certs.d), docker (/etc/docker/certs.d) and CRI-O (/etc/containers/certs.d).
apiVersion: v1
kind: ConfigMap
metadata:
  name: ${app}
  namespace: ${namespace}
data:
  ca.crt: |
${indent(ca, 4)}
  hosts.toml: |
${indent(hostsToml(host, dir), 4)}
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: ${app}
  namespace: ${namespace}
  labels: {app: ${app}}
spec:
  selector:
    matchLabels: {app: ${app}}
  updateStrategy: {type: RollingUpdate}
  template:
    metadata:
      labels: {app: ${app}}
    spec:
      tolerations:
        - operator: Exists
      priorityClassName: system-node-critical
      terminationGracePeriodSeconds: 1
      containers:
        - name: install-ca
          image: ${image}
          command: ["/bin/sh", "-c"]
          args:
            - |
${indent(script, 14)}
          resources:
            requests: {cpu: 1m, memory: 8Mi}
            limits: {memory: 32Mi}
          volumeMounts:
            - {name: ca, mountPath: /ca, readOnly: true}
            - {name: containerd, mountPath: /host/containerd}
            - {name: docker, mountPath: /host/docker}
            - {name: containers, mountPath: /host/containers}
      volumes:
        - name: ca
          configMap: {name: ${app}}
        - name: containerd
          hostPath: {path: /etc/containerd/certs.d, type: DirectoryOrCreate}
        - name: docker
          hostPath: {path: /etc/docker/certs.d, type: DirectoryOrCreate}
        - name: containers
          hostPath: {path: /etc/containers/certs.d, type: DirectoryOrCreate}
`;
}

function pullSecret(host: string, user: string, password: string, namespace: string): string {
  const auth = Buffer.from(`${user}:${password}`).toString('base64');
  const config = JSON.stringify({ auths: { [host]: { username: user, password, auth } } });
  return `apiVersion: v1
kind: Secret
metadata:
  name: minato-pull
  namespace: ${namespace}
type: kubernetes.io/dockerconfigjson
data:
  .dockerconfigjson: ${Buffer.from(config).toString('base64')}
`;
}

/** The export as a POSIX shell script that writes the files and runs the commands. */
export function toShellScript(exp: TrustExport): string {
  const lines = ['#!/bin/sh', `# minato trust --format ${exp.format}: ${TRUST_FORMATS[exp.format]}`, ...exp.notes.map((n) => `# ${n}`), 'set -eu'];
  for (const f of exp.files) {
    if (Buffer.isBuffer(f.content)) {
      lines.push(`base64 -d > ${shq(f.path)} <<'MINATO_EOF'`, f.content.toString('base64').match(/.{1,76}/g)!.join('\n'), 'MINATO_EOF');
      continue;
    }
    const slash = f.path.lastIndexOf('/');
    if (slash > 0) lines.push(`mkdir -p ${shq(f.path.slice(0, slash))}`);
    lines.push(`cat > ${shq(f.path)} <<'MINATO_EOF'`, f.content.trimEnd(), 'MINATO_EOF');
  }
  lines.push(...exp.commands);
  return lines.join('\n') + '\n';
}

/** Single-quotes a word for sh. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * GET /ca/install.sh: one POSIX script for a machine that pulls from this registry. It installs
 * the CA for every client it finds (docker, containerd, podman/skopeo/CRI-O) and into the system
 * store. `PREFIX=/some/dir sh install.sh` writes under that directory instead of / and runs no
 * update commands (for a look first, and for tests); `MINATO_SYSTEM_STORE=0` skips the system store.
 */
export function installScript(caPem: string, host: string): string {
  const dir = certsDirName(host);
  const name = safeName(host);
  const ca = caPem.trim();
  return `#!/bin/sh
# Installs the private CA of the minato registry ${host} for the container clients on this machine.
#   curl -fsSL --cacert ca.crt https://${host}/ca/install.sh | sudo sh      (or: curl -k ... after checking the fingerprint)
# PREFIX=DIR installs under DIR instead of /; MINATO_SYSTEM_STORE=0 leaves the system store alone.
set -eu
PREFIX="\${PREFIX:-}"
REGISTRY=${shq(host)}
DIR=${shq(dir)}
installed=""

write_ca() {
  mkdir -p "$1"
  cat > "$1/ca.crt" <<'MINATO_EOF'
${ca}
MINATO_EOF
  chmod 644 "$1/ca.crt"
  installed="$installed $1/ca.crt"
}

have() { command -v "$1" >/dev/null 2>&1; }

if [ -z "$PREFIX" ] && [ "$(id -u)" != 0 ]; then
  echo "run this as root (e.g. | sudo sh), or with PREFIX=DIR to write under DIR" >&2
  exit 1
fi

if have dockerd || have docker || [ -d /etc/docker ]; then
  write_ca "$PREFIX/etc/docker/certs.d/$DIR"
fi
if have containerd || [ -d /etc/containerd ]; then
  write_ca "$PREFIX/etc/containerd/certs.d/$DIR"
  if [ ! -e "$PREFIX/etc/containerd/certs.d/$DIR/hosts.toml" ]; then
    cat > "$PREFIX/etc/containerd/certs.d/$DIR/hosts.toml" <<MINATO_EOF
server = "https://$REGISTRY"

[host."https://$REGISTRY"]
  capabilities = ["pull", "resolve", "push"]
  ca = "/etc/containerd/certs.d/$DIR/ca.crt"
MINATO_EOF
  fi
  echo "containerd: make sure config_path = \\"/etc/containerd/certs.d\\" is set for its CRI registry" >&2
fi
if have podman || have skopeo || have buildah || have crio || [ -d /etc/containers ]; then
  write_ca "$PREFIX/etc/containers/certs.d/$DIR"
fi
if [ "\${MINATO_SYSTEM_STORE:-1}" != 0 ]; then
  if have update-ca-certificates; then
    mkdir -p "$PREFIX/usr/local/share/ca-certificates"
    cat > "$PREFIX/usr/local/share/ca-certificates/minato-${name}.crt" <<'MINATO_EOF'
${ca}
MINATO_EOF
    installed="$installed $PREFIX/usr/local/share/ca-certificates/minato-${name}.crt"
    if [ -z "$PREFIX" ]; then update-ca-certificates >/dev/null; fi
  elif have update-ca-trust; then
    mkdir -p "$PREFIX/etc/pki/ca-trust/source/anchors"
    cat > "$PREFIX/etc/pki/ca-trust/source/anchors/minato-${name}.crt" <<'MINATO_EOF'
${ca}
MINATO_EOF
    installed="$installed $PREFIX/etc/pki/ca-trust/source/anchors/minato-${name}.crt"
    if [ -z "$PREFIX" ]; then update-ca-trust extract; fi
  fi
fi

if [ -z "$installed" ]; then
  echo "found no container client (docker, containerd, podman, skopeo) and no system store to install into" >&2
  exit 1
fi
for f in $installed; do echo "installed $f"; done
echo "$REGISTRY is trusted; docker and podman pick it up at once, restart containerd/dockerd for the system store"
`;
}
