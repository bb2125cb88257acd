// The part of the `semver` package (7.x) the scanner uses: @types/semver is not installed.
declare module 'semver' {
  export class SemVer {
    readonly version: string;
    readonly prerelease: ReadonlyArray<string | number>;
  }
  export function parse(version: string, options?: { loose?: boolean }): SemVer | null;
  export function compare(a: SemVer | string, b: SemVer | string, options?: { loose?: boolean }): -1 | 0 | 1;
  const semver: { parse: typeof parse; compare: typeof compare };
  export default semver;
}
