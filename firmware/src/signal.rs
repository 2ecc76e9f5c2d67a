//! Procedural vibration signals: the data the classifier sees.
//!
//! A machine in condition `k` (one of [`CLASSES`]) vibrates at a characteristic
//! frequency `f_k` with a weaker second harmonic (imbalance, misalignment, bearing
//! wear etc. each have their own signature). One sample is a window of [`WINDOW`]
//! accelerometer readings. The *domain* is the sensor as mounted:
//!
//! `a[n] = gain · (A sin(2π f n / W + φ) + 0.3 A sin(4π f n / W + ψ)) + offset + σ ε[n]`
//!
//! with amplitude `A ~ U(0.5, 1.0)` g, random phases, `f = f_k · scale · (1 + U(±3 %))`
//! and `ε ~ N(0, 1)`, quantised at [`LSB_PER_G`] and clipped to the 16-bit range
//! (±4 g). [`Domain::SOURCE`] is the lab rig the base model was trained on,
//! [`Domain::SHIFTED`] the deployment.

use crate::rng::Rng;

/// Readings per window (one classifier input).
pub const WINDOW: usize = 64;
/// Machine conditions to tell apart.
pub const CLASSES: usize = 10;
/// Nominal sensitivity: ±4 g full scale on a 16-bit output.
pub const LSB_PER_G: f32 = 8192.0;

/// Characteristic frequency of condition `class`, in cycles per window.
pub fn class_frequency(class: u8) -> f32 {
    3.0 + 2.4 * class as f32
}

/// How the sensor is mounted and how it responds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Domain {
    /// Sensitivity relative to nominal (1.0 = datasheet value).
    pub gain: f32,
    /// Static offset in g (gravity on a tilted axis, zero-g offset drift).
    pub offset_g: f32,
    /// White-noise standard deviation in g.
    pub noise_g: f32,
    /// Frequency scale (machine speed: 1.2 = a 60 Hz motor where the lab had 50 Hz).
    pub freq_scale: f32,
}

impl Domain {
    /// The lab rig: nominal gain, level mount, low noise, 50 Hz mains.
    pub const SOURCE: Domain = Domain {
        gain: 1.0,
        offset_g: 0.0,
        noise_g: 0.05,
        freq_scale: 1.0,
    };
    /// The deployment: a cheaper sensor part with lower sensitivity, mounted at a
    /// tilt (a third of gravity on the axis), noisier, on 60 Hz mains.
    pub const SHIFTED: Domain = Domain {
        gain: 0.6,
        offset_g: 0.35,
        noise_g: 0.12,
        freq_scale: 1.2,
    };
}

/// Synthesises one raw window of condition `class` as seen through `domain`.
pub fn synthesize(domain: &Domain, class: u8, rng: &mut Rng, out: &mut [i16; WINDOW]) {
    let tau = 2.0 * core::f32::consts::PI;
    let f = class_frequency(class % CLASSES as u8) * domain.freq_scale * rng.range(0.97, 1.03);
    let amp = rng.range(0.5, 1.0);
    let phi = rng.range(0.0, tau);
    let psi = rng.range(0.0, tau);
    for (n, o) in out.iter_mut().enumerate() {
        let t = n as f32 / WINDOW as f32;
        let clean =
            amp * libm::sinf(tau * f * t + phi) + 0.3 * amp * libm::sinf(2.0 * tau * f * t + psi);
        let g = domain.gain * clean + domain.offset_g + domain.noise_g * rng.normal();
        *o = quantize(g);
    }
}

/// g → raw counts, rounded and clipped to the 16-bit range.
pub fn quantize(g: f32) -> i16 {
    let v = libm::roundf(g * LSB_PER_G);
    if v >= i16::MAX as f32 {
        i16::MAX
    } else if v <= i16::MIN as f32 {
        i16::MIN
    } else {
        v as i16
    }
}
