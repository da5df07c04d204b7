/** The page's handle on the adapter database (the worker opens its own on the same origin). */
import { AdapterStore } from '../../train/adapter-store';

let opened: Promise<AdapterStore> | undefined;

export function adapterStore(): Promise<AdapterStore> {
  opened ??= AdapterStore.open();
  opened.catch(() => (opened = undefined));
  return opened;
}
