/** Adds `value` to the list `map` holds under `key`, starting that list when there is none yet. */
export function groupInto<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
