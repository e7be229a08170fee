/** `semver/functions/satisfies.js` in a browser (the kernel's package.json `browser` field maps it here). */
export { satisfies as default } from './semver.js'
