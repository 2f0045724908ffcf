#!/usr/bin/env node
// The installed command: a committed file, so `pnpm install` can link it before any build.
import "../dist/main.js";
