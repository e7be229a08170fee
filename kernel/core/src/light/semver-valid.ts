/** `semver/ranges/valid.js` in a browser (the kernel's package.json `browser` field maps it here). */
export { validRange as default } from './semver.js'
