// L0.moe0.route: top-k experts of each token (ties: lowest index) and their weights softmax(logits of the k chosen)
//   @binding(0) logits: in  f32[4]
//   @binding(1) sel: out u32[2]
//   @binding(2) weight: out f32[2]
// dispatch: ceil(B*T/64) = (1, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read_write> sel: array<u32>;
@group(0) @binding(2) var<storage, read_write> weight: array<f32>;

const E: u32 = 4u;
const TOP_K: u32 = 2u;
const THREADS: u32 = 1u;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_thread = gid.x;
  if (i_thread >= THREADS) { return; }
  let n_E = select(E, 0u, gid.z == 0xffffffffu);
  let o_logits = i_thread * E;
  var m_taken: array<bool, E>;
  var b_top: array<f32, TOP_K>;
  for (var j = 0u; j < TOP_K; j++) {
    var i_best = 0u;
    var b_best = 0.0;
    var m_found = false;
    for (var e = 0u; e < n_E; e++) {
      let l = logits[o_logits + e];
      if (!m_taken[e] && (!m_found || l > b_best)) {
        i_best = e;
        b_best = l;
        m_found = true;
      }
    }
    m_taken[i_best] = true;
    b_top[j] = b_best;
    sel[i_thread * TOP_K + j] = i_best;
  }
  // The first choice holds the largest logit: subtract it before exp.
  let b_max = b_top[0];
  var b_sum = 0.0;
  for (var j = 0u; j < TOP_K; j++) {
    b_top[j] = exp(b_top[j] - b_max);
    b_sum += b_top[j];
  }
  for (var j = 0u; j < TOP_K; j++) {
    weight[i_thread * TOP_K + j] = b_top[j] / b_sum;
  }
}
