// A repository's artifacts, a page at a time from the API, each with its first tags only (never
// all 10,000 tags of an artifact at once: more are loaded a page at a time on request):
// tags, digest, size, type, push and pull times; opened, an artifact shows its platforms and
// children (an index), its layers and image config (an image), its signatures and whether they
// satisfy the project's policy, what is attached to it (signatures, SBOMs), and the pull commands.
// Its vulnerabilities show in the list. Tags and artifacts are deleted after a confirmation that
// names them.
import { useEffect, useState } from 'react';
import { get, list, repoPath, send, type Accessory, type Artifact, type ArtifactSignatures, type Platform, type ScanSummary, type Tag } from '../api';
import { ConfirmButton, Copy, CopyLine, ErrorMessage, Link, Loading, Pager, SearchBox, Table, Time, useLoad } from '../components';
import { bytes, shortDigest } from '../format';
import { pathOf } from '../router';
import { registryHost, useSession } from '../session';

const PAGE_SIZE = 10;
/** Tags drawn per artifact before "and N more tags". */
const TAG_PREVIEW = 12;
/** Tags loaded per click on "and N more tags". */
const TAG_PAGE = 100;

export function RepositoryPage({ project, repository }: { project: string; repository: string }) {
  const [page, setPage] = useState(1);
  const [tagFilter, setTagFilter] = useState('');
  const base = `${repoPath(project, repository)}/artifacts`;
  useEffect(() => void (document.title = `${project}/${repository} · minato`), [project, repository]);
  const artifacts = useLoad(
    () => list<Artifact>(base, { page, page_size: PAGE_SIZE, with_tag: true, tags_limit: TAG_PREVIEW, with_scan_overview: true, q: tagFilter ? `tags=~${tagFilter}` : undefined }),
    [base, page, tagFilter],
  );
  return (
    <>
      <p className="crumbs">
        <Link to="/projects">Projects</Link> / <Link to={pathOf('projects', project)}>{project}</Link> /
      </p>
      <h1>
        {project}/{repository}
      </h1>
      <SearchBox label="Filter by tag" value={tagFilter} onChange={(v) => (setTagFilter(v), setPage(1))} />
      <ErrorMessage error={artifacts.error} />
      {artifacts.loading && !artifacts.data && <Loading what="artifacts" />}
      {artifacts.data && artifacts.data.items.length === 0 && <p>{tagFilter ? 'No tag matches.' : 'No artifacts in this repository.'}</p>}
      <ul className="artifacts">
        {artifacts.data?.items.map((a) => (
          <ArtifactItem key={a.digest} artifact={a} project={project} repository={repository} onChange={artifacts.reload} />
        ))}
      </ul>
      {artifacts.data && <Pager page={page} size={PAGE_SIZE} total={artifacts.data.total} onPage={setPage} what="artifacts" />}
    </>
  );
}

/** One term of a one-line list of facts: the term and its value stay together when the line wraps. */
function Fact({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="fact">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

function typeOf(a: Artifact): string {
  if (a.references?.length) return 'index (multi-platform)';
  // An image's artifact type is its config's media type: say "image" in words.
  if (a.artifact_type && /^application\/vnd\.(oci\.image\.config\.v1|docker\.container\.image\.v1)\+json$/.test(a.artifact_type)) return 'image';
  if (a.artifact_type) return a.artifact_type;
  return a.type === 'IMAGE' ? 'image' : a.type.toLowerCase();
}

/** A scan's outcome in words: the counts by severity, highest first, or where the scan is. */
function vulnerabilityText(s: ScanSummary | undefined): string {
  if (!s) return 'not scanned';
  if (s.scan_status === 'Pending' || s.scan_status === 'Running') return `scanning (${s.complete_percent} %)`;
  if (s.scan_status !== 'Success') return `scan ${s.scan_status.toLowerCase()}`;
  const total = s.summary?.total ?? 0;
  if (total === 0) return 'none found';
  const counts = ['Critical', 'High', 'Medium', 'Low', 'Negligible', 'Unknown']
    .filter((k) => s.summary!.summary[k])
    .map((k) => `${s.summary!.summary[k]} ${k}`)
    .join(', ');
  return `${counts} (${s.summary!.fixable} fixable)`;
}

function platformText(p: Platform | undefined): string {
  if (!p) return 'unknown platform';
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

function ArtifactItem({ artifact: a, project, repository, onChange }: { artifact: Artifact; project: string; repository: string; onChange(): void }) {
  const [open, setOpen] = useState(false);
  const base = `${repoPath(project, repository)}/artifacts`;
  // An artifact may carry thousands of tags: the list brings the first few, the rest come a page at
  // a time on request (or by the filter).
  const [loaded, setLoaded] = useState<Tag[]>();
  const [moreError, setMoreError] = useState<unknown>();
  const shown = loaded ?? a.tags ?? [];
  const tagCount = a.tag_count ?? shown.length;
  const loadMore = () => {
    const next = loaded ? Math.floor(loaded.length / TAG_PAGE) + 1 : 1;
    list<Tag>(`${base}/${a.digest}/tags`, { page: next, page_size: TAG_PAGE }).then((page) => setLoaded([...(loaded ?? []), ...page.items]), setMoreError);
  };
  const detailsId = `details-${a.digest.slice(7, 19)}`;
  return (
    <li className="card artifact">
      <div className="artifact-head">
        <div className="tags" aria-label="Tags">
          {tagCount === 0 && <span className="muted">untagged</span>}
          {shown.map((t) => (
            <span key={t.name} className="tag">
              <span className="tag-name">{t.name}</span>
              <ConfirmButton
                label="×"
                className="tag-delete"
                more={`Delete tag ${t.name}`}
                title={`Delete the tag ${t.name}?`}
                confirm={`Delete tag ${t.name}`}
                onConfirm={async () => {
                  await send('DELETE', `${base}/${a.digest}/tags/${encodeURIComponent(t.name)}`);
                  onChange();
                }}
              >
                <p>
                  <code>
                    {project}/{repository}:{t.name}
                  </code>{' '}
                  stops existing. The artifact {shortDigest(a.digest)} stays{tagCount > 1 ? ', with its other tags' : ' (untagged)'}.
                </p>
              </ConfirmButton>
            </span>
          ))}
          {shown.length < tagCount && (
            <button type="button" className="small" onClick={loadMore}>
              and {tagCount - shown.length} more tags
            </button>
          )}
          <ErrorMessage error={moreError} />
        </div>
        <div className="digest">
          <code title={a.digest}>{shortDigest(a.digest)}</code> <Copy text={a.digest} label={`Copy the digest ${shortDigest(a.digest)}`} />
        </div>
      </div>
      <dl className="facts inline">
        <Fact label="Type">{typeOf(a)}</Fact>
        <Fact label="Size">{bytes(a.size)}</Fact>
        <Fact label="Pushed">
          <Time iso={a.push_time} />
        </Fact>
        <Fact label="Pulled">
          <Time iso={a.pull_time} />
        </Fact>
        {a.references && a.references.length > 0 && <Fact label="Platforms">{a.references.map((r) => platformText(r.platform)).join(', ')}</Fact>}
        {!a.references?.length && <Fact label="Vulnerabilities">{vulnerabilityText(Object.values(a.scan_overview ?? {})[0])}</Fact>}
      </dl>
      <div className="actions">
        <button type="button" aria-expanded={open} aria-controls={detailsId} onClick={() => setOpen(!open)}>
          {open ? 'Hide details' : 'Details'}
          <span className="offscreen"> of {shortDigest(a.digest)}</span>
        </button>
        <ConfirmButton
          label="Delete artifact"
          more={shortDigest(a.digest)}
          title={`Delete the artifact ${shortDigest(a.digest)}?`}
          confirm="Delete artifact"
          onConfirm={async () => {
            await send('DELETE', `${base}/${a.digest}`);
            onChange();
          }}
        >
          <p>
            This deletes <code>{a.digest}</code> from {project}/{repository}
            {tagCount > 0 && (
              <>
                {' '}
                with its {tagCount === 1 ? 'tag' : `${tagCount} tags`}{' '}
                <strong>
                  {shown
                    .slice(0, TAG_PREVIEW)
                    .map((t) => t.name)
                    .join(', ')}
                  {tagCount > TAG_PREVIEW ? ', …' : ''}
                </strong>
              </>
            )}
            . Clients pulling it get "manifest unknown" from then on.
          </p>
        </ConfirmButton>
      </div>
      {open && (
        <div id={detailsId}>
          <Details artifact={a} project={project} repository={repository} />
        </div>
      )}
    </li>
  );
}

interface Layer {
  digest: string;
  size: number;
  media_type: string;
}
interface ImageConfig {
  architecture?: string;
  os?: string;
  created?: string;
  author?: string;
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  labels?: Record<string, string>;
  working_dir?: string;
  user?: string;
}

function Details({ artifact: a, project, repository }: { artifact: Artifact; project: string; repository: string }) {
  const { info } = useSession();
  const host = registryHost(info);
  const name = `${host}/${project}/${repository}`;
  const firstTag = a.tags?.[0]?.name;
  const isIndex = (a.references?.length ?? 0) > 0;
  const additions = `${repoPath(project, repository)}/artifacts/${a.digest}/additions`;
  const image = useLoad(async () => {
    if (isIndex) return undefined;
    const [layers, config] = await Promise.all([get<Layer[]>(`${additions}/layers`), get<ImageConfig>(`${additions}/config`).catch(() => undefined)]);
    return { layers, config };
  }, [additions, isIndex]);
  return (
    <div className="details">
      <h3>Pull</h3>
      {firstTag && <CopyLine text={`docker pull ${name}:${firstTag}`} label={`Copy the pull command by tag ${firstTag}`} />}
      <CopyLine text={`docker pull ${name}@${a.digest}`} label="Copy the pull command by digest" />
      <p className="muted">
        Media type <code>{a.manifest_media_type}</code>
      </p>
      {isIndex && <Children artifact={a} project={project} repository={repository} />}
      <ErrorMessage error={image.error} />
      {image.loading && !isIndex && <Loading what="layers and configuration" />}
      {image.data && <ImageFacts layers={image.data.layers} config={image.data.config} />}
      <Trust artifact={a} project={project} repository={repository} />
      {a.annotations && Object.keys(a.annotations).length > 0 && (
        <>
          <h3>Annotations</h3>
          <KeyValues values={a.annotations} />
        </>
      )}
    </div>
  );
}

/** The artifact's signatures under the project's trust policy, and what is attached to it. */
function Trust({ artifact: a, project, repository }: { artifact: Artifact; project: string; repository: string }) {
  const at = `${repoPath(project, repository)}/artifacts/${a.digest}`;
  const trust = useLoad(async () => {
    const [signatures, attached] = await Promise.all([get<ArtifactSignatures>(`${at}/additions/signatures`), list<Accessory>(`${at}/accessories`, { page_size: 100 })]);
    return { signatures, attached: attached.items };
  }, [at]);
  const t = trust.data && { ...trust.data.signatures, attached: trust.data.attached };
  return (
    <>
      <h3>Signatures</h3>
      <ErrorMessage error={trust.error} />
      {trust.loading && !t && <Loading what="signatures" />}
      {t && (
        <>
          <p>
            {t.exempt ??
              (t.level === 'off'
                ? 'The project requires no signature.'
                : t.satisfied
                  ? `A pull meets the project's signature policy (${t.level}).`
                  : `A pull does not meet the project's signature policy (${t.level}): ${t.message ?? 'no valid signature'}`)}
          </p>
          {t.signatures.length === 0 ? (
            <p className="muted">No signature found.</p>
          ) : (
            <Table columns={['Format', 'Signer', 'Result', 'Found']}>
              {t.signatures.map((sig) => (
                <tr key={sig.digest}>
                  <th scope="row">{sig.format}</th>
                  <td className="wrap">{sig.signer ?? <span className="muted">unknown</span>}</td>
                  <td className="wrap">{sig.verified ? 'verified' : `not valid: ${sig.reason ?? 'unknown reason'}`}</td>
                  <td className="wrap">
                    {sig.location}
                    {sig.via_index && <> (on the index {shortDigest(sig.via_index)})</>}
                  </td>
                </tr>
              ))}
            </Table>
          )}
          <h3>Attached</h3>
          {t.attached.length === 0 ? (
            <p className="muted">Nothing is attached to this artifact.</p>
          ) : (
            <Table columns={['Kind', 'Digest', 'Size', 'Pushed']}>
              {t.attached.map((x) => (
                <tr key={x.digest}>
                  <th scope="row">{x.type}</th>
                  <td>
                    <code title={x.digest}>{shortDigest(x.digest)}</code>
                  </td>
                  <td>{bytes(x.size)}</td>
                  <td>
                    <Time iso={x.creation_time} />
                  </td>
                </tr>
              ))}
            </Table>
          )}
        </>
      )}
    </>
  );
}

function Children({ artifact: a, project, repository }: { artifact: Artifact; project: string; repository: string }) {
  const [chosen, setChosen] = useState<string>();
  const child = useLoad(
    () => (chosen ? get<Artifact>(`${repoPath(project, repository)}/artifacts/${chosen}`) : Promise.resolve(undefined)),
    [chosen, project, repository],
  );
  return (
    <>
      <h3>Platforms</h3>
      <Table columns={['Platform', 'Digest']} actions>
        {a.references!.map((r) => (
          <tr key={r.child_digest}>
            <th scope="row">{platformText(r.platform)}</th>
            <td>
              <code title={r.child_digest}>{shortDigest(r.child_digest)}</code> <Copy text={r.child_digest} label={`Copy the digest of ${platformText(r.platform)}`} />
            </td>
            <td>
              <button type="button" className="small" aria-pressed={chosen === r.child_digest} onClick={() => setChosen(chosen === r.child_digest ? undefined : r.child_digest)}>
                Layers<span className="offscreen"> of {platformText(r.platform)}</span>
              </button>
            </td>
          </tr>
        ))}
      </Table>
      <ErrorMessage error={child.error} />
      {child.data && (
        <section className="child" aria-label={`The image for ${platformText(a.references!.find((r) => r.child_digest === chosen)?.platform)}`}>
          <Details artifact={child.data} project={project} repository={repository} />
        </section>
      )}
    </>
  );
}

function ImageFacts({ layers, config }: { layers: Layer[]; config: ImageConfig | undefined }) {
  return (
    <>
      {config && (
        <>
          <h3>Configuration</h3>
          <dl className="facts">
            {config.os && (
              <>
                <dt>Platform</dt>
                <dd>{[config.os, config.architecture].filter(Boolean).join('/')}</dd>
              </>
            )}
            {config.created && (
              <>
                <dt>Created</dt>
                <dd>
                  <Time iso={config.created} />
                </dd>
              </>
            )}
            {config.author && (
              <>
                <dt>Author</dt>
                <dd>{config.author}</dd>
              </>
            )}
            <dt>Entrypoint</dt>
            <dd>{config.entrypoint?.length ? <code>{JSON.stringify(config.entrypoint)}</code> : <span className="muted">none</span>}</dd>
            <dt>Command</dt>
            <dd>{config.cmd?.length ? <code>{JSON.stringify(config.cmd)}</code> : <span className="muted">none</span>}</dd>
            {config.working_dir && (
              <>
                <dt>Working directory</dt>
                <dd>
                  <code>{config.working_dir}</code>
                </dd>
              </>
            )}
            {config.user && (
              <>
                <dt>User</dt>
                <dd>
                  <code>{config.user}</code>
                </dd>
              </>
            )}
          </dl>
          {config.env && config.env.length > 0 && (
            <>
              <h4>Environment</h4>
              <ul className="plain">
                {config.env.map((e) => (
                  <li key={e}>
                    <code>{e}</code>
                  </li>
                ))}
              </ul>
            </>
          )}
          {config.labels && Object.keys(config.labels).length > 0 && (
            <>
              <h4>Labels</h4>
              <KeyValues values={config.labels} />
            </>
          )}
        </>
      )}
      <h3>Layers</h3>
      {layers.length === 0 ? (
        <p className="muted">No layers.</p>
      ) : (
        <div className="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Digest</th>
                <th scope="col">Size</th>
                <th scope="col">Media type</th>
              </tr>
            </thead>
            <tbody>
              {layers.map((l, i) => (
                <tr key={`${i}-${l.digest}`}>
                  <td>{i + 1}</td>
                  <td>
                    <code title={l.digest}>{shortDigest(l.digest)}</code>
                  </td>
                  <td>{bytes(l.size)}</td>
                  <td className="wrap">
                    <code>{l.media_type}</code>
                  </td>
                </tr>
              ))}
            </tbody>
            <tfoot>
              <tr>
                <th scope="row" colSpan={2}>
                  Total
                </th>
                <td>{bytes(layers.reduce((n, l) => n + l.size, 0))}</td>
                <td />
              </tr>
            </tfoot>
          </table>
        </div>
      )}
    </>
  );
}

function KeyValues({ values }: { values: Record<string, string> }) {
  return (
    <dl className="facts">
      {Object.entries(values).map(([k, v]) => (
        <div key={k} className="kv">
          <dt>
            <code>{k}</code>
          </dt>
          <dd className="wrap">{v}</dd>
        </div>
      ))}
    </dl>
  );
}
