// L0.fourier.dft_t: DFT along T: out[o,k,i] = Re sum_j in[o,j,i] exp(-2 pi i jk/N) (complex in)
//   @binding(0) src: in  f32[2048]
//   @binding(1) dst: out f32[1024]
// dispatch: ceil(OUTER*N*INNER/64) = (16, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;

const OUTER: u32 = 1u;
const N: u32 = 16u;
const INNER: u32 = 64u;
const THREADS: u32 = 1024u;
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

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_thread = gid.x;
  let i_inner = i_thread % INNER;
  let i_m = (i_thread / INNER) % N;
  let i_outer = i_thread / (INNER * N);
  let n_N = select(N, 0u, gid.z == 0xffffffffu);
  let o_line = i_outer * N * INNER + i_inner;
  var b_acc = vec2<f32>(0.0, 0.0);
  var i_tw = 0u;
  for (var j = 0u; j < n_N; j++) {
    let x = vec2<f32>(src[2u * (o_line + j * INNER)], src[2u * (o_line + j * INNER) + 1u]);
    let w = twiddle(i_tw, N);
    b_acc += vec2<f32>(x.x * w.x - x.y * w.y, x.x * w.y + x.y * w.x);
    i_tw += i_m;
    if (i_tw >= N) { i_tw -= N; }
  }
  dst[o_line + i_m * INNER] = b_acc.x;
}
