/**
 * Dawn's limit warnings, taken out of a process's stderr. While it enumerates adapters, Dawn clamps
 * the dynamic-buffer limits of every Vulkan adapter that reports more than it supports (lavapipe,
 * RADV, ...) and says so from native code, straight to the process's stderr: no device or instance
 * callback sees these lines, so nothing in the process can hold them back. `loom` runs its GPU
 * commands as a child with stderr through this filter (bin/loom.js). Loom's limits come from the
 * device (runtime/gpu.ts) and never use dynamic offsets, so the clamp concerns no user. Every other
 * line passes unchanged, Dawn's real errors and warnings included.
 */

/** Exactly the two lines (Uniform, Storage) Dawn prints when it clamps those limits. */
export const DAWN_LIMIT_WARNING = /^Warning: maxDynamic(?:Uniform|Storage)BuffersPerPipelineLayout artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.\r?$/;

const START = 'Warning: maxDynamic';

/**
 * A filter over stderr text arriving in chunks: passes everything on to `out` at once except whole
 * lines matching DAWN_LIMIT_WARNING; only a line start that may still become one is held until
 * its line ends (a progress bar's `\r` updates pass immediately). `end()` flushes what is held.
 */
export function dawnStderrFilter(out: (text: string) => void): { write(chunk: string): void; end(): void } {
  let held = '';
  let atLineStart = true;
  return {
    write(chunk: string) {
      const text = held + chunk;
      held = '';
      let pass = '';
      let start = 0;
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
        const line = text.slice(start, nl);
        if (!(atLineStart && DAWN_LIMIT_WARNING.test(line))) pass += `${line}\n`;
        start = nl + 1;
        atLineStart = true;
      }
      const rest = text.slice(start);
      if (atLineStart && rest && (START.startsWith(rest) || rest.startsWith(START))) held = rest;
      else if (rest) {
        pass += rest;
        atLineStart = false;
      }
      if (pass) out(pass);
    },
    end() {
      if (held) out(held);
      held = '';
    },
  };
}
