#!/usr/bin/env node
// Committed shim: `bin` must exist at install time, before `dist/` is built.
import '../dist/cli.js'
