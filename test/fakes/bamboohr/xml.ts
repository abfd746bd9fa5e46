/**
 * BambooHR's XML answers, which it sends unless a request asks for JSON (Technical Overview, "Making Requests"; the
 * OpenAPI description's `AcceptHeaderParameter`: "This endpoint can produce either JSON or XML", and List Users:
 * "Send `Accept: application/json` to receive JSON; omit the header or send any other value to receive XML").
 *
 * The element shapes are those of BambooHR's classic XML API, which the OpenAPI file leaves as `application/xml: {}`:
 * `<employee id="…"><field id="firstName">…</field></employee>` (Get Employee), `<employees latest="…"><employee
 * id="…" action="…" lastChanged="…"/></employees>` (Last Change Information), `<fields><field id="…" type="…"
 * alias="…">Name</field></fields>` (List Fields) and `<report><title/><fields/><employees/></report>` (Request Custom
 * Report, "For XML, returns a `<report>` document"). UNCONFIRMED beyond the root element names: nothing the fake read
 * gives a recorded XML body, so these follow the classic API's documented examples as clients quote them.
 */

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** One element: attributes (undefined and null ones left out) and either text or child elements. */
export function element(name: string, attributes: Record<string, string | number | null | undefined>, content: string | string[] | null = null): string {
  const attributeText = Object.entries(attributes)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined && entry[1] !== null)
    .map(([key, value]) => ` ${key}="${escapeXml(String(value))}"`)
    .join('');
  if (content === null || (Array.isArray(content) && content.length === 0)) return `<${name}${attributeText}/>`;
  const inner = Array.isArray(content) ? content.join('') : escapeXml(content);
  return `<${name}${attributeText}>${inner}</${name}>`;
}

export function xmlDocument(root: string): string {
  return `<?xml version="1.0"?>\n${root}`;
}

/**
 * The parts of a `<report>` request body that Request Custom Report documents ("XML report definition"): `<field
 * id="…"/>` columns, `<lastChanged includeNull="…">…</lastChanged>` and `<employeeId>` filters. Null when the body is
 * not such a document, which BambooHR answers with 400 "Malformed XML".
 */
export function readXmlReport(text: string): { fields: string[]; lastChanged: { value: string; includeNull: string } | null; employeeIds: number[] | null } | null {
  const trimmed = text.trim();
  if (!/^(<\?xml[^>]*\?>\s*)?<report[\s>][\s\S]*<\/report>$/.test(trimmed)) return null;
  const fields = [...trimmed.matchAll(/<field\s+id="([^"]*)"\s*\/?>/g)].map((match) => unescapeXml(match[1] as string));
  const changed = /<lastChanged(?:\s+includeNull="(yes|no)")?\s*>([^<]*)<\/lastChanged>/.exec(trimmed);
  const idsBlock = /<employeeIds>([\s\S]*?)<\/employeeIds>/.exec(trimmed);
  return {
    fields,
    lastChanged: changed ? { value: unescapeXml(changed[2] as string).trim(), includeNull: changed[1] ?? 'yes' } : null,
    employeeIds: idsBlock ? [...(idsBlock[1] as string).matchAll(/<employeeId>\s*(\d+)\s*<\/employeeId>/g)].map((match) => Number(match[1])) : null,
  };
}

function unescapeXml(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}
