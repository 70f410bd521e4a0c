/**
 * `loom import`: a Hugging Face `config.json` (flash-linear-attention's GLA, DeltaNet,
 * GatedDeltaNet, RetNet, LinearAttention, Transformer, or `LlamaForCausalLM`) -> the text of a
 * `.loom` spec that computes what the checkpoint computes. fla's hybrid models (the `attn` field:
 * softmax attention in some layers) become a `block pattern` of two mixers (fla-hybrid.ts).
 *
 * Every field is accounted for: mapped to a spec value, listed as not changing the computation
 * (kernel choices, training switches, token ids), or refused with an error naming it (LOOM6010)
 * when its value is one Loom cannot honour. A field this importer does not know is refused too,
 * since it may change the computation. All errors of a config are reported together, each at the
 * field's position in the JSON text.
 */
import { diag, LoomError } from '../../grammar/diagnostics.ts';
import { format } from '../../grammar/format.ts';
import { suggest } from '../../grammar/suggest.ts';
import { Fields, numText, parseConfigJson, type Draft, type JsonValue } from './fields.ts';
import { translateFla } from './fla.ts';
import { SSM_KINDS, translateSsm } from './fla-ssm.ts';
import { translateLlama } from './llama.ts';

const KINDS: Record<string, { kind: string; arch: string }> = {
  gla: { kind: 'gla', arch: 'GLAForCausalLM' },
  delta_net: { kind: 'delta_net', arch: 'DeltaNetForCausalLM' },
  gated_deltanet: { kind: 'gated_deltanet', arch: 'GatedDeltaNetForCausalLM' },
  retnet: { kind: 'retnet', arch: 'RetNetForCausalLM' },
  linear_attn: { kind: 'linear_attn', arch: 'LinearAttentionForCausalLM' },
  transformer: { kind: 'transformer', arch: 'TransformerForCausalLM' },
  llama: { kind: 'llama', arch: 'LlamaForCausalLM' },
  mamba: { kind: 'mamba', arch: 'MambaForCausalLM' },
  mamba2: { kind: 'mamba2', arch: 'Mamba2ForCausalLM' },
  samba: { kind: 'samba', arch: 'SambaForCausalLM' },
};

export const IMPORT_KINDS = Object.keys(KINDS);

/** The config's kind from `model_type`, else from `architectures[0]`. */
function kindOf(config: Record<string, JsonValue>, fail: (m: string, field?: string) => void): string | undefined {
  const type = config.model_type;
  if (typeof type === 'string') {
    if (Object.hasOwn(KINDS, type)) return type; // own keys only: not 'constructor' or '__proto__'
    const hint = suggest(type, IMPORT_KINDS);
    return fail(`model_type '${type}' is not one loom import reads; expected one of ${IMPORT_KINDS.join(', ')}${hint ? `, did you mean '${hint}'?` : ''}`, 'model_type'), undefined;
  }
  const arch = Array.isArray(config.architectures) ? config.architectures[0] : undefined;
  const byArch = Object.values(KINDS).find((k) => k.arch === arch);
  if (byArch) return byArch.kind;
  return fail(`the config has no model_type (or known architectures entry); expected one of ${IMPORT_KINDS.join(', ')}`), undefined;
}

export interface ImportResult {
  /** The spec, in canonical `loom fmt` form. */
  text: string;
  kind: string;
  /** Fields present in the config that do not change the computation. */
  ignored: string[];
}

/** A spec model name from the output file name (`gla-340M.loom` -> `gla_340M`). */
export function modelName(outPath: string | undefined, kind: string): string {
  if (outPath === undefined) return kind;
  const base = outPath.split(/[\\/]/).pop()!.replace(/\.loom$/, '');
  const name = base.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[A-Za-z_]/.test(name) && !['model', 'mixer', 'block', 'schedule', 'import', 'then', 'round', 'pattern'].includes(name) ? name : `${kind}_model`;
}

/**
 * Translates a config's text. Throws a LoomError with every problem (LOOM6010 bad-config) when a
 * field cannot be honoured; otherwise returns the spec text.
 */
export function importConfig(text: string, file: string, outPath?: string): ImportResult {
  const fail = (message: string, field?: string) => {
    throw new LoomError([diag('bad-config', { message: `${file}: ${message}` }, { file, span: field ? new Fields(file, text, {}, {}).span(field) : undefined })]);
  };
  let json: unknown;
  try {
    json = parseConfigJson(text);
  } catch (e) {
    return fail(`not JSON: ${(e as Error).message}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return fail('expected a JSON object (a Hugging Face config.json)');
  const config = json as Record<string, JsonValue>;
  const kind = kindOf(config, fail)!;
  const translated = kind === 'llama' ? translateLlama(config, file, text) : SSM_KINDS.includes(kind) ? translateSsm(kind, config, file, text) : translateFla(kind, config, file, text);
  if (translated.fields.errors.length > 0) throw new LoomError(translated.fields.errors);
  const ignored = translated.fields.ignoredPresent();
  const name = modelName(outPath, kind);
  const spec = render(translated.draft, name, file, ignored);
  const formatted = format(spec, `${name}.loom`);
  if (!formatted.text) throw new Error(`loom import produced a spec that does not parse:\n${spec}\n${formatted.diagnostics.map((d) => d.message).join('\n')}`);
  return { text: formatted.text, kind, ignored };
}

function render(d: Draft, name: string, file: string, ignored: string[]): string {
  // The file name is the user's: printable ASCII only, so a line break cannot end the comment.
  const from = file.split(/[\\/]/).pop()!.replace(/[^\x20-\x7e]/g, '?');
  const lines = [`# Imported by \`loom import\` from ${from} (${d.source}).`];
  for (const n of d.notes) lines.push(`# ${n}`);
  if (ignored.length) lines.push(...wrap(`Not imported (they do not change the computation): ${ignored.join(', ')}.`));
  lines.push(
    `model ${name} {`,
    `  vocab = ${d.vocab}`,
    `  dim = ${d.dim}`,
    ...(d.heads === null ? [] : [`  heads = ${d.heads}`]),
    `  layers = ${d.layers}`,
    `  norm_eps = ${numText(d.normEps)}`,
    ...d.mixers.flatMap((m) => ['', `  mixer ${m.name} = ${m.preset} {`, ...m.knobs.map(([k, v]) => `    ${k} = ${v}`), '  }']),
    '',
    d.pattern ? `  block pattern [${d.pattern.join(', ')}] {` : '  block {',
    `    x = x + ${d.pattern ? 'mixer' : d.mixers[0].name}(rmsnorm(x))`,
    ...(d.mlpHidden === null ? [] : [`    x = x + swiglu(rmsnorm(x), hidden = ${d.mlpHidden})`]),
    '  }',
    '',
    `  head = ${d.tied ? 'tied' : 'untied'}`,
    '}',
  );
  return lines.join('\n') + '\n';
}

/** A long comment as `# ` lines of at most ~100 characters. */
function wrap(text: string): string[] {
  const out: string[] = [];
  let line = '#';
  for (const word of text.split(' ')) {
    if (line.length + word.length + 1 > 100) {
      out.push(line);
      line = '#';
    }
    line += ` ${word}`;
  }
  return [...out, line];
}
