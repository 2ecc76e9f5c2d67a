//! Helpers for native CPU ops on dfdx's tape: copying a tensor to the host, and taking or
//! adding the gradient buffers of an op's tensors inside its backward closure
//! (registered with [`dfdx::tensor::Tape::add_backward_op`]).

use dfdx::prelude::*;

/// Copies a dense row-major CPU tensor to a host vector (a plain `memcpy`).
///
/// Native ops call `contiguous()` (a no-op for dense tensors, a tracked copy otherwise) before
/// this, so the storage order is the logical order.
pub(crate) fn host_copy<S: Shape, T>(x: &Tensor<S, f32, Cpu, T>) -> Vec<f32> {
    let mut v = vec![0f32; x.shape().num_elements()];
    x.copy_into(&mut v);
    v
}

/// Takes the gradient buffer of an op's output out of `grads` (it is consumed exactly once, by
/// the op that produced the tensor, after every consumer has added to it).
macro_rules! take_grad {
    ($grads:expr, $ghost:expr) => {
        std::mem::take(&mut **$grads.get_or_alloc_mut(&$ghost)?)
    };
}
pub(crate) use take_grad;

/// Adds `src` into the gradient buffer of `ghost`.
macro_rules! add_grad {
    ($grads:expr, $ghost:expr, $src:expr) => {{
        let g = $grads.get_or_alloc_mut(&$ghost)?;
        for (d, s) in g.iter_mut().zip($src.iter()) {
            *d += *s;
        }
    }};
}
pub(crate) use add_grad;
