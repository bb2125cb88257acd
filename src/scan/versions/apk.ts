// Alpine's version order (apk-tools src/version.c): `digit{.digit}...[letter]{_suffix[N]}...[-rN]`,
// compared token by token. A component after `.` with a leading zero sorts below one without
// (1.01 < 1.1: decimal-fraction order); `_alpha < _beta < _pre < _rc` are pre-releases (below the
// release), `_cvs < _svn < _git < _hg < _p` come after it; `-rN` is the package revision. When
// one side runs out or continues with a different kind of token, a pre-release suffix makes its
// side smaller, else the side whose next token ranks higher (digit > letter > suffix > suffix
// number > revision > end) is greater. A string outside the grammar compares as plain text.

/** Token kinds in apk-tools' order: a higher kind as the next token means a smaller version. */
const enum Token {
  DigitOrZero,
  Digit,
  Letter,
  Suffix,
  SuffixNo,
  RevisionNo,
  End,
  Invalid,
}

const PRE = ['alpha', 'beta', 'pre', 'rc'];
const POST = ['cvs', 'svn', 'git', 'hg', 'p'];

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const isLower = (c: string | undefined) => c !== undefined && c >= 'a' && c <= 'z';

/** A cursor over one version string. */
class Cursor {
  type: Token = Token.Digit;
  constructor(
    private readonly s: string,
    private i = 0,
  ) {
    if (s.length === 0) this.type = Token.End;
  }

  /** What kind the token at the cursor is, from the kind of the one before (apk's next_token). */
  private next(): void {
    const c = this.s[this.i];
    if (this.i >= this.s.length) this.type = Token.End;
    else if ((this.type === Token.Digit || this.type === Token.DigitOrZero) && isLower(c)) this.type = Token.Letter;
    else if (this.type === Token.Letter && isDigit(c)) this.type = Token.Digit;
    else if (this.type === Token.Suffix && isDigit(c)) this.type = Token.SuffixNo;
    else if (c === '.') {
      this.type = Token.DigitOrZero;
      this.i++;
    } else if (c === '_') {
      this.type = Token.Suffix;
      this.i++;
    } else if (c === '-' && this.s[this.i + 1] === 'r') {
      this.type = Token.RevisionNo;
      this.i += 2;
    } else this.type = Token.Invalid;
  }

  /** The value of the token at the cursor; moves past it (apk's get_token). */
  take(): number {
    if (this.i >= this.s.length) {
      this.type = Token.End;
      return 0;
    }
    let v = 0;
    let then: Token | undefined;
    const start = this.i;
    switch (this.type) {
      case Token.DigitOrZero:
        if (this.s[this.i] === '0') {
          while (this.s[this.i] === '0') this.i++;
          v = -(this.i - start);
          then = Token.Digit;
          break;
        }
      // falls through: a component without leading zeros is a number
      case Token.Digit:
      case Token.SuffixNo:
      case Token.RevisionNo:
        while (isDigit(this.s[this.i])) v = v * 10 + Number(this.s[this.i++]);
        break;
      case Token.Letter:
        v = this.s.charCodeAt(this.i++);
        break;
      case Token.Suffix: {
        const rest = this.s.slice(this.i);
        const pre = PRE.findIndex((p) => rest.startsWith(p));
        if (pre >= 0) {
          v = pre - PRE.length;
          this.i += PRE[pre]!.length;
          break;
        }
        const post = POST.findIndex((p) => rest.startsWith(p));
        if (post >= 0) {
          v = post;
          this.i += POST[post]!.length;
          break;
        }
        this.type = Token.Invalid;
        return -1;
      }
      default:
        this.type = Token.Invalid;
        return -1;
    }
    if (this.i >= this.s.length) this.type = Token.End;
    else if (then !== undefined) this.type = then;
    else this.next();
    return v;
  }
}

/** Whether a string follows apk's version grammar. */
export function isApkVersion(version: string): boolean {
  if (!isDigit(version[0])) return false;
  const c = new Cursor(version);
  while (c.type !== Token.End && c.type !== Token.Invalid) c.take();
  return c.type === Token.End;
}

/** Negative, zero or positive as `a` sorts before, with or after `b`. */
export function compareApk(a: string, b: string): number {
  if (!isApkVersion(a) || !isApkVersion(b)) return a < b ? -1 : a > b ? 1 : 0;
  const x = new Cursor(a);
  const y = new Cursor(b);
  let av = 0;
  let bv = 0;
  while (x.type === y.type && x.type !== Token.End && x.type !== Token.Invalid && av === bv) {
    av = x.take();
    bv = y.take();
  }
  if (av !== bv) return av < bv ? -1 : 1;
  if (x.type === y.type) return 0;
  // Equal so far; the side that goes on is greater, unless it goes on with a pre-release.
  if (x.type === Token.Suffix && x.take() < 0) return -1;
  if (y.type === Token.Suffix && y.take() < 0) return 1;
  if (x.type > y.type) return -1;
  if (y.type > x.type) return 1;
  return 0;
}
