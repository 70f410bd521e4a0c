/**
 * Node's adapter: Dawn (the npm package `webgpu`), tried backend by backend, with an error that
 * says what to install when the native module cannot be loaded.
 */
import { createRequire } from 'node:module';
import { diag, LoomError } from '../../grammar/diagnostics.ts';
import { describe, type AdapterDescription } from '../gpu.ts';

type DawnModule = { create: (flags: string[]) => GPU; globals: Record<string, unknown> };

let dawn: DawnModule | undefined;
const instances = new Map<string, GPU>();

function loadDawn(): DawnModule {
  if (!dawn) {
    const require = createRequire(import.meta.url);
    try {
      dawn = require('webgpu') as DawnModule;
    } catch (e) {
      throw new LoomError([
        diag('no-adapter', {
          message: `cannot load Dawn (the npm package 'webgpu'): ${(e as Error).message}. Run \`npm ci\` in the Loom checkout.`,
        }),
      ]);
    }
    // Dawn's classes (GPUBufferUsage, GPUShaderStage, ...) as globals, as in a browser.
    for (const [k, v] of Object.entries(dawn.globals)) {
      if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
    }
  }
  return dawn;
}

/** One Dawn instance per backend ('' = Dawn's default choice, Vulkan on Linux). */
function gpuInstance(backend: string): GPU {
  let g = instances.get(backend);
  if (!g) {
    // The GLES backend needs a display; headless Mesa offers a surfaceless one.
    if (backend === 'opengles') process.env.EGL_PLATFORM ??= 'surfaceless';
    g = loadDawn().create(backend ? [`backend=${backend}`] : []);
    instances.set(backend, g);
  }
  return g;
}

/**
 * Backends to try, in order: `LOOM_BACKEND` when set (vulkan, opengles, ...), else Dawn's default
 * and then OpenGL ES in compatibility mode (works with Mesa's llvmpipe where Vulkan is missing).
 */
function backendsToTry(): { backend: string; featureLevel?: 'compatibility' }[] {
  const forced = process.env.LOOM_BACKEND;
  if (forced) return [{ backend: forced, featureLevel: forced === 'opengles' || forced === 'opengl' ? 'compatibility' : undefined }];
  return [{ backend: '' }, { backend: 'opengles', featureLevel: 'compatibility' }];
}

/** The first adapter of the backends to try, described, or null when there is none. */
export async function probeDawn(): Promise<{ adapter: GPUAdapter; info: AdapterDescription } | null> {
  for (const { backend, featureLevel } of backendsToTry()) {
    const adapter = await gpuInstance(backend).requestAdapter({ powerPreference: 'high-performance', featureLevel });
    if (adapter) return { adapter, info: { ...describe(adapter), backend: backend || describe(adapter).backend || 'vulkan' } };
  }
  return null;
}
