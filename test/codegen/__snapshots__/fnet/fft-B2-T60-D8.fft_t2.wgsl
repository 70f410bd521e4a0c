// L0.f.fft_t2: FFT along T, Stockham stage 2 (radix 5, span 12), real part out
//   @binding(0) src: in  f32[1920]
//   @binding(1) dst: out f32[960]
// dispatch: ceil(OUTER*M*INNER/64) = (3, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;

const OUTER: u32 = 2u;
const N: u32 = 60u;
const INNER: u32 = 8u;
const R: u32 = 5u;
const M: u32 = 12u;
const SPAN: u32 = 12u;
const THREADS: u32 = 192u;
const HALF_PI: f32 = 1.5707964;

fn twiddle(m: u32, n: u32) -> vec2<f32> {
  let quadrant = (4u * m) / n;
  let r = 4u * m - quadrant * n;
  let fold = 2u * r > n;
  let a = f32(select(r, n - r, fold)) / f32(n) * HALF_PI;
  let a2 = a * a;
  let s = a * (1.0 - a2 / 6.0 * (1.0 - a2 / 20.0 * (1.0 - a2 / 42.0 * (1.0 - a2 / 72.0))));
  let c = 1.0 - a2 / 2.0 * (1.0 - a2 / 12.0 * (1.0 - a2 / 30.0 * (1.0 - a2 / 56.0 * (1.0 - a2 / 90.0))));
  // (cos, sin) of the angle inside the quadrant, then turned by quadrant * pi / 2.
  let cs = select(vec2<f32>(c, s), vec2<f32>(s, c), fold);
  var rot = cs;
  if (quadrant == 1u) { rot = vec2<f32>(-cs.y, cs.x); }
  if (quadrant == 2u) { rot = -cs; }
  if (quadrant == 3u) { rot = vec2<f32>(cs.y, -cs.x); }
  return vec2<f32>(rot.x, -rot.y);
}

fn cmul(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  return vec2<f32>(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_thread = gid.x;
  let i_inner = i_thread % INNER;
  let i_m = (i_thread / INNER) % M;
  let i_outer = i_thread / (INNER * M);
  let o_line = i_outer * N * INNER + i_inner;
  let k = i_m % SPAN;
  let v0 = vec2<f32>(src[2u * (o_line + (i_m + 0u * M) * INNER)], src[2u * (o_line + (i_m + 0u * M) * INNER) + 1u]);
  let v1 = cmul(vec2<f32>(src[2u * (o_line + (i_m + 1u * M) * INNER)], src[2u * (o_line + (i_m + 1u * M) * INNER) + 1u]), twiddle(k * 1u, SPAN * R));
  let v2 = cmul(vec2<f32>(src[2u * (o_line + (i_m + 2u * M) * INNER)], src[2u * (o_line + (i_m + 2u * M) * INNER) + 1u]), twiddle(k * 2u, SPAN * R));
  let v3 = cmul(vec2<f32>(src[2u * (o_line + (i_m + 3u * M) * INNER)], src[2u * (o_line + (i_m + 3u * M) * INNER) + 1u]), twiddle(k * 3u, SPAN * R));
  let v4 = cmul(vec2<f32>(src[2u * (o_line + (i_m + 4u * M) * INNER)], src[2u * (o_line + (i_m + 4u * M) * INNER) + 1u]), twiddle(k * 4u, SPAN * R));
  let y0 = v0 + v1 + v2 + v3 + v4;
  let y1 = v0 + cmul(v1, vec2<f32>(0.309017, -0.95105654)) + cmul(v2, vec2<f32>(-0.809017, -0.58778524)) + cmul(v3, vec2<f32>(-0.809017, 0.58778524)) + cmul(v4, vec2<f32>(0.309017, 0.95105654));
  let y2 = v0 + cmul(v1, vec2<f32>(-0.809017, -0.58778524)) + cmul(v2, vec2<f32>(0.309017, 0.95105654)) + cmul(v3, vec2<f32>(0.309017, -0.95105654)) + cmul(v4, vec2<f32>(-0.809017, 0.58778524));
  let y3 = v0 + cmul(v1, vec2<f32>(-0.809017, 0.58778524)) + cmul(v2, vec2<f32>(0.309017, -0.95105654)) + cmul(v3, vec2<f32>(0.309017, 0.95105654)) + cmul(v4, vec2<f32>(-0.809017, -0.58778524));
  let y4 = v0 + cmul(v1, vec2<f32>(0.309017, 0.95105654)) + cmul(v2, vec2<f32>(-0.809017, 0.58778524)) + cmul(v3, vec2<f32>(-0.809017, -0.58778524)) + cmul(v4, vec2<f32>(0.309017, -0.95105654));
  let o_out = o_line + ((i_m - k) * R + k) * INNER;
  dst[o_out] = y0.x;
  dst[o_out + 1u * SPAN * INNER] = y1.x;
  dst[o_out + 2u * SPAN * INNER] = y2.x;
  dst[o_out + 3u * SPAN * INNER] = y3.x;
  dst[o_out + 4u * SPAN * INNER] = y4.x;
}
