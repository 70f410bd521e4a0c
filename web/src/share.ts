/** The spec carried in the URL's hash (`#spec=`), deflated and base64url-encoded, for sharing. */

async function pipe(bytes: Uint8Array, stream: CompressionStream | DecompressionStream): Promise<Uint8Array> {
  const out = new Response(new Blob([new Uint8Array(bytes)]).stream().pipeThrough(stream));
  return new Uint8Array(await out.arrayBuffer());
}

export async function encodeSpec(text: string): Promise<string> {
  const z = await pipe(new TextEncoder().encode(text), new CompressionStream('deflate-raw'));
  let s = '';
  for (const b of z) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The spec in a hash made by encodeSpec; undefined when there is none or it does not decode. */
export async function decodeSpec(hash: string): Promise<string | undefined> {
  const m = /(?:^#|&)spec=([A-Za-z0-9_-]+)/.exec(hash);
  if (!m) return undefined;
  try {
    const bin = atob(m[1].replace(/-/g, '+').replace(/_/g, '/'));
    const z = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    return new TextDecoder().decode(await pipe(z, new DecompressionStream('deflate-raw')));
  } catch {
    return undefined;
  }
}
