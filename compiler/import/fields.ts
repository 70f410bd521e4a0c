/**
 * Reading a Hugging Face config for `loom import` (config.ts): each field with its class default,
 * and a record of which were read, refused (LOOM6010, at the field's position in the JSON text) or
 * listed as not changing the computation.
 */
import type { Span } from '../../grammar/ast.ts';
import { diag, type Diagnostic } from '../../grammar/diagnostics.ts';
import { suggest } from '../../grammar/suggest.ts';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

/** A mixer declaration of the spec: `mixer <name> = <preset> { knobs }`. */
export interface MixerDraft {
  name: string;
  preset: string;
  knobs: [string, string][];
}

/**
 * The spec an importer builds: pre-norm blocks with a SwiGLU MLP (fla's and LLaMA's layer), one
 * mixer in every layer, or with `pattern` (fla's hybrid models) layer i's mixer named pattern[i].
 */
export interface Draft {
  /** Which checkpoint family, as written in the spec's header comment (`fla GLAConfig`). */
  source: string;
  vocab: number;
  dim: number;
  layers: number;
  /** The model's `heads`; null when no mixer takes it from the model (Mamba's). */
  heads: number | null;
  normEps: number;
  tied: boolean;
  mixers: MixerDraft[];
  /** Layer i's mixer name, one per layer, when the layers differ (`block pattern`); absent: every layer uses mixers[0]. */
  pattern?: string[];
  /** The SwiGLU MLP's width; null for blocks without an MLP (Mamba's, Mamba2's: `x = x + mixer(norm(x))` only). */
  mlpHidden: number | null;
  /** Defaults of the checkpoint's code that no config field states, as comment lines. */
  notes: string[];
}

/** Fields of every saved Hugging Face config that do not change the computation. */
const GENERIC_IGNORED = [
  'architectures', 'model_type', 'transformers_version', 'torch_dtype', 'dtype', '_name_or_path', 'auto_map',
  'use_cache', 'initializer_range', 'bos_token_id', 'eos_token_id', 'pad_token_id', 'return_dict',
  'output_attentions', 'output_hidden_states', 'keys_to_ignore_at_inference',
];

/**
 * A config's fields with the defaults of the class that reads them. `get` marks a field as read;
 * `refuse` records an error naming the field; `ignore` lists fields that do not change the computation.
 */
export class Fields {
  readonly errors: Diagnostic[] = [];
  private readonly read = new Set<string>();
  private readonly ignored = new Set<string>();

  constructor(
    readonly file: string,
    readonly text: string,
    readonly config: Record<string, JsonValue>,
    readonly defaults: Record<string, JsonValue>,
  ) {}

  has(name: string): boolean {
    return Object.hasOwn(this.config, name) && this.config[name] !== undefined;
  }

  /** The field's value, or the class default when the config leaves it out. */
  get(name: string): JsonValue {
    this.read.add(name);
    if (this.has(name)) return this.config[name];
    if (!Object.hasOwn(this.defaults, name)) throw new Error(`importer reads '${name}' without a default`);
    return this.defaults[name];
  }

  num(name: string, integer = false): number {
    const v = this.get(name);
    if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || v <= 0) {
      this.refuse(name, `expected a positive ${integer ? 'integer' : 'number'}`);
      return 1;
    }
    return v;
  }

  bool(name: string): boolean {
    const v = this.get(name);
    if (typeof v !== 'boolean') this.refuse(name, 'expected true or false');
    return v === true;
  }

  /** A string or null field (`feature_map`, `hidden_act`). */
  word(name: string): string | null {
    const v = this.get(name);
    if (v !== null && typeof v !== 'string') this.refuse(name, 'expected a string or null');
    return typeof v === 'string' ? v : null;
  }

  /** Records that `name`'s value cannot be honoured, with the reason. */
  refuse(name: string, reason: string): void {
    this.read.add(name);
    const value = this.has(name) ? jsonText(this.config[name]) : `${jsonText(this.defaults[name])} (the default)`;
    this.errors.push(diag('bad-config', { message: `config field '${name}' = ${value}: ${reason}` }, { file: this.file, span: this.span(name) }));
  }

  /** Requires the value `ok` (for a field whose other values Loom cannot honour). */
  require(name: string, ok: (v: JsonValue) => boolean, reason: string): void {
    if (!ok(this.get(name))) this.refuse(name, reason);
  }

  ignore(...names: string[]): void {
    for (const n of names) this.ignored.add(n);
  }

  /** Fields present in the config that were listed as ignored, in the config's order. */
  ignoredPresent(): string[] {
    return Object.keys(this.config).filter((k) => (this.ignored.has(k) || GENERIC_IGNORED.includes(k)) && !this.read.has(k));
  }

  /** Errors for fields nobody read or ignored. */
  checkUnknown(): void {
    const known = [...this.read, ...this.ignored, ...GENERIC_IGNORED, ...Object.keys(this.defaults)];
    for (const k of Object.keys(this.config)) {
      if (this.read.has(k) || this.ignored.has(k) || GENERIC_IGNORED.includes(k)) continue;
      const hint = suggest(k, known);
      this.errors.push(
        diag('bad-config', { message: `config field '${k}' is not known to loom import, so it cannot tell whether it changes the computation${hint ? ` (did you mean '${hint}'?)` : ''}` }, { file: this.file, span: this.span(k) }),
      );
    }
  }

  /** Where `"name":` is in the JSON text (the key), for the caret under it. */
  span(name: string): Span | undefined {
    const at = this.text.indexOf(`${JSON.stringify(name)}`);
    if (at < 0) return undefined;
    const before = this.text.slice(0, at);
    const line = before.split('\n').length;
    const col = at - before.lastIndexOf('\n');
    return { start: at, end: at + JSON.stringify(name).length, line, col };
  }
}

/** Sentinels (private-use characters) standing in for the bare tokens NaN, Infinity, -Infinity. */
const NON_FINITE: [string, string, number][] = [['NaN', '\uE000', NaN], ['Infinity', '\uE001', Infinity], ['-Infinity', '\uE002', -Infinity]];

/**
 * JSON.parse of a config, also reading the bare `NaN`, `Infinity` and `-Infinity` that Python's
 * json module writes (mamba2's `dt_limit: [0.0, Infinity]`). Each such token outside strings is
 * rewritten to a string sentinel of the same length (`"\uE001"` and spaces), so every position in
 * the text, and with it each error's line and column, stays where it was; the sentinels become
 * the numbers again while parsing.
 */
export function parseConfigJson(text: string): unknown {
  let out = '';
  let from = 0;
  if (!/[\uE000-\uE002]/.test(text)) {
    for (let i = 0, inString = false; i < text.length; i++) {
      const c = text[i];
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
        continue;
      }
      if (c === '"') {
        inString = true;
        continue;
      }
      const hit = NON_FINITE.find(([word]) => text.startsWith(word, i) && !/[A-Za-z0-9_]/.test(text[i + word.length] ?? ''));
      if (!hit || /[A-Za-z0-9_]/.test(text[i - 1] ?? '')) continue;
      out += text.slice(from, i) + `"${hit[1]}"`.padEnd(hit[0].length, ' ');
      from = i += hit[0].length;
      i--;
    }
  }
  const sentinel = (_: string, v: unknown) => (typeof v === 'string' ? (NON_FINITE.find((n) => n[1] === v)?.[2] ?? v) : v);
  return JSON.parse(out + text.slice(from), sentinel);
}

/** A config value as the messages show it: JSON, with NaN and Infinity written as Python writes them. */
export function jsonText(v: JsonValue): string {
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  if (Array.isArray(v)) return `[${v.map(jsonText).join(',')}]`;
  if (v !== null && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${jsonText(x)}`).join(',')}}`;
  return JSON.stringify(v);
}

/** fla's GatedMLP width: `intermediate_size`, else `256 * ceil(int(hidden * ratio * 2/3) / 256)` (ratio None -> 4). */
export function flaMlpWidth(hidden: number, ratio: number | null, intermediate: number | null): number {
  if (intermediate !== null) return intermediate;
  const r = ratio ?? 4;
  const raw = Math.trunc((hidden * r * 2) / 3);
  return 256 * Math.ceil(raw / 256);
}

/** A number as the spec writes it: integers plain, others in the shortest exact form. */
export function numText(v: number): string {
  return v !== 0 && Math.abs(v) < 1e-3 ? v.toExponential() : String(v);
}
