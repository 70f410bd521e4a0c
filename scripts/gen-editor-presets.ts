/**
 * Rewrites the preset rule of the VS Code grammar (editors/vscode/syntaxes/loom.tmLanguage.json)
 * from the mixer registry, so the editor highlights exactly the presets the compiler knows.
 * Run: `node bin/run-ts.js scripts/gen-editor-presets.ts` (test/docs/editor.test.ts checks it).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { ALL_PRESETS } from '../compiler/mixers/registry.ts';

const path = 'editors/vscode/syntaxes/loom.tmLanguage.json';
const before = readFileSync(path, 'utf8');
// Only the preset rule's `match` line changes; the file keeps its hand-written layout.
const rule = /("name": "support\.constant\.preset\.loom",\s*"match": )"[^"\n]*"/;
if (!rule.test(before)) throw new Error(`${path}: no preset rule found`);
const match = JSON.stringify(`\\b(${ALL_PRESETS.join('|')})\\b`);
writeFileSync(path, before.replace(rule, (_, head: string) => head + match));
console.log(`${path}: ${ALL_PRESETS.length} presets`);
