//! Trainable parameters: a host master copy (what the optimizer updates and checkpoints hold)
//! mirrored into a flat dfdx tensor on the device (what the tape sees).

use std::sync::Arc;

use dfdx::prelude::*;

use super::NnDevice;

/// A named parameter tensor.
///
/// The optimizer works on [`Param::host`]; [`Param::sync`] copies it to the device tensor
/// [`Param::t`], whose tape id is where the backward pass accumulates the gradient.
#[derive(Debug, Clone)]
pub struct Param<D: NnDevice> {
    /// Stable name (checkpoint key), e.g. `conv1.weight`.
    pub name: String,
    /// Logical shape (PyTorch convention: conv `[out, in, k, k]`, linear `[out, in]`).
    pub shape: Vec<usize>,
    /// Host master copy of the values, row-major.
    pub host: Arc<Vec<f32>>,
    /// Device copy as a flat tensor.
    pub t: Tensor<(usize,), f32, D>,
}

impl<D: NnDevice> Param<D> {
    /// Creates a parameter; `data.len()` must equal the product of `shape`.
    pub fn new(name: impl Into<String>, shape: Vec<usize>, data: Vec<f32>, dev: &D) -> Self {
        debug_assert_eq!(shape.iter().product::<usize>(), data.len());
        let t = dev.tensor_from_vec(data.clone(), (data.len(),));
        Param {
            name: name.into(),
            shape,
            host: Arc::new(data),
            t,
        }
    }

    /// Number of scalars.
    pub fn len(&self) -> usize {
        self.host.len()
    }

    /// True when the parameter holds no value.
    pub fn is_empty(&self) -> bool {
        self.host.is_empty()
    }

    /// Copies the host master values to the device tensor.
    pub fn sync(&mut self) {
        self.t.copy_from(&self.host);
    }

    /// The device tensor with an empty tape, so that ops on it record their backward pass.
    pub fn traced(&self) -> Tensor<(usize,), f32, D, OwnedTape<f32, D>> {
        self.t.retaped::<OwnedTape<f32, D>>()
    }

    /// Replaces the values (host and device).
    pub fn set(&mut self, data: &[f32]) {
        Arc::make_mut(&mut self.host).copy_from_slice(data);
        self.sync();
    }
}
