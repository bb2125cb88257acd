// Credentials in the forms clients and Kubernetes take them: a docker config.json
// (`{"auths": {...}}`, which docker, podman, skopeo, crane and containerd's CRI read) and a
// Kubernetes Secret of type kubernetes.io/dockerconfigjson (an imagePullSecret), for a robot
// account or any other credential.

export interface DockerConfig {
  auths: Record<string, { username: string; password: string; auth: string }>;
}

/** `registry` is the host (and port) clients use in image references, e.g. "registry.example.com" or "127.0.0.1:5000". */
export function dockerConfig(registry: string, username: string, password: string): DockerConfig {
  return { auths: { [registry]: { username, password, auth: Buffer.from(`${username}:${password}`).toString('base64') } } };
}

/** Kubernetes' Secret names: a DNS-1123 subdomain. */
const SECRET_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A Secret manifest (as JSON, which kubectl applies as it does YAML). */
export function imagePullSecret(name: string, registry: string, username: string, password: string, namespace?: string): Record<string, unknown> {
  if (!SECRET_NAME.test(name) || name.length > 253) throw new Error(`"${name}" is not a valid Kubernetes Secret name (lowercase letters, digits, "-" and ".")`);
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, ...(namespace ? { namespace } : {}) },
    type: 'kubernetes.io/dockerconfigjson',
    data: { '.dockerconfigjson': Buffer.from(JSON.stringify(dockerConfig(registry, username, password))).toString('base64') },
  };
}

/** A valid Secret name made from a robot's login name ("robot$library+ci" -> "robot-library-ci"). */
export function secretNameFor(login: string): string {
  return login.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '').slice(0, 253) || 'registry-credentials';
}
