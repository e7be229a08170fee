// A page has no Buffer: this answers only Buffer.byteLength (the kernel core no longer needs it;
// streams' byte-size falls back to TextEncoder without it). Candidate for removal (0.1 KB).
const utf8 = new TextEncoder()
export const Buffer = { byteLength: (text) => utf8.encode(String(text)).byteLength }
