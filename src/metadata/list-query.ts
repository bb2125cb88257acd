// What a list asks for: a typed filter, an order and a page. The management API parses Harbor's
// `q=`, `sort=`, `page` and `page_size` into this (api/query.ts); the stores turn it into SQL with
// the helpers below, which spell the same thing on SQLite and PostgreSQL.
//
// A filter names fields, each with a type; values arrive typed (`time` as milliseconds since the
// epoch, as the tables store times; `bool` as the 0/1 integers the tables store booleans as).
import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';

export type FieldType = 'string' | 'int' | 'time' | 'bool';

export type FieldValue<T extends FieldType> = T extends 'string' ? string : T extends 'bool' ? boolean : number;

/** One field's condition, as Harbor's q= spells them. */
export type Condition<V> =
  /** k=v */
  | { op: 'eq'; value: V }
  /** k=~v: the value contains v, ignoring ASCII case (string fields only). */
  | { op: 'fuzzy'; value: string }
  /** k=[min~max], either bound optional, both inclusive (int and time fields only). */
  | { op: 'range'; min?: V; max?: V }
  /** k={v1 v2}: any of the values. */
  | { op: 'any'; values: V[] }
  /** k=(v1 v2): every one of the values (for fields that hold several, e.g. labels). */
  | { op: 'all'; values: V[] };

/** The fields a list may be filtered by, and their types. */
export type FilterFields = Record<string, FieldType>;

export type Filter<F extends FilterFields> = { [K in keyof F]?: Condition<FieldValue<F[K]>> };

export interface SortKey<S extends string = string> {
  field: S;
  desc: boolean;
}

export interface Page {
  /** 1-based. */
  page: number;
  pageSize: number;
}

/** The rows to skip for a page. */
export function offsetOf(page: Page): number {
  return (page.page - 1) * page.pageSize;
}

/** `s` for a LIKE pattern that matches it literally (with ESCAPE '\'). */
export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

type Sqlable = string | number;

function sqlValue(v: string | number | boolean): Sqlable {
  return typeof v === 'boolean' ? (v ? 1 : 0) : v;
}

/**
 * The WHERE condition of one field's condition on `column` (a column reference, "p.name").
 * Column names come from code (the store's own map from field to column), never from input.
 */
export function conditionSql(eb: ExpressionBuilder<any, any>, column: string, c: Condition<string | number | boolean>): Expression<SqlBool> {
  const col = sql.ref(column);
  switch (c.op) {
    case 'eq':
      return eb(col, '=', sqlValue(c.value));
    case 'fuzzy':
      // lower() on both sides: SQLite's LIKE ignores ASCII case and PostgreSQL's does not.
      return sql<SqlBool>`lower(${col}) like lower(${`%${escapeLike(c.value)}%`}) escape '\\'`;
    case 'range': {
      const parts: Expression<SqlBool>[] = [];
      if (c.min !== undefined) parts.push(eb(col, '>=', sqlValue(c.min)));
      if (c.max !== undefined) parts.push(eb(col, '<=', sqlValue(c.max)));
      return eb.and(parts);
    }
    case 'any':
      return eb(col, 'in', c.values.map(sqlValue));
    case 'all':
      return eb.and(c.values.map((v) => eb(col, '=', sqlValue(v))));
  }
}

/** Every condition of a filter, ANDed; `columns` maps each field to its column. */
export function filterSql<F extends FilterFields>(eb: ExpressionBuilder<any, any>, filter: Filter<F>, columns: { [K in keyof F]: string }): Expression<SqlBool> {
  const parts: Expression<SqlBool>[] = [];
  for (const field of Object.keys(filter) as Array<keyof F & string>) {
    const c = filter[field];
    if (c) parts.push(conditionSql(eb, columns[field], c as Condition<string | number | boolean>));
  }
  return eb.and(parts);
}
