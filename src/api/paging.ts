// Harbor's pagination: `page` (from 1) and `page_size` (default 10, at most 100) in, the
// `X-Total-Count` and `Link` (rel="prev", rel="next") headers out. The links keep every other
// query parameter of the request (q, sort, ...) and, unlike Harbor's, stay percent-encoded, so a
// comma or ">" in a filter cannot break the header apart.
import { z } from 'zod';
import type { Page } from '../metadata/list-query.js';

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 10;
/** Far beyond any list, small enough that (page - 1) * page_size stays an exact integer. */
const MAX_PAGE = 2 ** 31;

/** The query parameters of every paginated list (spread into a route's query schema). */
export const pagingQuery = {
  page: z.coerce
    .number({ error: 'page must be a whole number from 1' })
    .int('page must be a whole number from 1')
    .min(1, 'page must be a whole number from 1')
    .max(MAX_PAGE, `page must be at most ${MAX_PAGE}`)
    .default(1)
    .describe('The page number, from 1.'),
  page_size: z.coerce
    .number({ error: `page_size must be a whole number from 1 to ${MAX_PAGE_SIZE}` })
    .int(`page_size must be a whole number from 1 to ${MAX_PAGE_SIZE}`)
    .min(1, `page_size must be a whole number from 1 to ${MAX_PAGE_SIZE}`)
    .max(MAX_PAGE_SIZE, `page_size must be at most ${MAX_PAGE_SIZE}; ask for the next pages (page=2, 3, ...) as the Link header says`)
    .default(DEFAULT_PAGE_SIZE)
    .describe(`The size of a page, at most ${MAX_PAGE_SIZE}.`),
};

/** The page a parsed query asks for. */
export function pageOf(query: { page: number; page_size: number }): Page {
  return { page: query.page, pageSize: query.page_size };
}

/**
 * The Link header of a page of `total` items, for the request target `url` (path and query), or
 * undefined when there is no other page. Harbor's rules: prev when this is not the first page and
 * the previous one holds items, next while items remain.
 */
export function pageLinks(url: string, page: Page, total: number): string | undefined {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const link = (n: number, rel: string) => {
    const params = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    params.set('page', String(n));
    params.set('page_size', String(page.pageSize));
    return `<${path}?${params.toString()}>; rel="${rel}"`;
  };
  const links: string[] = [];
  if (page.page > 1 && (page.page - 1) * page.pageSize < total) links.push(link(page.page - 1, 'prev'));
  if (page.page * page.pageSize < total) links.push(link(page.page + 1, 'next'));
  return links.length ? links.join(' , ') : undefined;
}
