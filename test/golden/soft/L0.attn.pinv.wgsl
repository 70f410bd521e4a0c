// L0.attn.pinv: P = pinv(A) by 20 Newton-Schulz iterations V <- V (2I - A V), one invocation per (b, h)
//   @binding(0) gram: in  f32[128]
//   @binding(1) pinv: out f32[128]
//   @binding(2) scratch: out f32[256]
// dispatch: ceil(B*H/64) = (1, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> gram: array<f32>;
@group(0) @binding(1) var<storage, read_write> pinv: array<f32>;
@group(0) @binding(2) var<storage, read_write> scratch: array<f32>;

const T: u32 = 16u;
const H: u32 = 2u;
const D: u32 = 32u;
const M: u32 = 8u;
const ITERATIONS: u32 = 20u;
const THREADS: u32 = 2u;
const SCALE: f32 = 0.4204482;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_thread = gid.x;
  if (i_thread >= THREADS) { return; }
  let n_D = select(D, 0u, gid.z == 0xffffffffu);
  let n_M = select(M, 0u, gid.z == 0xffffffffu);
  let o_a = i_thread * M * M;
  let o_w = 2u * i_thread * M * M;
  // ||A||_1 = ||A||_inf for symmetric A: the largest absolute row sum.
  var b_norm = 0.0;
  for (var r = 0u; r < n_M; r++) {
    var b_row = 0.0;
    for (var c = 0u; c < n_M; c++) {
      b_row += abs(gram[o_a + r * M + c]);
    }
    b_norm = max(b_norm, b_row);
  }
  for (var e = 0u; e < n_M * n_M; e++) {
    pinv[o_a + e] = gram[o_a + e] / (b_norm * b_norm);
  }
  for (var it = 0u; it < ITERATIONS; it++) {
    // W = A V into scratch[0..M*M), then V_next = 2V - V W into scratch[M*M..] and back.
    for (var r = 0u; r < n_M; r++) {
      for (var c = 0u; c < n_M; c++) {
        var b_acc = 0.0;
        for (var k = 0u; k < n_M; k++) {
          b_acc += gram[o_a + r * M + k] * pinv[o_a + k * M + c];
        }
        scratch[o_w + r * M + c] = b_acc;
      }
    }
    for (var r = 0u; r < n_M; r++) {
      for (var c = 0u; c < n_M; c++) {
        var b_acc = 0.0;
        for (var k = 0u; k < n_M; k++) {
          b_acc += pinv[o_a + r * M + k] * scratch[o_w + k * M + c];
        }
        scratch[o_w + M * M + r * M + c] = 2.0 * pinv[o_a + r * M + c] - b_acc;
      }
    }
    for (var e = 0u; e < n_M * n_M; e++) {
      pinv[o_a + e] = scratch[o_w + M * M + e];
    }
  }
}
