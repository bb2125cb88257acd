// The members of a large JSON object, one at a time: `{"a": {...}, "b": {...}}` read from a
// stream of text yields ["a", {...}] then ["b", {...}], so that a feed of hundreds of megabytes
// (Debian's security tracker: one object keyed by source package) is never parsed whole. Only the
// top level is split here; each member's value goes to JSON.parse.

/** Yields each member of the top-level object of `chunks`; throws on text that is not an object. */
export async function* topLevelMembers(chunks: AsyncIterable<string>): AsyncGenerator<[string, unknown]> {
  let state: 'start' | 'key' | 'keyText' | 'colon' | 'value' | 'end' = 'start';
  let buf = ''; // the key or the value being read
  let key = '';
  let depth = 0;
  let inString = false;
  let escaped = false;
  const fail = (c: string): never => {
    throw new Error(`not a JSON object of members: unexpected ${JSON.stringify(c)} ${state === 'start' ? 'at the start' : `after member ${JSON.stringify(key)}`}`);
  };
  for await (const chunk of chunks) {
    let valueStart = state === 'value' ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (state === 'value') {
        if (inString) {
          if (escaped) escaped = false;
          else if (c === '\\') escaped = true;
          else if (c === '"') inString = false;
          continue;
        }
        if (c === '"') inString = true;
        else if (c === '{' || c === '[') depth++;
        else if (c === '}' || c === ']' || c === ',') {
          if (depth > 0 && c !== ',') depth--;
          else if (depth === 0) {
            buf += chunk.slice(valueStart, i);
            yield [key, JSON.parse(buf)];
            buf = '';
            valueStart = -1;
            state = c === ',' ? 'key' : 'end';
          }
        }
        continue;
      }
      if (state === 'keyText') {
        // A member name, read to its closing quote (it may hold escapes, and span reads).
        buf += c;
        if (escaped) escaped = false;
        else if (c === '\\') escaped = true;
        else if (c === '"') {
          key = JSON.parse(buf) as string;
          buf = '';
          state = 'colon';
        }
        continue;
      }
      if (c === ' ' || c === '\n' || c === '\r' || c === '\t') continue;
      if (state === 'start') state = c === '{' ? 'key' : fail(c);
      else if (state === 'key') {
        if (c === '}' && key === '') state = 'end';
        else if (c !== '"') fail(c);
        else {
          state = 'keyText';
          buf = '"';
        }
      } else if (state === 'colon') {
        if (c !== ':') fail(c);
        state = 'value';
        depth = 0;
        valueStart = i + 1;
      } else if (state === 'end') fail(c);
    }
    if (state === 'value' && valueStart >= 0) buf += chunk.slice(valueStart);
  }
  if ((state as string) !== 'end') throw new Error(`the JSON object ends early${key ? ` (in member ${JSON.stringify(key)})` : ''}: is the file complete?`);
}
