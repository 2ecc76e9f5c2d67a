//! The compute device of a run (`--device cpu|cuda`) and the one place that turns it into a
//! dfdx device.

use std::fmt;
use std::str::FromStr;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::nn::NnDevice;

/// Where the network runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    /// dfdx's CPU device with lrate's native conv/BN/pool kernels.
    #[default]
    Cpu,
    /// dfdx's CUDA device (device 0), with the portable dfdx-op kernels; needs a build with
    /// the `cuda` feature.
    Cuda,
}

impl Device {
    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Device::Cpu => "cpu",
            Device::Cuda => "cuda",
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Device {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "cpu" => Ok(Device::Cpu),
            "cuda" | "gpu" => Ok(Device::Cuda),
            _ => anyhow::bail!("unknown device `{s}` (expected cpu or cuda)"),
        }
    }
}

/// A job that runs on whichever dfdx device the run asks for.
pub trait OnDevice {
    /// What the job returns.
    type Output;
    /// Runs the job on `dev`.
    fn run<D: NnDevice>(self, dev: D) -> Result<Self::Output>;
}

/// Opens `device` and runs `job` on it: the single dispatch from [`Device`] to a dfdx device.
pub fn with_device<J: OnDevice>(device: Device, job: J) -> Result<J::Output> {
    match device {
        Device::Cpu => job.run(crate::nn::Cpu::default()),
        Device::Cuda => cuda(job),
    }
}

#[cfg(feature = "cuda")]
fn cuda<J: OnDevice>(job: J) -> Result<J::Output> {
    let dev = dfdx::tensor::Cuda::try_build(0, 0).map_err(|e| {
        anyhow::anyhow!("cannot open CUDA device 0: {e:?} (--device cpu runs on the CPU)")
    })?;
    job.run(dev)
}

#[cfg(not(feature = "cuda"))]
fn cuda<J: OnDevice>(_: J) -> Result<J::Output> {
    anyhow::bail!(
        "--device cuda needs a build with the `cuda` feature \
         (cargo build --release -p lrate --features cuda)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_names() {
        assert_eq!("CPU".parse::<Device>().unwrap(), Device::Cpu);
        assert_eq!("gpu".parse::<Device>().unwrap(), Device::Cuda);
        assert!("tpu".parse::<Device>().is_err());
        assert_eq!(Device::Cuda.to_string(), "cuda");
        assert_eq!(serde_json::to_string(&Device::Cpu).unwrap(), "\"cpu\"");
    }
}
