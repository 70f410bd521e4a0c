/**
 * runtime/browser.ts's `openPretrainedFromFiles` on Dawn: a checkpoint directory given as Files
 * (as a browser's file input gives them; Node has no FileReaderSync, so every tensor is read by
 * its prefetch, as on a page's main thread) opens as the same directory opened from disk: the same
 * spec, tokenizer and weights, hence bit-identical logits.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDevice, openPretrained, openPretrainedFromFiles } from '../../runtime/browser.ts';
import { probeDawn } from '../../runtime/node/dawn.ts';
import { nodeFiles } from '../../runtime/node/files.ts';
import { CONFIGS, synthesize, writeCheckpoint, writeSharded } from '../helpers/fla-checkpoint.ts';
import { BL_SPECIAL, byteLevelFiles } from '../helpers/tokenizers.ts';

const root = mkdtempSync(join(tmpdir(), 'loom-browser-ck-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const config = { ...CONFIGS.gla, vocab_size: 320, bos_token_id: BL_SPECIAL.begin, eos_token_id: BL_SPECIAL.end };

/** A checkpoint directory on disk, BF16 weights in one file or two shards. */
function checkpointDir(name: string, sharded: boolean): string {
  const dir = join(root, name);
  mkdirSync(dir);
  const tok = byteLevelFiles();
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  writeFileSync(join(dir, 'tokenizer.json'), tok.tokenizerJson);
  writeFileSync(join(dir, 'tokenizer_config.json'), tok.tokenizerConfig!);
  const ck = synthesize('gla', 3, true, config);
  if (sharded) writeSharded(dir, ck);
  else writeCheckpoint(join(dir, 'model.safetensors'), ck, 'BF16');
  return dir;
}

describe('openPretrainedFromFiles', () => {
  for (const sharded of [false, true]) {
    it(`gives the logits openPretrained gives from disk (${sharded ? 'two shards and an index' : 'one safetensors file'})`, async () => {
      const found = await probeDawn();
      if (!found) throw new Error('no adapter (device tests fail without one; see `loom doctor`)');
      const gpu = await openDevice(found.adapter, found.info);
      const dir = checkpointDir(sharded ? 'sharded' : 'single', sharded);
      const chosen = readdirSync(dir).map((f) => Object.assign(new File([readFileSync(join(dir, f))], f), { webkitRelativePath: `${sharded ? 'sharded' : 'single'}/${f}` }));
      const disk = await openPretrained(gpu, dir, { seq: 8 }, nodeFiles);
      const page = await openPretrainedFromFiles(chosen, { seq: 8, gpu });
      try {
        expect(page.checkpoint.specText).toBe(disk.checkpoint.specText);
        const prompt = disk.tokenizer.encode('hello world, hello there');
        expect(page.tokenizer.encode('hello world, hello there')).toEqual(prompt);
        // The same kernels over the same weight bits: the same logits, bit for bit.
        expect(await page.model.prefill(prompt)).toEqual(await disk.model.prefill(prompt));
      } finally {
        disk.model.destroy();
        page.model.destroy();
      }
    });
  }
});
