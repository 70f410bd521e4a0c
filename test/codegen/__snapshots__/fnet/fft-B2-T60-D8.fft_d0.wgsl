// L0.f.fft_d0: FFT along D, Stockham stage 0 (radix 4, span 1)
//   @binding(0) src: in  f32[960]
//   @binding(1) dst: out f32[1920]
// dispatch: ceil(OUTER*M*INNER/64) = (4, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;

const OUTER: u32 = 120u;
const N: u32 = 8u;
const INNER: u32 = 1u;
const R: u32 = 4u;
const M: u32 = 2u;
const SPAN: u32 = 1u;
const THREADS: u32 = 240u;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_thread = gid.x;
  if (i_thread >= THREADS) { return; }
  let i_inner = 0u;
  let i_m = i_thread % M;
  let i_outer = i_thread / M;
  let o_line = i_outer * N * INNER + i_inner;
  let v0 = vec2<f32>(src[o_line + (i_m + 0u * M) * INNER], 0.0);
  let v1 = vec2<f32>(src[o_line + (i_m + 1u * M) * INNER], 0.0);
  let v2 = vec2<f32>(src[o_line + (i_m + 2u * M) * INNER], 0.0);
  let v3 = vec2<f32>(src[o_line + (i_m + 3u * M) * INNER], 0.0);
  let y0 = v0 + v1 + v2 + v3;
  let y1 = v0 + vec2<f32>(v1.y, -v1.x) - v2 + vec2<f32>(-v3.y, v3.x);
  let y2 = v0 - v1 + v2 - v3;
  let y3 = v0 + vec2<f32>(-v1.y, v1.x) - v2 + vec2<f32>(v3.y, -v3.x);
  let o_out = o_line + i_m * R * INNER;
  dst[2u * o_out] = y0.x;
  dst[2u * o_out + 1u] = y0.y;
  dst[2u * (o_out + 1u * SPAN * INNER)] = y1.x;
  dst[2u * (o_out + 1u * SPAN * INNER) + 1u] = y1.y;
  dst[2u * (o_out + 2u * SPAN * INNER)] = y2.x;
  dst[2u * (o_out + 2u * SPAN * INNER) + 1u] = y2.y;
  dst[2u * (o_out + 3u * SPAN * INNER)] = y3.x;
  dst[2u * (o_out + 3u * SPAN * INNER) + 1u] = y3.y;
}
