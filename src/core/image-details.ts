// What the UI shows of an image beyond Harbor's Artifact model: its layers with their sizes
// (from the manifest, no blob read) and its configuration (entrypoint, command, environment,
// labels, created, platform: read from the config blob, at most CONFIG_LIMIT bytes, since a
// pushed config is the pusher's and may be anything). An index has neither: its children do.
import type { Readable } from 'node:stream';
import type { Digest } from '../oci/names.js';
import { isDigest } from '../oci/names.js';
import { invalid, notFound } from '../util/domain-error.js';
import type { Repositories } from './repositories.js';

/** Configs are a few KiB; a larger one is refused rather than read into memory. */
export const CONFIG_LIMIT = 1024 * 1024;

export interface Layer {
  digest: string;
  size: number;
  media_type: string;
}

export interface ImageConfig {
  architecture?: string;
  os?: string;
  variant?: string;
  created?: string;
  author?: string;
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  labels?: Record<string, string>;
  working_dir?: string;
  user?: string;
  exposed_ports?: string[];
  /** The build steps (Harbor's build_history addition). */
  history?: Array<{ created?: string; created_by?: string; empty_layer?: boolean; comment?: string }>;
}

export interface ImageDetailsDeps {
  repositories: Pick<Repositories, 'artifact'>;
  /** The bytes of a blob of the repository (throws when it is not there). */
  openBlob(repository: string, digest: Digest): Promise<Readable>;
}

interface Descriptor {
  digest?: unknown;
  size?: unknown;
  mediaType?: unknown;
}

const strings = (v: unknown): string[] | undefined => (Array.isArray(v) && v.every((s) => typeof s === 'string') ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export class ImageDetails {
  constructor(private readonly deps: ImageDetailsDeps) {}

  private async manifest(repository: string, reference: string): Promise<{ layers?: unknown; config?: Descriptor; manifests?: unknown }> {
    const artifact = await this.deps.repositories.artifact(repository, reference);
    const body = JSON.parse(artifact.content.toString('utf8')) as { layers?: unknown; config?: Descriptor; manifests?: unknown };
    if (Array.isArray(body.manifests)) throw notFound(`${reference} is an index: its layers and configuration are those of its children (the platforms); ask for one of them by digest`);
    return body;
  }

  /** The layers of an image manifest (or a Docker v2 one), in order. */
  async layers(repository: string, reference: string): Promise<Layer[]> {
    const { layers } = await this.manifest(repository, reference);
    if (!Array.isArray(layers)) return [];
    return (layers as Descriptor[]).map((l) => ({
      digest: String(l.digest ?? ''),
      size: typeof l.size === 'number' ? l.size : 0,
      media_type: String(l.mediaType ?? ''),
    }));
  }

  /** The image configuration, or undefined for an artifact whose config is not an image's (a signature, an SBOM). */
  async config(repository: string, reference: string): Promise<ImageConfig | undefined> {
    const { config } = await this.manifest(repository, reference);
    const digest = str(config?.digest);
    if (!digest || !isDigest(digest)) return undefined;
    const media = str(config?.mediaType) ?? '';
    if (!/^application\/vnd\.(oci\.image\.config\.v1|docker\.container\.image\.v1)\+json$/.test(media)) return undefined;
    if (typeof config?.size === 'number' && config.size > CONFIG_LIMIT) throw invalid(`the image config is ${config.size} bytes, more than the ${CONFIG_LIMIT} shown here; pull it with skopeo inspect --config`);
    const raw = await this.read(repository, digest);
    let c: Record<string, unknown>;
    try {
      c = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      throw invalid(`the image config ${digest} is not JSON`);
    }
    const run = (c.config ?? {}) as Record<string, unknown>;
    const labels = run.Labels && typeof run.Labels === 'object' ? Object.fromEntries(Object.entries(run.Labels as object).filter(([, v]) => typeof v === 'string')) : undefined;
    const history = Array.isArray(c.history)
      ? (c.history as Array<Record<string, unknown>>).slice(0, 1000).map((h) => ({
          created: str(h.created),
          created_by: str(h.created_by),
          empty_layer: h.empty_layer === true ? true : undefined,
          comment: str(h.comment),
        }))
      : undefined;
    return {
      architecture: str(c.architecture),
      os: str(c.os),
      variant: str(c.variant),
      created: str(c.created),
      author: str(c.author),
      entrypoint: strings(run.Entrypoint),
      cmd: strings(run.Cmd),
      env: strings(run.Env),
      labels,
      working_dir: str(run.WorkingDir),
      user: str(run.User),
      exposed_ports: run.ExposedPorts && typeof run.ExposedPorts === 'object' ? Object.keys(run.ExposedPorts) : undefined,
      history,
    };
  }

  /** At most CONFIG_LIMIT bytes of a blob. */
  private async read(repository: string, digest: Digest): Promise<Buffer> {
    const stream = await this.deps.openBlob(repository, digest);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > CONFIG_LIMIT) {
        stream.destroy();
        throw invalid(`the image config is more than the ${CONFIG_LIMIT} bytes shown here; pull it with skopeo inspect --config`);
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }
}
