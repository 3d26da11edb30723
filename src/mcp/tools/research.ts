import { z } from 'zod';
import { quoteCurrency } from './format.js';

/**
 * Pieces the research tools share: paging of long answers, and the one-security input.
 */

/** `page` (1-based) and `page_size` up to `max`: long answers are read a page at a time. */
export function pageArgs(max: number, fallback: number) {
  return {
    page: z.number().int().min(1).max(10_000).default(1).describe('1-based'),
    page_size: z.number().int().min(1).max(max).default(fallback).describe(`Rows per page, at most ${max}`),
  };
}

export const pageOutput = {
  page: z.number(),
  page_size: z.number(),
  total: z.number().describe('Rows across all pages'),
  has_more: z.boolean().describe('Call again with page + 1'),
};

export interface Page<T> {
  readonly rows: T[];
  readonly meta: { page: number; page_size: number; total: number; has_more: boolean };
}

export function pageOf<T>(items: readonly T[], page: number, pageSize: number): Page<T> {
  const start = (page - 1) * pageSize;
  return { rows: items.slice(start, start + pageSize), meta: { page, page_size: pageSize, total: items.length, has_more: start + pageSize < items.length } };
}

/** " (page 2, more: page 3)" for a summary line. */
export function pageNote(meta: Page<unknown>['meta']): string {
  return meta.has_more ? ` (page ${meta.page} of ${Math.ceil(meta.total / meta.page_size)}: call with page ${meta.page + 1} for more)` : meta.page > 1 ? ` (page ${meta.page})` : '';
}

/** A display name as a field key: "Shareholders' equity" → shareholders_equity. */
export function snakeKey(name: string): string {
  return name.toLowerCase().replace(/['’]/g, '').replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '');
}

/** The currency a security's figures are in. */
export function currencyField(symbol: string): { currency: string } {
  return { currency: quoteCurrency(symbol) };
}
